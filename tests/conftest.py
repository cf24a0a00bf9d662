"""Shared helpers for the unit tests: paths and a runner that applies a role to localhost."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ansible_env import ansible_env as base_ansible_env

ROOT = Path(__file__).resolve().parent.parent
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


@dataclass
class PlaybookRun:
    rc: int
    output: str

    def started(self, task_name):
        """Whether a task whose name contains task_name started."""
        return any(task_name in line for line in self.output.splitlines() if line.startswith("TASK ["))

    def assert_refused(self, message, *first_changes):
        """The run failed, said message (whitespace folded), and none of first_changes started."""
        assert self.rc != 0
        assert message in " ".join(self.output.split()), self.output
        for task in first_changes:
            assert not self.started(task), f"the role went past validation: {task!r} started"


def ansible_env():
    """tests.ansible_env with this venv's Python for localhost (the unit tests' plays run there)."""
    return base_ansible_env(ANSIBLE_PYTHON_INTERPRETER=sys.executable)


@pytest.fixture
def run_role(tmp_path):
    """Apply a role to localhost in check mode with the given variables, and return its output.

    Check mode and a local connection keep the controller safe even if validation let bad input
    through: nothing is installed or written.
    """

    def run(role, variables, inventory="localhost,"):
        """inventory: a host list or an inventory file (its hosts connect locally too)."""
        playbook = tmp_path / "play.yml"
        playbook.write_text(f"- hosts: all\n  gather_facts: false\n  roles:\n    - role: djangoops.stack.{role}\n")
        extra = tmp_path / "vars.json"
        extra.write_text(json.dumps(variables))
        env = ansible_env()
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "--check",
                f"--inventory={inventory}",
                "--connection=local",
                f"--extra-vars=@{extra}",
                str(playbook),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
        return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)

    return run
