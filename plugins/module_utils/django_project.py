"""Enter a Django project from an Ansible module running under the release's own interpreter.

Shared by the modules that work with a release's code and settings (django_sequences, django_copy):
the release's environment file is read as systemd reads it, the settings module is chosen, the
project directory is put first on the module search path and made the working directory.
"""

from __future__ import annotations

import os
import sys

from ansible_collections.djangoops.stack.plugins.module_utils import systemd_env

PROJECT_OPTIONS = {
    "project_path": {"type": "path", "required": True},
    "settings": {"type": "str"},
    "environment": {"type": "dict", "default": {}},
    "env_file": {"type": "path"},
}


def enter(module, has_django: bool, import_error) -> None:
    """Fail the module with a message an operator can act on, or leave the project ready for django.setup()."""
    params = module.params
    if not has_django:
        from ansible.module_utils.basic import missing_required_lib

        module.fail_json(
            msg=missing_required_lib("Django")
            + f" The module ran under {sys.executable}: set ansible_python_interpreter to the release's"
            " virtualenv python.",
            exception=str(import_error),
        )
    if not os.path.isdir(params["project_path"]):
        module.fail_json(msg=f"project_path {params['project_path']} is not a directory")
    if params["env_file"]:
        try:
            with open(params["env_file"], encoding="utf-8", errors="surrogateescape") as handle:
                os.environ.update(systemd_env.parse(handle.read())[0])
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"env_file {params['env_file']}: {exc}")
    os.environ.update({str(k): str(v) for k, v in params["environment"].items()})
    if params["settings"]:
        os.environ["DJANGO_SETTINGS_MODULE"] = params["settings"]
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        module.fail_json(msg="no settings module: set settings, or DJANGO_SETTINGS_MODULE in environment or env_file")
    sys.path.insert(0, params["project_path"])
    os.chdir(params["project_path"])
