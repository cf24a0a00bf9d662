"""The environment of an ansible-playbook (or ansible-doc) run that a test starts: this checkout's
ansible.cfg and collections, no colours; a caller adds what its runs need."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ansible_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_FORCE_COLOR": "false",
        "ANSIBLE_NOCOLOR": "true",
        "PY_COLORS": "0",
        **extra,
    }
