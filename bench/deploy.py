#!/usr/bin/env python3
"""The deploy benchmark (`make bench-deploy`): 1.0.0 -> 2.0.0 twice under the same load.

Needs the `rolling` scenario's hosts converged at 1.0.0 (`make bench-deploy` does that first).
Run A is playbooks/deploy.yml (then, without load, the same deploy again: the no-op re-run's
seconds); then the database is put back to its 1.0.0 state and every host back on 1.0.0; run B is
the naive order (bench/naive_deploy.yml: every migration first, then every host restarted at once).
For each it prints requests, failed requests (by status), p50/p99 latency before and during the
deploy, the deploy's seconds and each host's switch seconds. A benchmark, not a test: it asserts
nothing and always prints what it saw.

It writes the figures as JSON (.cache/molecule-rolling/bench-deploy.json: per run the figures
above, the deploy's JSON summary and a compact timeline of every request) and draws them
(bench-deploy.png next to it, bench/plot.py; `python -m bench.plot <json> <png>`
draws it again from the JSON alone).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import plot
from tests import rolling_bed as bed

BEFORE_SECONDS = 15
AFTER_SECONDS = 5
# The benchmark's load (the suite's stories load 20 requests/s, to leave the cores to the deploys).
RATE = 40
# In the database container, not on this machine.
DUMP = "/var/lib/postgresql/bench-app-1.0.0.dump"


def run_under_load(label: str, playbook: str, extra_vars: dict) -> dict:
    with bed.Load(rate=RATE) as load:
        time.sleep(BEFORE_SECONDS)
        start = load.results.now()
        load.results.mark(f"{label} starts")
        run = bed.playbook(playbook, **extra_vars)
        end = load.results.now()
        load.results.mark(f"{label} ends")
        time.sleep(AFTER_SECONDS)
    figures = {
        "label": label,
        "rc": run.rc,
        "deploy_seconds": run.seconds,
        "before": load.results.window(0, start),
        "during": load.results.window(start, end),
        "after": load.results.window(end),
        "total": load.summary(),
        "hosts": {host: info.get("switch_seconds") for host, info in sorted(run.summary.get("hosts", {}).items())},
        "log": str(run.log),
        # For the picture (bench/plot.py): the summary's epoch timestamps, and every request.
        "summary": run.summary,
        "timeline": plot.timeline(load.results),
    }
    if run.rc != 0:
        print(f"{label}: the playbook failed (rc {run.rc}), see {run.log}\n{run.tail(20)}", file=sys.stderr)
    return figures


def reset_to_1_0_0() -> None:
    """The database as 1.0.0 left it, and every host on 1.0.0 (not measured)."""
    print("resetting: database from the 1.0.0 dump, every host back on 1.0.0", flush=True)
    script = (
        "set -e; runuser -u postgres -- dropdb --force app;"
        " runuser -u postgres -- createdb --owner=app app;"
        f" runuser -u postgres -- pg_restore --dbname=app {DUMP}"
    )
    bed.docker("exec", bed.DB, "sh", "-c", script)
    run = bed.playbook("rollback.yml", deploy_rollback_version="1.0.0")
    if run.rc != 0:
        sys.exit(f"could not put the hosts back on 1.0.0 (see {run.log}):\n{run.tail(30)}")


def line(figures: dict) -> str:
    def window(name: str) -> str:
        w = figures[name]
        latency = w["latency_ms"]
        return (
            f"{name}: {w['requests']} requests, {w['failed']} failed, p50 {latency['p50']} ms, p99 {latency['p99']} ms"
        )

    total = figures["total"]
    hosts = ", ".join(f"{host} {seconds} s" for host, seconds in figures["hosts"].items() if seconds is not None)
    return "\n".join(
        [
            f"== {figures['label']} (rc {figures['rc']}): deploy {figures['deploy_seconds']} s",
            f"   total: {total['requests']} requests, {total['failed']} failed {total['failures'] or ''}"
            f" (retried on a new connection: {total['retried']})",
            "   " + window("before"),
            "   " + window("during"),
            "   " + window("after"),
            f"   seconds per host: {hosts or 'n/a'}",
        ]
    )


def main() -> int:
    if bed.versions() != dict.fromkeys(bed.APP_HOSTS, "1.0.0"):
        sys.exit(f"the rolling hosts must serve 1.0.0 first (make bench-deploy converges them): {bed.versions()}")
    bed.docker("exec", bed.DB, "sh", "-c", f"runuser -u postgres -- pg_dump --format=custom app > {DUMP}")
    results = [run_under_load("deploy.yml 1.0.0 -> 2.0.0", "deploy.yml", bed.deploy_vars("2.0.0"))]
    rerun = bed.deploy("2.0.0")
    noop = f"deploy.yml 2.0.0 again (a no-op re-run, no load): {rerun.seconds} s, rc {rerun.rc}"
    print(noop, flush=True)
    reset_to_1_0_0()
    results.append(
        run_under_load(
            "naive order 1.0.0 -> 2.0.1 (same code as 2.0.0)",
            "../bench/naive_deploy.yml",
            bed.deploy_vars("2.0.1", "2.0.0"),
        )
    )
    print()
    for figures in results:
        print(line(figures))
    print(noop)
    output = bed.WORK / "bench-deploy.json"
    output.write_text(plot.dumps(results))
    print(f"\nfigures as JSON: {output}")
    picture = bed.WORK / "bench-deploy.png"
    try:
        plot.draw(results, picture)
    except Exception as error:  # the figures are measured and written: a picture is no reason to fail
        print(f"could not draw {picture}: {error!r} (python -m bench.plot {output} {picture})", file=sys.stderr)
    else:
        print(f"picture of both deploys: {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
