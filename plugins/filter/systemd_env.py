# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""djangoops.stack.systemd_env_assignment: one line of an env file that systemd reads back exactly."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.djangoops.stack.plugins.module_utils.systemd_env import assignment


def systemd_env_assignment(name, value) -> str:
    try:
        return assignment(str(name), str(value))
    except ValueError as exc:
        raise AnsibleFilterError(f"django_app_env: {exc}") from exc


class FilterModule:
    """djangoops.stack.systemd_env_assignment."""

    def filters(self):
        return {"systemd_env_assignment": systemd_env_assignment}
