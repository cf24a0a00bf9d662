"""The `project` scenario's hosts seen from the controller: deploy the shop test project
(tests/projects/shop) to them, load their lb with the project's own pages, read them.

The hosts are the platforms of molecule/project/molecule.yml; playbooks run with the inventory
molecule generated for the scenario (its variables live in molecule.yml), as the verifier sees it.
Every request goes to a port the containers publish on 127.0.0.1. Helpers that do not depend on
the rolling scenario's hosts come from tests/rolling_bed.py.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bench import loadgen  # noqa: E402
from tests.ansible_env import ansible_env  # noqa: E402
from tests.projects.make_source import make_source  # noqa: E402
from tests.rolling_bed import Run, docker, exists, get, live_release, unit  # noqa: E402

__all__ = ["Run", "docker", "exists", "get", "live_release", "unit"]

SCENARIO = PROJECT / "molecule" / "project" / "molecule.yml"
WORK = PROJECT / ".cache" / "molecule-project"
ARTIFACTS = WORK / "releases"
LOGS = PROJECT / ".cache" / "logs"
APP = "shop"
DATABASE = "shop"
LB = "project-lb"
DB = "project-db"
HOST = "localhost"
# The load: the project's pages through the lb, and a POST that enqueues the Celery task (a fixed
# reference: the task is idempotent, so the load writes one order however often it runs).
REQUESTS = [
    "3 GET /",
    "3 GET /api/products/",
    'POST /orders/ {"sku": "MUG-001", "reference": "load"}',
]


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


LB_PORT = published(LB, 80)
APP_HOSTS = [p["name"] for p in platforms() if "app" in p["groups"]]
# The worker hosts, the ones that are only workers first (project-app2 is an app host too).
WORKERS = [p["name"] for p in sorted(platforms(), key=lambda p: "app" in p["groups"]) if "worker" in p["groups"]]
APP_AND_WORKER = [host for host in WORKERS if host in APP_HOSTS]


def inventory() -> Path:
    """The inventory molecule wrote for this scenario (hosts and the group_vars of molecule.yml)."""
    ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if not ephemeral:
        raise RuntimeError("MOLECULE_EPHEMERAL_DIRECTORY is not set: run the tests through molecule verify")
    return Path(ephemeral) / "inventory"


_runs = iter(range(1, 10_000))


def playbook(name: str, **extra_vars) -> Run:
    number = next(_runs)
    LOGS.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"project-{number:02d}-{Path(name).stem}.log"
    summary = WORK / f"summary-{number:02d}.json"
    summary.unlink(missing_ok=True)
    extra_vars.setdefault("deploy_summary_file", str(summary))
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        str(inventory()),
        str(PROJECT / "playbooks" / name),
        "-e",
        json.dumps(extra_vars),
    ]
    began = time.monotonic()
    with log.open("w") as handle:
        done = subprocess.run(
            command, stdout=handle, stderr=subprocess.STDOUT, env=ansible_env(), cwd=PROJECT, check=False
        )
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return Run(done.returncode, log.read_text(), data, round(time.monotonic() - began, 1), log)


def deploy(version: str, **extra_vars) -> Run:
    """deploy.yml with the shop at `version` (tests/projects/make_source.py)."""
    source = make_source(version, WORK / "sources" / version)
    return playbook(
        "deploy.yml",
        deploy_version=version,
        deploy_source=str(source),
        deploy_artifact_dir=str(ARTIFACTS),
        **extra_vars,
    )


def releases() -> dict[str, str]:
    """The release `current` points to on every app and worker host."""
    return {host: live_release(host, APP) for host in APP_HOSTS + WORKERS}


def request(method: str, path: str, body: dict | None = None, port: int = LB_PORT) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Host": HOST}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def psql(sql: str) -> str:
    return docker("exec", DB, "runuser", "-u", "postgres", "--", "psql", "-d", DATABASE, "-AtXc", sql).strip()


def tables() -> set[str]:
    return set(psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())


def columns(table: str) -> set[str]:
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {table!r}")
    rows = psql(
        "SELECT column_name FROM information_schema.columns "  # noqa: S608 - checked name
        f"WHERE table_schema = 'public' AND table_name = '{table}'"
    )
    return set(rows.split())


def new_reference() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


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
                "url": f"http://127.0.0.1:{LB_PORT}",
                "rate": self.rate,
                "seconds": self.seconds,
                "max_requests": self.max_requests,
                "write_every": 0,
                "workers": self.workers,
                "timeout": 10,
                "results": self.results,
                "stop": self.stop,
                "requests": REQUESTS,
                "host": HOST,
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


def figures(label: str, load: Load | None = None, run: Run | None = None) -> str:
    """One line: what the load generator saw, the playbook's seconds, and the summary's per step."""
    parts = [label]
    if load is not None:
        s = load.summary()
        lat = s["latency_ms"]
        parts.append(
            f"requests {s['requests']} failed {s['failed']} {s['failures'] or ''}"
            f" (retried: {s['retried']}) p50 {lat['p50']} ms p99 {lat['p99']} ms"
        )
    if run is not None:
        summary = run.summary
        parts.append(f"playbook {run.seconds} s rc {run.rc}")
        if summary:
            parts.append(f"deploy {summary.get('seconds')} s, build {summary.get('build_seconds')} s")
        for phase, info in sorted(summary.get("migrations", {}).items()):
            parts.append(f"migrations {phase} {info.get('seconds')} s {info.get('applied')}")
        for host, info in sorted(summary.get("hosts", {}).items()):
            steps = [
                f"{step} {info[f'{step}_seconds']} s" for step in ("switch", "worker") if info.get(f"{step}_seconds")
            ]
            if steps:
                parts.append(f"{host} {', '.join(steps)}")
    line = "; ".join(parts)
    print(line, flush=True)
    return line
