"""The test inventory's hosts seen from the controller: deploy to them, load their lb, read them.

Used by the `rolling` scenario's tests (molecule/rolling/tests) and by the deploy benchmark
(bench/deploy.py). The hosts are the platforms of molecule/rolling/molecule.yml, which are the
hosts of inventories/test (`make demo` brings up the same containers); playbooks run with
`-i inventories/test`, as an operator's would. Every request goes to a port the containers publish
on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bench import loadgen  # noqa: E402
from tests.ansible_env import ansible_env  # noqa: E402
from tests.releases.make_source import make_source  # noqa: E402

SCENARIO = PROJECT / "molecule" / "rolling" / "molecule.yml"
WORK = PROJECT / ".cache" / "molecule-rolling"
ARTIFACTS = WORK / "releases"
LOGS = PROJECT / ".cache" / "logs"
LB = "djangoops-test-lb"
DB = "djangoops-test-db"
INVENTORY = PROJECT / "inventories" / "test"


def platforms() -> list[dict]:
    return yaml.safe_load(SCENARIO.read_text())["platforms"]


def published(host: str, port: int) -> int:
    """The 127.0.0.1 port a platform publishes for its container port."""
    for platform in platforms():
        if platform["name"] == host:
            for mapping in platform.get("published_ports", []):
                outside, inside = mapping.split(":")
                if int(inside) == port:
                    return int(outside)
    raise KeyError(f"{host} publishes no port {port}")


LB_URL = f"http://127.0.0.1:{published(LB, 80)}"
APP_HOSTS = [p["name"] for p in platforms() if "app" in p["groups"]]
WORKERS = [p["name"] for p in platforms() if "worker" in p["groups"]]


@dataclass
class Run:
    """One ansible-playbook run: exit status, output, the deploy's JSON summary, wall seconds."""

    rc: int
    output: str
    summary: dict
    seconds: float
    log: Path

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


_runs = iter(range(1, 10_000))


def start_playbook(
    playbook: str, _limit: str = "", _killable: bool = False, _check: bool = False, **extra_vars
) -> tuple[subprocess.Popen, Path, Path, float]:
    number = next(_runs)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"rolling-{number:02d}-{Path(playbook).stem}.log"
    summary = WORK / f"summary-{number:02d}.json"
    summary.unlink(missing_ok=True)
    extra_vars.setdefault("deploy_summary_file", str(summary))
    env = ansible_env()
    if _killable:
        # Ansible leaves its output to the file's buffer: a run killed without warning would lose
        # the end of its log, and a test waiting for a line would see it late.
        env["PYTHONUNBUFFERED"] = "1"
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        str(INVENTORY),
        str(PROJECT / "playbooks" / playbook),
        "-e",
        json.dumps(extra_vars),
        *(["--limit", _limit] if _limit else []),
        *(["--check"] if _check else []),
    ]
    handle = log.open("w")
    # _killable: its own process group, which kill_playbook() kills at once (ansible-playbook and its workers).
    process = subprocess.Popen(
        command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=PROJECT, start_new_session=_killable
    )
    handle.close()
    return process, log, summary, time.monotonic()


def finish_playbook(started: tuple[subprocess.Popen, Path, Path, float], timeout: float = 900) -> Run:
    process, log, summary, began = started
    rc = process.wait(timeout=timeout)
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return Run(rc, log.read_text(), data, round(time.monotonic() - began, 1), log)


def kill_playbook(started: tuple[subprocess.Popen, Path, Path, float]) -> Run:
    """SIGKILL the controller of a started playbook (ansible-playbook and every worker it forked), as a
    runner that dies would; the run as far as it got."""
    process, log, _, began = started
    os.killpg(process.pid, signal.SIGKILL)
    rc = process.wait(timeout=60)
    return Run(rc, log.read_text(), {}, round(time.monotonic() - began, 1), log)


def playbook(playbook: str, _limit: str = "", _check: bool = False, **extra_vars) -> Run:
    return finish_playbook(start_playbook(playbook, _limit, _check=_check, **extra_vars))


def deploy_vars(version: str, source_version: str | None = None, **extra_vars) -> dict:
    """The extra vars of a deploy of `version` built from the example at `source_version`."""
    source = make_source(source_version or version, WORK / "sources" / version)
    return {
        "deploy_version": version,
        "deploy_source": str(source),
        "deploy_artifact_dir": str(ARTIFACTS),
        **extra_vars,
    }


def deploy(version: str, source_version: str | None = None, **extra_vars) -> Run:
    return playbook("deploy.yml", **deploy_vars(version, source_version, **extra_vars))


def pipeline_deploy(version: str, source_version: str | None = None, **extra_vars) -> Run:
    """The pipeline's `deploy_stage` job (.gitlab-ci.yml) run by gitlab-ci-local in shell mode, as a
    runner would on the default branch, pointed at the test inventory; the deploy's extra vars go
    through the job's DEPLOY_EXTRA_VARS."""
    number = next(_runs)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"rolling-{number:02d}-pipeline-deploy_stage.log"
    summary = WORK / f"summary-{number:02d}.json"
    summary.unlink(missing_ok=True)
    extra = deploy_vars(version, source_version, deploy_summary_file=str(summary), **extra_vars)
    del extra["deploy_version"]
    command = [
        str(PROJECT / "scripts" / "ci-local"),
        "deploy_stage",
        "--variable",
        f"DEPLOY_INVENTORY={INVENTORY.relative_to(PROJECT)}",
        "--variable",
        f"DEPLOY_VERSION={version}",
        "--variable",
        f"DEPLOY_EXTRA_VARS={json.dumps(extra)}",
    ]
    began = time.monotonic()
    with log.open("w") as handle:
        rc = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, cwd=PROJECT, timeout=900, check=False)
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return Run(rc.returncode, log.read_text(), data, round(time.monotonic() - began, 1), log)


def pipeline_vault_password() -> str:
    """The vault password scripts/ci-local gives the pipeline's jobs (a File variable)."""
    variables = yaml.safe_load((PROJECT / ".cache" / "gitlab-ci-local" / "variables.yml").read_text())
    return variables["ANSIBLE_VAULT_PASSWORD_FILE"]["values"]["*"]


def get(port: int, path: str, timeout: float = 5) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": "localhost"})
        response = connection.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, {"body": body[:200].decode(errors="replace")}
    finally:
        connection.close()


def serves_again(seconds: float) -> bool:
    """Whether the lb answers /api/airports with 200 within `seconds` (after it was stopped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if get(published(LB, 80), "/api/airports")[0] == 200:
                return True
        time.sleep(1)
    return False


def version(host: str) -> str:
    """The release an app host serves through its own nginx (its /healthz)."""
    try:
        status, body = get(published(host, 8080), "/healthz")
    except OSError as error:
        return f"unreachable ({type(error).__name__})"
    return body.get("version", f"HTTP {status}")


def versions() -> dict[str, str]:
    return {host: version(host) for host in APP_HOSTS}


def wait_for_version(host: str, wanted: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if version(host) == wanted:
            return True
        time.sleep(0.5)
    return False


def wait_for_output(started: tuple[subprocess.Popen, Path, Path, float], text: str, seconds: float) -> bool:
    """Whether a started (killable: unbuffered) playbook printed `text` within `seconds`, while it runs."""
    process, log, _, _ = started
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if text in log.read_text():
            return True
        time.sleep(0.2)
    return False


def live_release(host: str, app: str = "example") -> str:
    """The release a host's `current` points to ('' when none), read on the host."""
    target = docker("exec", host, "readlink", f"/srv/{app}/current", check=False).strip()
    return target.rsplit("/", 1)[-1]


def unit(host: str, name: str) -> dict[str, str]:
    """A systemd unit's ActiveState, SubState, NRestarts and MainPID on a host."""
    out = docker("exec", host, "systemctl", "show", name, "--property=ActiveState,SubState,NRestarts,MainPID")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def process_env(host: str, pid: str | int) -> dict[str, str]:
    """The environment of a process on a host (/proc/<pid>/environ, read as root)."""
    raw = subprocess.run(
        ["docker", "exec", host, "cat", f"/proc/{int(pid)}/environ"], check=True, capture_output=True
    ).stdout
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def inventory_app_env() -> dict[str, str]:
    """The test inventory's django_app_env as written there (templates unrendered: Ansible renders
    them when it is given back as an extra var)."""
    return yaml.safe_load((INVENTORY / "group_vars" / "all" / "main.yml").read_text())["django_app_env"]


def down_backends(check: bool = True) -> set[str]:
    """The backends (address:port) the lb marks down in its files under /etc/nginx/djangoops/lb-backends."""
    lines = docker("exec", LB, "sh", "-c", "cat /etc/nginx/djangoops/lb-backends/*.conf", check=check)
    return {line.split()[1] for line in lines.splitlines() if line.startswith("server ") and " down;" in line}


def out_of_rotation() -> set[str]:
    """The app hosts the lb marks down."""
    down = down_backends()
    return {host for host in APP_HOSTS if any(backend.startswith(f"{address(host)}:") for backend in down)}


def wait_for_drained(host: str, seconds: float) -> bool:
    """Whether the lb marks an app host down within `seconds` (read every 0.2 s)."""
    prefix = f"{address(host)}:"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(backend.startswith(prefix) for backend in down_backends(check=False)):
            return True
        time.sleep(0.2)
    return False


def address(host: str) -> str:
    """An app host's address on the test network (as the inventory's lb backends name it)."""
    return docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", host).strip()


def lock_held() -> bool:
    """Whether the environment's deploy lock file exists on the lb."""
    return exists(LB, "/var/lib/djangoops/locks/example.json")


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True).stdout


def exists(host: str, path: str) -> bool:
    return subprocess.run(["docker", "exec", host, "test", "-e", path], check=False).returncode == 0


def psql(sql: str) -> str:
    return docker("exec", DB, "runuser", "-u", "postgres", "--", "psql", "-d", "app", "-AtXc", sql).strip()


def columns(table: str) -> dict[str, str]:
    """Column name -> its default expression ('' for none) of a table in the app database."""
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {table!r}")
    rows = psql(
        "SELECT column_name, coalesce(column_default, '') FROM information_schema.columns "  # noqa: S608 - checked name
        f"WHERE table_schema = 'public' AND table_name = '{table}'"
    )
    return dict(line.split("|", 1) for line in rows.splitlines() if line)


@dataclass
class Load:
    """The load generator on the lb in a thread, for at most `seconds`, until the block ends."""

    rate: float = loadgen.SUITE_RATE
    seconds: float = 900
    max_requests: int = 60_000
    workers: int = 4
    results: loadgen.Results = field(default_factory=loadgen.Results)
    stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Load:
        self.thread = threading.Thread(
            target=loadgen.run,
            kwargs={
                "url": LB_URL,
                "rate": self.rate,
                "seconds": self.seconds,
                "max_requests": self.max_requests,
                "write_every": 10,
                "workers": self.workers,
                "timeout": 10,
                "results": self.results,
                "stop": self.stop,
            },
            daemon=True,
        )
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def summary(self) -> dict:
        return self.results.summary()


def report(label: str, load: Load | None = None, run: Run | None = None) -> str:
    parts = [label]
    if load is not None:
        s = load.summary()
        lat = s["latency_ms"]
        parts.append(
            f"requests {s['requests']} failed {s['failed']} {s['failures'] or ''}"
            f" (retried on a new connection: {s['retried']}) p50 {lat['p50']} ms p99 {lat['p99']} ms"
        )
    if run is not None:
        parts.append(f"playbook {run.seconds} s rc {run.rc}")
        for host, info in sorted(run.summary.get("hosts", {}).items()):
            if info.get("switch_seconds") is not None:
                parts.append(f"{host} switch {info['switch_seconds']} s")
    line = "; ".join(parts)
    print(line, flush=True)
    return line


def failed_outside(load: Load, start: float, end: float) -> list[float]:
    """When (seconds after the load started) the requests that failed outside [start, end] began."""
    results = load.results
    with results.lock:
        flags = zip(results.times, results.failed_flags, strict=True)
        return [t for t, failed in flags if failed and not start <= t <= end]


@contextlib.contextmanager
def stopped(host: str):
    """The container stopped for the block, started again after it (systemd boots its units)."""
    docker("stop", host)
    try:
        yield
    finally:
        docker("start", host)
