"""Where a secret could leak on a test host: every command line seen while something runs, the journal.

    with CommandLines(["project-app1", ...]) as seen:
        deploy()
    seen.lines["project-app1"]  # every distinct command line of that host during the deploy

The sampler is a short Python program started in each container (docker exec -d): it reads each
process's /proc/<pid>/cmdline every 20 ms during the process's first second and every process's
every half second, and writes each distinct one once, until it is told to stop (or after 15
minutes). Only what this machine runs in its own test containers.
"""

from __future__ import annotations

import subprocess
import time

OUT = "/tmp/djangoops-cmdlines.out"  # noqa: S108 - inside the test container
STOP = "/tmp/djangoops-cmdlines.stop"  # noqa: S108 - inside the test container

SAMPLER = f"""
import os, time
seen, born, last_full = set(), {{}}, 0.0
deadline = time.monotonic() + 900
with open({OUT!r}, "w") as out:
    while time.monotonic() < deadline and not os.path.exists({STOP!r}):
        now = time.monotonic()
        # A process's command line is read every 20 ms during its first second (a fork may exec a new
        # one: sudo, a shell), every process's every half second: the old ones cost next to nothing.
        full = now - last_full >= 0.5
        if full:
            last_full = now
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
        for pid in pids:
            if now - born.setdefault(pid, now) > 1.0 and not full:
                continue
            try:
                with open("/proc/" + pid + "/cmdline", "rb") as handle:
                    line = handle.read().replace(b"\\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if line and line not in seen:
                seen.add(line)
                out.write(line + "\\n")
                out.flush()
        if full:
            alive = set(pids)
            born = {{pid: first for pid, first in born.items() if pid in alive}}
        time.sleep(0.02)
"""


def _docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True).stdout


class CommandLines:
    """Samples the command lines of some containers while the with-block runs."""

    def __init__(self, hosts: list[str]) -> None:
        self.hosts = list(hosts)
        self.lines: dict[str, str] = {}

    def __enter__(self) -> CommandLines:
        for host in self.hosts:
            _docker("exec", host, "rm", "-f", OUT, STOP)
            _docker("exec", "-d", host, "python3", "-c", SAMPLER)
        time.sleep(0.5)
        return self

    def __exit__(self, *_exc: object) -> None:
        for host in self.hosts:
            _docker("exec", host, "touch", STOP)
        time.sleep(0.5)
        for host in self.hosts:
            self.lines[host] = _docker("exec", host, "cat", OUT, check=False)


def journal(host: str) -> str:
    """Everything the host's journal holds (sudo's lines among them)."""
    return _docker("exec", host, "journalctl", "--no-pager", "--quiet", "-o", "cat")


def leaked(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets whose value appears in the text."""
    return sorted(name for name, value in secrets.items() if value and value in text)
