#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""The lb's backends in one step: write them, check nginx, reload, wait for requests in flight."""

# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

from __future__ import annotations

DOCUMENTATION = r"""
module: lb_backends
short_description: Write an nginx lb's backend files, check, reload and wait for requests in flight
version_added: "0.1.0"
description:
  - Writes one file per backend of O(backends) in O(path) (C(server <backend> ...;), with C(down)
    when the backend is in O(drained)) and removes the C(.conf) files of backends no longer listed.
    Each file is replaced by a rename, so nginx never reads half a file.
  - When a file changed and O(reload) is true, runs C(nginx -t) (on failure every file goes back to
    what it was and the module fails quoting nginx), reloads nginx through systemd, then waits up to
    O(drain_timeout) seconds until the nginx worker processes that ran before the reload have exited;
    they finish the requests they had in flight first, so when they are gone no request is still on
    its way to a backend that was just drained. The wait ends as soon as they are gone.
  - One call does what a drain needs, in one round trip to the lb (a rolling deploy does it twice per
    app host and lb).
options:
  path:
    description: The directory of the backend files (the lb site's upstream includes C(<path>/*.conf)).
    type: path
    default: /etc/nginx/djangoops/lb-backends
  backends:
    description: Every backend of the lb, C(address:port).
    type: list
    elements: str
    required: true
  drained:
    description: The backends marked C(down) (out of rotation); each must be in O(backends).
    type: list
    elements: str
    default: []
  keep_down:
    description:
      - Keep a backend that its file marks C(down) now out of rotation even when it is not in
        O(drained) (provisioning never puts back a host that a deploy left out of rotation; only a
        deploy or rollback that passes the host's health gate does). Reported in RV(kept_down).
    type: bool
    default: false
  reload:
    description: Check and reload nginx when a file changed (false leaves that to the caller's handler).
    type: bool
    default: true
  drain_timeout:
    description:
      - After a reload, the longest wait in seconds for the nginx workers that ran before it to finish
        their requests in flight and exit (0 does not wait). A wait that runs out is reported in
        RV(in_flight_left) with a warning, not a failure (gunicorn's graceful stop still lets those
        requests finish).
    type: float
    default: 30
author:
  - djangoops.stack developers (@djangoops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports which files would change; writes, checks and reloads nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Take app1 out of rotation and wait for its requests in flight
  djangoops.stack.lb_backends:
    backends: [10.0.0.11:8080, 10.0.0.12:8080]
    drained: [10.0.0.11:8080]

- name: Write the backends only (a handler reloads)
  djangoops.stack.lb_backends:
    backends: "{{ nginx_lb_backends }}"
    drained: "{{ nginx_lb_drained }}"
    reload: false
  notify: reload nginx
"""

RETURN = r"""
written:
  description: The backend files written (created or changed).
  type: list
  elements: str
  returned: always
removed:
  description: The backend files removed (their backend is no longer listed).
  type: list
  elements: str
  returned: always
reloaded:
  description: Whether nginx was reloaded.
  type: bool
  returned: always
waited:
  description: Seconds waited for the old nginx workers after the reload.
  type: float
  returned: always
in_flight_left:
  description: True when old nginx workers still ran after O(drain_timeout) seconds.
  type: bool
  returned: always
kept_down:
  description: Backends kept out of rotation by O(keep_down) although not in O(drained).
  type: list
  elements: str
  returned: always
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

HEADER = "# Managed by djangoops.stack (nginx role, lb_backends): changes here are overwritten.\n"
PID_FILE = "/run/nginx.pid"


def file_name(backend: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", backend) + ".conf"


def content(backend: str, drained: bool) -> str:
    return f"{HEADER}server {backend} max_fails=1 fail_timeout=5s{' down' if drained else ''};\n"


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write(path: str, text: str) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def current_files(directory: str) -> dict[str, str]:
    """{path: text} of every .conf file in the directory now (read once per run)."""
    if not os.path.isdir(directory):
        return {}
    paths = [os.path.join(directory, name) for name in sorted(os.listdir(directory)) if name.endswith(".conf")]
    return {path: read(path) for path in paths}


def plan(directory: str, current: dict, backends: list[str], drained: list[str]) -> tuple[dict, dict]:
    """-> ({path: new text} to write, {path: old text} to remove), from the files there now."""
    wanted = {os.path.join(directory, file_name(b)): content(b, b in drained) for b in backends}
    to_write = {path: text for path, text in wanted.items() if current.get(path) != text}
    to_remove = {path: text for path, text in current.items() if path not in wanted}
    return to_write, to_remove


def old_workers() -> dict[int, str]:
    """The nginx master's worker processes now: {pid: their /proc start time} (a reused pid differs)."""
    try:
        with open(PID_FILE, encoding="ascii") as handle:
            master = int(handle.read().strip())
    except (OSError, ValueError):
        return {}
    workers = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = read_proc(int(name))
        if stat and stat[1] == master:
            workers[int(name)] = stat[2]
    return workers


def read_proc(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), fields[19]


def wait_for(workers: dict[int, str], timeout: float) -> tuple[float, bool]:
    """Wait until every one of `workers` has exited; -> (seconds waited, some still running)."""
    started = time.monotonic()
    left = dict(workers)
    while left:
        for pid, start in list(left.items()):
            stat = read_proc(pid)
            if stat is None or stat[2] != start or stat[0] == "Z":
                del left[pid]
        if not left or time.monotonic() - started >= timeout:
            break
        time.sleep(0.05)
    return round(time.monotonic() - started, 2), bool(left)


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/nginx/djangoops/lb-backends"},
            "backends": {"type": "list", "elements": "str", "required": True},
            "drained": {"type": "list", "elements": "str", "default": []},
            "reload": {"type": "bool", "default": True},
            "drain_timeout": {"type": "float", "default": 30},
            "keep_down": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    directory, backends, drained = module.params["path"], module.params["backends"], module.params["drained"]
    unknown = sorted(set(drained) - set(backends))
    if unknown:
        module.fail_json(
            msg=f"drained names backends not in backends: {', '.join(unknown)} (backends: {', '.join(backends)})"
        )
    bad = [b for b in backends if not re.fullmatch(r"[A-Za-z0-9.:\[\]_-]+", b)]
    if bad:
        module.fail_json(msg=f"backends must be address:port, got {', '.join(bad)}")

    current = current_files(directory)
    kept_down = []
    if module.params["keep_down"]:
        kept_down = [
            b
            for b in backends
            if b not in drained and " down;" in (current.get(os.path.join(directory, file_name(b))) or "")
        ]
    to_write, to_remove = plan(directory, current, backends, drained + kept_down)
    result = {
        "changed": bool(to_write or to_remove),
        "written": sorted(to_write),
        "removed": sorted(to_remove),
        "reloaded": False,
        "waited": 0.0,
        "in_flight_left": False,
        "kept_down": kept_down,
    }
    if module.check_mode or not result["changed"]:
        module.exit_json(**result)

    os.makedirs(directory, mode=0o755, exist_ok=True)
    before = {path: current.get(path) for path in to_write}
    for path, text in to_write.items():
        write(path, text)
    for path in to_remove:
        os.unlink(path)
    if not module.params["reload"]:
        module.exit_json(**result)

    rc, out, err = module.run_command(["nginx", "-t", "-q"])
    if rc != 0:
        for path, text in before.items():
            if text is None:
                os.unlink(path)
            else:
                write(path, text)
        for path, text in to_remove.items():
            if text is not None:
                write(path, text)
        module.fail_json(
            msg=f"nginx -t refused the backends (files put back as they were): {(err or out).strip()}", **result
        )

    workers = old_workers()
    rc, out, err = module.run_command(["systemctl", "reload-or-restart", "nginx"])
    if rc != 0:
        module.fail_json(msg=f"reloading nginx failed: {(err or out).strip()}", **result)
    result["reloaded"] = True
    if workers and module.params["drain_timeout"] > 0:
        result["waited"], result["in_flight_left"] = wait_for(workers, module.params["drain_timeout"])
        if result["in_flight_left"]:
            module.warn(
                f"nginx workers from before the reload still ran after {module.params['drain_timeout']} s"
                " (long requests or connections in flight); going on"
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
