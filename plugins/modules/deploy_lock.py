#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""The deploy lock: one deploy at a time per environment."""

# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take, inspect or release the lock that lets one deploy run at a time
version_added: "0.1.0"
description:
  - A lock file on one host of the environment (the deploy playbooks use the first lb host). It
    holds who took it (user and controller), the controller process, the version being deployed
    and since when.
  - V(acquired) creates the file atomically (C(O_CREAT|O_EXCL)); when another deploy holds it, the
    module fails with a message naming the holder and since when, and says whether the lock is
    stale (older than O(stale_after)). It never breaks a lock by itself.
  - A lock is replaced only when asked, through O(break_lock) or O(replace_token) (the token of a
    holder the caller has found dead); the replaced holder is returned and the old file kept next
    to the lock as C(<path>.broken).
  - V(released) removes the lock only when O(token) matches; a lock that now belongs to someone
    else (it was broken) is left alone with a warning.
  - V(query) reads the lock and changes nothing.
  - The lock also holds the deploy's progress (O(progress)), so that a run that replaces a dead
    holder of the same version knows what that run did (which release each host ran before it
    switched). A replacing holder of the same C(version) inherits the progress of the one it replaces.
options:
  path:
    description: The lock file. Its directory is created when missing.
    type: path
    required: true
  state:
    description: V(acquired), V(released) or V(query).
    type: str
    choices: [acquired, released, query]
    default: acquired
  token:
    description: The caller's unique token; required for V(acquired) and V(released).
    type: str
  holder:
    description:
      - What to record about the caller with V(acquired), for example C(user), C(controller),
        C(pid), C(pid_started), C(version), C(job). The module adds C(token) and C(since).
    type: dict
    default: {}
  stale_after:
    description: Seconds after which a held lock is reported as stale (not broken).
    type: int
    default: 3600
  break_lock:
    description: Replace a lock held by someone else, whoever it is. The operator's explicit choice.
    type: bool
    default: false
  replace_token:
    description: Replace the lock only if it is held under this token (a holder known to be gone).
    type: str
  progress:
    description:
      - With V(acquired) by the holder (O(token) matches), merged into the lock's C(progress), one level
        deep (C(hosts) entries are added or replaced host by host); the file is replaced atomically.
      - The deploy records C(hosts.<host>.from) (the release the host ran before this deploy switched it)
        and C(hosts.<host>.previous) (where its C(previous) link pointed).
    type: dict
    default: {}
author:
  - djangoops.stack developers (@djangoops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports whether the lock could be taken or released, changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Take the deploy lock
  djangoops.stack.deploy_lock:
    path: /var/lib/djangoops/locks/shop.json
    token: "{{ deploy_token }}"
    holder:
      user: "{{ lookup('env', 'USER') }}"
      version: "{{ deploy_version }}"

- name: Record that app1 ran 1.9.0 before this deploy switched it
  djangoops.stack.deploy_lock:
    path: /var/lib/djangoops/locks/shop.json
    token: "{{ deploy_token }}"
    progress:
      hosts:
        app1: {from: 1.9.0, previous: 1.8.0}
- name: Release it
  djangoops.stack.deploy_lock:
    path: /var/lib/djangoops/locks/shop.json
    state: released
    token: "{{ deploy_token }}"
"""

RETURN = r"""
holder:
  description:
    - The lock's content after the run (V(acquired)), before it (V(released)), or now (V(query)).
    - Empty when the lock is free.
  returned: always
  type: dict
  sample: {"user": "ci", "controller": "runner-1", "version": "2.0.0", "since": 1795000000.0, "token": "x"}
age:
  description: Seconds since the holder took the lock (null when free).
  returned: always
  type: float
stale:
  description: Whether the lock is older than O(stale_after).
  returned: always
  type: bool
replaced:
  description: The holder that was replaced (break_lock or replace_token), empty otherwise.
  returned: always
  type: dict
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}
    except ValueError:
        # An unreadable lock is still a lock: report it as held by someone unknown.
        return {"user": "unknown (unreadable lock file)", "since": os.stat(path).st_mtime, "token": ""}


def merged(progress, update):
    """The progress with the update merged one level deep (dict values are merged key by key)."""
    result = dict(progress)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = {**result[key], **value}
        else:
            result[key] = value
    return result


def write_atomically(path, content):
    """Replace the lock file's content (a temporary file renamed over it: never half written)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(content, handle)
        handle.write("\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def describe(holder, age, stale, stale_after):
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(holder.get("since", 0)))
    who = f"{holder.get('user', '?')}@{holder.get('controller', '?')}"
    extra = ", ".join(f"{key} {holder[key]}" for key in ("version", "pid", "job") if holder.get(key) not in (None, ""))
    text = f"held by {who}" + (f" ({extra})" if extra else "") + f" since {since} ({int(age)} s ago)"
    if stale:
        text += (
            f"; it is STALE (older than {stale_after} s): if no deploy is running, break it with"
            " -e deploy_lock_break=true"
        )
    return text


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "default": "acquired", "choices": ["acquired", "released", "query"]},
            "token": {"type": "str", "no_log": False},
            "holder": {"type": "dict", "default": {}},
            "stale_after": {"type": "int", "default": 3600},
            "break_lock": {"type": "bool", "default": False},
            "replace_token": {"type": "str", "no_log": False},
            "progress": {"type": "dict", "default": {}},
        },
        required_if=[("state", "acquired", ["token"]), ("state", "released", ["token"])],
        supports_check_mode=True,
    )
    params = module.params
    path, token, stale_after = params["path"], params["token"], params["stale_after"]
    now = time.time()
    current = read(path)
    age = now - current["since"] if current else None
    stale = bool(current) and age > stale_after
    result = {"changed": False, "holder": current, "age": age, "stale": stale, "replaced": {}}

    if params["state"] == "query":
        module.exit_json(**result)

    if params["state"] == "released":
        if not current:
            module.exit_json(**result)
        if current.get("token") != token:
            module.warn(f"the deploy lock {path} is no longer ours: {describe(current, age, stale, stale_after)}")
            module.exit_json(**result)
        result["changed"] = True
        if not module.check_mode:
            os.unlink(path)
        module.exit_json(**result)

    # acquired
    if current and current.get("token") == token:
        progress = merged(current.get("progress") or {}, params["progress"])
        if progress == (current.get("progress") or {}):
            module.exit_json(**result)
        holder = dict(current, progress=progress)
        result.update(changed=True, holder=holder)
        if not module.check_mode:
            write_atomically(path, holder)
        module.exit_json(**result)
    if current:
        replace = params["break_lock"] or (params["replace_token"] and current.get("token") == params["replace_token"])
        if not replace:
            module.fail_json(msg=f"deploy lock {path} is {describe(current, age, stale, stale_after)}", **result)
        result["replaced"] = current
    holder = dict(params["holder"], token=token, since=now)
    inherited = current.get("progress") if current and current.get("version") == holder.get("version") else None
    progress = merged(inherited or {}, params["progress"])
    if progress:
        holder["progress"] = progress
    result.update(changed=True, holder=holder, age=0.0, stale=False)
    if module.check_mode:
        module.exit_json(**result)
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    if current:
        try:
            # Whoever renames the old lock first replaces it; a racing second caller finds it gone.
            os.rename(path, path + ".broken")
        except FileNotFoundError:
            pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        winner = read(path)
        winner_age = now - winner.get("since", now)
        failed = {**result, "holder": winner, "changed": bool(current)}
        module.fail_json(
            msg=f"deploy lock {path} was taken meanwhile: {describe(winner, winner_age, False, stale_after)}", **failed
        )
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(holder, handle)
        handle.write("\n")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
