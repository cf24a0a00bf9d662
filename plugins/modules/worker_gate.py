#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""The gate of a Celery worker: it answers a ping and stays up, or the deploy takes it back."""

# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

from __future__ import annotations

DOCUMENTATION = r"""
module: worker_gate
short_description: Wait until a Celery worker unit answers a ping, then check it stays up
version_added: "0.1.0"
description:
  - After a worker (re)started, waits until the systemd unit O(unit) is active and the worker
    answers C(celery inspect ping) addressed to its own node, then watches it until its main
    process has run O(hold) seconds, in which the unit must stay active with the same main process
    and no restart (a worker that has run that long already is not watched again).
  - A unit that systemd restarts (a crash loop under C(Restart=on-failure)), fails or stops fails
    the gate at once, quoting the unit's last journal lines; so does a worker that never answers
    within O(timeout) seconds.
  - The ping runs as a transient unit (C(systemd-run)) with the worker's user, working directory
    and environment file, so that no secret of the environment appears on a command line, in
    sudo's log or in Ansible's output.
  - Changes nothing; runs the same in check mode.
options:
  unit:
    description: The worker's systemd unit, for example C(shop-celery.service).
    type: str
    required: true
  celery:
    description: The C(celery) program of the live release.
    type: path
    required: true
  app:
    description: The Celery application (C(celery --app)).
    type: str
    required: true
  node:
    description: The worker's node name; C(%h) stands for the host name, as in the unit.
    type: str
    required: true
  user:
    description: The user the worker runs as.
    type: str
    required: true
  env_file:
    description: The worker's environment file.
    type: path
    required: true
  chdir:
    description: The worker's working directory.
    type: path
    required: true
  timeout:
    description: Seconds to wait for the first answer to a ping.
    type: int
    default: 60
  hold:
    description: Seconds the worker's main process must have run, without a restart, when the gate ends.
    type: int
    default: 10
  pid:
    description:
      - The main process the worker must still run (C(systemctl show --property=MainPID) right after
        the start, or the result C(pid) of an earlier gate); 0 for none. Lets a gate run a while after
        the start, other work done in between; another main process since then (the worker crashed and
        systemd restarted it, or it was replaced) fails the gate.
    type: int
    default: 0
author:
  - djangoops.stack developers (@djangoops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; runs in check mode as in a real run.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Gate the worker
  djangoops.stack.worker_gate:
    unit: shop-celery.service
    celery: /srv/shop/current/venv/bin/celery
    app: config.celery
    node: shop@%h
    user: shop
    env_file: /srv/shop/shared/env
    chdir: /srv/shop/current/src
"""

RETURN = r"""
seconds:
  description: Seconds until the worker answered, plus the hold.
  returned: always
  type: float
pid:
  description: The worker's main process.
  returned: always
  type: int
restarts:
  description: The restarts systemd made of the unit during the gate.
  returned: always
  type: int
"""

import json
import socket
import time

from ansible.module_utils.basic import AnsibleModule


def unit_state(module, unit):
    """-> dict with ActiveState, SubState, MainPID (int), NRestarts (int) and ExecMainStartTimestampMonotonic
    (int, microseconds on the clock of time.monotonic())."""
    rc, out, err = module.run_command(
        [
            "systemctl",
            "show",
            unit,
            "--property=ActiveState,SubState,MainPID,NRestarts,ExecMainStartTimestampMonotonic",
        ],
        check_rc=False,
    )
    if rc != 0:
        module.fail_json(msg=f"systemctl show {unit}: {err.strip() or out.strip()}")
    state = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    for key in ("MainPID", "NRestarts", "ExecMainStartTimestampMonotonic"):
        state[key] = int(state.get(key) or 0)
    return state


def journal_tail(module, unit, since, lines=15):
    """The unit's last journal lines since a time (with --since, journalctl's --lines keeps the
    first ones: the tail is cut here)."""
    rc, out, _err = module.run_command(
        ["journalctl", "--unit", unit, "--since", f"@{int(since)}", "--no-pager", "--output", "cat"],
        check_rc=False,
    )
    return "\n".join(out.strip().splitlines()[-lines:]) if rc == 0 else ""


def ping(module, params, node):
    """One `celery inspect ping` to this node as a transient unit -> (answered, detail)."""
    argv = [
        "systemd-run",
        "--quiet",
        "--wait",
        "--pipe",
        "--collect",
        f"--property=User={params['user']}",
        f"--property=EnvironmentFile={params['env_file']}",
        f"--property=WorkingDirectory={params['chdir']}",
        params["celery"],
        "--app",
        params["app"],
        "inspect",
        "ping",
        "--destination",
        node,
        "--timeout",
        "3",
        "--json",
    ]
    rc, out, err = module.run_command(argv, check_rc=False)
    if rc == 0:
        for line in reversed(out.strip().splitlines()):
            try:
                replies = json.loads(line)
            except ValueError:
                continue
            if isinstance(replies, dict) and node in replies:
                return True, ""
    return False, (err.strip() or out.strip())[-300:]


def main():
    module = AnsibleModule(
        argument_spec={
            "unit": {"type": "str", "required": True},
            "celery": {"type": "path", "required": True},
            "app": {"type": "str", "required": True},
            "node": {"type": "str", "required": True},
            "user": {"type": "str", "required": True},
            "env_file": {"type": "path", "required": True},
            "chdir": {"type": "path", "required": True},
            "timeout": {"type": "int", "default": 60},
            "hold": {"type": "int", "default": 10},
            "pid": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    params = module.params
    unit = params["unit"]
    node = params["node"].replace("%h", socket.gethostname())
    started, wall = time.monotonic(), time.time()
    first = unit_state(module, unit)

    def stop(reason, state):
        tail = journal_tail(module, unit, wall - 30)
        module.fail_json(
            msg=f"worker gate failed: {unit} {reason}" + (f"; its last journal lines:\n{tail}" if tail else ""),
            seconds=round(time.monotonic() - started, 1),
            pid=state["MainPID"],
            restarts=state["NRestarts"] - first["NRestarts"],
        )

    def check(state, pid=None):
        restarts = state["NRestarts"] - first["NRestarts"]
        if restarts > 0:
            stop(f"was restarted {restarts} time(s) by systemd (it keeps crashing)", state)
        if state["SubState"] == "auto-restart":
            stop("is waiting to be restarted by systemd (it crashed)", state)
        if state["ActiveState"] in ("failed", "inactive"):
            stop(f"is {state['ActiveState']} ({state['SubState']})", state)
        if pid is not None and state["MainPID"] != pid:
            since = " since the deploy started it" if pid == params["pid"] else ""
            stop(f"changed its main process ({pid} -> {state['MainPID']}){since}", state)

    detail = ""
    expected = params["pid"] or None
    while True:
        state = unit_state(module, unit)
        check(state, expected)
        if state["ActiveState"] == "active":
            answered, detail = ping(module, params, node)
            if answered:
                break
        if time.monotonic() - started >= params["timeout"]:
            stop(f"did not answer a ping to {node} within {params['timeout']} s ({detail or state['SubState']})", state)
        time.sleep(1)
    state = unit_state(module, unit)
    check(state)
    pid = state["MainPID"]
    # The hold counts from the start of the main process: a worker that has run that long already
    # (a re-run that restarted nothing) is not watched again.
    main_started = state["ExecMainStartTimestampMonotonic"] / 1e6 or time.monotonic()
    hold_until = main_started + params["hold"]
    while time.monotonic() < hold_until:
        time.sleep(1)
        state = unit_state(module, unit)
        check(state, pid)
    module.exit_json(
        changed=False,
        seconds=round(time.monotonic() - started, 1),
        pid=pid,
        restarts=state["NRestarts"] - first["NRestarts"],
    )


if __name__ == "__main__":
    main()
