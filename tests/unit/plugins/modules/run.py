"""Run one of the collection's modules as Ansible runs it on a host: its arguments in a JSON file,
its result the JSON it prints."""

import json
import subprocess
import sys
import tempfile
import time

from tests.conftest import ROOT


def run_module(name: str, params: dict, check_mode: bool = False, timeout: float = 60) -> tuple[int, dict, float]:
    """-> (exit status, result, seconds) of plugins/modules/<name>.py with these arguments."""
    arguments = {**params, **({"_ansible_check_mode": True} if check_mode else {})}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as args:
        json.dump({"ANSIBLE_MODULE_ARGS": arguments}, args)
        args.flush()
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "plugins" / "modules" / f"{name}.py"), args.name],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    return proc.returncode, json.loads(proc.stdout), time.monotonic() - started
