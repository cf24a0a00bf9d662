"""django_app's cleanup (install state pruned, and site.yml after a release went live) and the removal
of one release (install state absent) read the app's root once (tasks/disk.yml); vars/main.yml turns
the lines into the releases and venvs that go. The read runs here with bash on a real directory tree."""

import os
import subprocess

import yaml

from tests.conftest import ROOT
from tests.unit.roles import role_templates

VARS = role_templates.role_variables("django_app")
DEFAULTS = role_templates.role_variables("django_app", "defaults/main.yml")
READ = yaml.safe_load((ROOT / "roles/django_app/tasks/disk.yml").read_text())[0]["ansible.builtin.shell"]["cmd"]


def tree(root, releases, current=None, previous=None, orphans=()):
    """releases: name -> venv name (oldest first); the venvs dir holds those venvs and `orphans`."""
    for venv in set(releases.values()) | set(orphans):
        (root / "venvs" / venv).mkdir(parents=True, exist_ok=True)
    for age, (name, venv) in enumerate(reversed(list(releases.items()))):
        release = root / "releases" / name
        release.mkdir(parents=True)
        (release / "venv").symlink_to(root / "venvs" / venv)
        os.utime(release, (1_700_000_000 - age * 60, 1_700_000_000 - age * 60))
    for link, name in (("current", current), ("previous", previous)):
        if name:
            (root / link).symlink_to(root / "releases" / name)


def decide(root, version, state="pruned", keep=3):
    variables = {**DEFAULTS, **VARS, "django_app_root": str(root), "django_app_version": version}
    variables.update(django_app_keep_releases=keep, django_app_install_state=state)
    script = role_templates.render(READ, variables)
    read = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    variables["__django_app_disk_read"] = {"stdout_lines": read.stdout.splitlines()}
    dropped, venvs = role_templates.render("{{ [__django_app_dropped, __django_app_venvs_unused] }}", variables)
    return sorted(dropped), sorted(os.path.basename(venv) for venv in venvs)


def test_pruning_keeps_the_newest_and_the_venvs_they_use(tmp_path):
    releases = {"1": "v1", "2": "v1", "3": "v2", "4": "v3", "5": "v3", "6": "v3"}
    tree(tmp_path, releases, current="6", previous="5", orphans=["v0"])
    assert decide(tmp_path, "6") == (["1", "2", "3"], ["v0", "v1", "v2"])


def test_pruning_never_removes_what_current_or_previous_points_to_nor_the_version_given(tmp_path):
    releases = {"1": "v1", "2": "v2", "3": "v3", "4": "v3", "5": "v3", "6": "v3"}
    tree(tmp_path, releases, current="6", previous="1")
    assert decide(tmp_path, "2") == (["3"], [])


def test_removing_one_release_removes_its_venv_only_when_no_other_uses_it(tmp_path):
    tree(tmp_path, {"1": "v1", "2": "v2", "3": "v2"}, current="2", previous="1")
    assert decide(tmp_path, "3", state="absent") == (["3"], [])
    assert decide(tmp_path, "2", state="absent") == ([], [])


def test_removing_a_release_that_never_served_takes_its_own_venv(tmp_path):
    tree(tmp_path, {"1": "v1", "2": "v2"}, current="1")
    assert decide(tmp_path, "2", state="absent") == (["2"], ["v2"])
    assert decide(tmp_path, "9", state="absent") == ([], [])


def test_a_root_under_a_symlinked_directory_keeps_what_current_and_previous_point_to(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "srv").symlink_to(tmp_path / "data")
    releases = {"1": "v1", "2": "v1", "3": "v2", "4": "v2", "5": "v2"}
    tree(tmp_path / "srv" / "shop", releases, current="5", previous="1")
    assert decide(tmp_path / "srv" / "shop", "5") == (["2"], [])


def test_a_host_without_the_app_has_nothing_to_remove(tmp_path):
    assert decide(tmp_path / "missing", "1") == ([], [])
