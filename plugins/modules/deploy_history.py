#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""The deploy history of an environment: one JSON line per deploy, rollback or restart."""

# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_history
short_description: Append to, or read, the deploy history of an environment
version_added: "0.1.0"
description:
  - The history is a file of JSON lines on the lock host, next to the deploy lock, one line per
    deploy, rollback or restart, oldest first. The deploy role appends a line in its last play
    (who, what, from which releases, when, how long, the result and the failures); C(playbooks/history.yml)
    prints the last ones.
  - O(state=appended) adds O(entry) as one line at the end, and keeps the newest O(keep) lines (when
    the file grows past them it is replaced by a rename, so a reader never sees half a file).
    O(state=read) returns the last O(count) entries.
  - A line that is not JSON (a file edited by hand) is skipped on read and reported in RV(skipped).
options:
  path:
    description: The history file.
    type: path
    required: true
  state:
    description: Append O(entry), or read the last entries.
    type: str
    choices: [appended, read]
    default: read
  entry:
    description: The entry to append (a dictionary; C(at), the time in epoch seconds, is added when missing).
    type: dict
  keep:
    description: How many entries the file keeps (the oldest leave first).
    type: int
    default: 1000
  count:
    description: How many of the last entries O(state=read) returns.
    type: int
    default: 10
author:
  - djangoops.stack developers (@djangoops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: O(state=appended) reports a change and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Record this deploy
  djangoops.stack.deploy_history:
    path: /var/lib/djangoops/locks/shop.history.jsonl
    state: appended
    entry: {action: deploy, version: 2.0.0, result: ok, user: ana, seconds: 81.2}

- name: Read the last 20 entries
  djangoops.stack.deploy_history:
    path: /var/lib/djangoops/locks/shop.history.jsonl
    count: 20
  register: history
"""

RETURN = r"""
entries:
  description: The last O(count) entries, oldest first (O(state=read)).
  type: list
  elements: dict
  returned: always
skipped:
  description: Lines that were not JSON and were left out.
  type: int
  returned: always
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule


def read_entries(path: str) -> tuple[list[dict], int]:
    """Every entry of the file, oldest first, and how many lines were not JSON objects."""
    entries, skipped = [], 0
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    skipped += 1
                    continue
                if isinstance(entry, dict):
                    entries.append(entry)
                else:
                    skipped += 1
    except FileNotFoundError:
        pass
    return entries, skipped


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["appended", "read"], "default": "read"},
            "entry": {"type": "dict"},
            "keep": {"type": "int", "default": 1000},
            "count": {"type": "int", "default": 10},
        },
        required_if=[("state", "appended", ["entry"])],
        supports_check_mode=True,
    )
    path, params = module.params["path"], module.params
    if params["keep"] < 1 or params["count"] < 1:
        module.fail_json(msg=f"keep and count must be at least 1 (got {params['keep']}, {params['count']})")
    entries, skipped = read_entries(path)
    if params["state"] == "read":
        module.exit_json(changed=False, entries=entries[-params["count"] :], skipped=skipped)

    entry = {"at": round(time.time(), 1), **params["entry"]}
    if module.check_mode:
        module.exit_json(changed=True, entries=[entry], skipped=skipped)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o750, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
    os.chmod(path, 0o640)
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    if len(lines) > params["keep"]:
        # The newest lines stay as they are (a line that is not JSON too); a rename, never half a file.
        temporary = f"{path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.writelines(lines[-params["keep"] :])
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    module.exit_json(changed=True, entries=[entry], skipped=skipped)


if __name__ == "__main__":
    main()
