#!/usr/bin/env python3
"""The backup benchmark (`make bench-backup`): backup and restore seconds, and the recovery point.

Needs the `rolling` scenario's hosts converged (`make bench-backup` does that first). Their database
host, djangoops-test-db, keeps its pgBackRest repository itself (the test inventory names no backup
host), archives its WAL with archive_timeout 60 s and has the backup units of role pgbackrest.

1. A database of a few hundred MB: pgbench's tables at scale BENCH_SCALE (25: about 375 MB) in a
   database `bench` beside the app's.
2. A full backup, then pgbench writes for WRITE_SECONDS, then a differential backup: each by the
   role's systemd unit, as its timer starts it; seconds, and sizes from `pgbackrest info`.
3. The recovery point: a writer commits one heartbeat row every HEARTBEAT_INTERVAL seconds and this
   script reads each acknowledged commit; after HEARTBEAT_SECONDS the database host is killed without
   warning (`docker kill`: SIGKILL to its systemd, PostgreSQL and the archiver with it), its data
   directory is removed (the disk is lost) and the host started again. Its repository survives here
   because it is on the same container's disk, as it would on the backup host of the stage and
   production layout; a single-server layout loses it with the disk.
4. playbooks/restore.yml restores the latest point (the last backup and every archived WAL segment):
   its seconds, and the heartbeat rows back: the acknowledged commits missing are the writes lost,
   and the seconds between the last one restored and the last one acknowledged is the recovery point.

A benchmark, not a test: it asserts nothing and prints what it measured (JSON in
.cache/molecule-rolling/bench-backup.json).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import rolling_bed as bed

DB = bed.DB
STANZA = DB
BENCH_SCALE = int(os.environ.get("BENCH_SCALE", "25"))
WRITE_SECONDS = 20
HEARTBEAT_INTERVAL = 0.2
HEARTBEAT_SECONDS = float(os.environ.get("BENCH_HEARTBEAT_SECONDS", "100"))
DATA = "/var/lib/postgresql/15/main"


def sh(host: str, command: str, check: bool = True) -> str:
    """A shell command in a container; its stdout."""
    run = subprocess.run(["docker", "exec", host, "sh", "-c", command], capture_output=True, text=True, check=False)
    if check and run.returncode != 0:
        raise RuntimeError(f"{host}: {command}: exit {run.returncode}: {run.stderr.strip()}")
    return run.stdout.strip()


def sql(database: str, statement: str) -> str:
    return bed.docker(
        "exec", DB, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", database, "-c", statement
    ).strip()


def timed(label: str, func):
    began = time.monotonic()
    result = func()
    seconds = round(time.monotonic() - began, 1)
    print(f"bench-backup: {label}: {seconds} s", flush=True)
    return seconds, result


def backup(kind: str) -> dict:
    """One backup by the role's unit (Type=oneshot: systemctl start returns when it has finished)."""
    seconds, _ = timed(
        f"{kind} backup", lambda: sh(DB, f"systemctl start djangoops-pgbackrest-{STANZA}-{kind}.service")
    )
    info = json.loads(sh(DB, "runuser -u postgres -- pgbackrest --output=json info"))
    last = info[0]["backup"][-1]
    return {
        "seconds": seconds,
        "type": last["type"],
        "database_bytes": last["info"]["size"],
        "delta_bytes": last["info"]["delta"],
        "repository_bytes": last["info"]["repository"]["delta"],
    }


class Heartbeat:
    """One psql session on the database host committing a row every HEARTBEAT_INTERVAL seconds; the
    commits it acknowledged (id, the database's clock at commit) as they come back on its stdout."""

    def __init__(self) -> None:
        sql(
            "bench",
            "DROP TABLE IF EXISTS heartbeat; CREATE TABLE heartbeat (id bigint PRIMARY KEY, at double precision)",
        )
        # The table itself must be in the archive: pgbackrest check closes the segment that created it
        # and waits until the repository has it. The heartbeat then starts in a fresh segment.
        sh(DB, f"runuser -u postgres -- pgbackrest --stanza={STANZA} check")
        self.started_at = float(sql("bench", "SELECT extract(epoch from clock_timestamp())"))
        self.acknowledged: list[tuple[int, float]] = []
        self.process = subprocess.Popen(
            ["docker", "exec", "-i", DB, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", "bench"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            parts = line.strip().split("|")
            if len(parts) == 2 and parts[0].isdigit():
                self.acknowledged.append((int(parts[0]), float(parts[1])))

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        number = 0
        while time.monotonic() < deadline and self.process.poll() is None:
            number += 1
            self.process.stdin.write(
                f"INSERT INTO heartbeat VALUES ({number}, extract(epoch from clock_timestamp())) RETURNING id, at;\n"  # noqa: S608 - a counter
            )
            self.process.stdin.flush()
            time.sleep(HEARTBEAT_INTERVAL)

    def close(self) -> None:
        try:
            self.process.kill()
        finally:
            self.process.wait(timeout=10)


def main() -> int:
    figures: dict = {"scale": BENCH_SCALE}
    sql("postgres", "DROP DATABASE IF EXISTS bench")
    sql("postgres", "CREATE DATABASE bench")
    figures["load_seconds"], _ = timed(
        f"pgbench -i -s {BENCH_SCALE}",
        lambda: sh(DB, f"runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -q -i -s {BENCH_SCALE} bench 2>&1"),
    )
    figures["bench_database_mb"] = round(int(sql("postgres", "SELECT pg_database_size('bench')")) / 2**20, 1)
    figures["cluster_mb"] = round(
        int(sql("postgres", "SELECT sum(pg_database_size(datname)) FROM pg_database")) / 2**20, 1
    )
    print(
        f"bench-backup: database bench {figures['bench_database_mb']} MB, cluster {figures['cluster_mb']} MB",
        flush=True,
    )

    figures["full"] = backup("full")
    sh(
        DB,
        f"runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -n -T {WRITE_SECONDS} -c 2 bench >/dev/null 2>&1",
    )
    figures["diff"] = backup("diff")

    # The recovery point: the heartbeat runs longer than archive_timeout (60 s), so that the kill lands
    # at some point of a WAL segment the archiver has not had yet.
    # PostgreSQL must not start again on the dead host's disk (it would recover and archive what the
    # kill cut off): its unit is masked now, which changes nothing for the running server.
    unit = "postgresql@15-main.service"
    sh(DB, f"systemctl mask {unit}")
    heartbeat = Heartbeat()
    try:
        heartbeat.run(HEARTBEAT_SECONDS)
        bed.docker("kill", DB)
        killed_at = time.time()
    finally:
        heartbeat.close()
    acknowledged = list(heartbeat.acknowledged)
    bed.docker("start", DB)
    deadline = time.monotonic() + 120
    while sh(DB, "systemctl is-system-running --wait", check=False) not in ("running", "degraded"):
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    # The disk is lost: the data directory goes; the repository stays (the backup host's, in production).
    sh(DB, f"rm -rf {DATA} && systemctl unmask {unit}")

    restore = bed.playbook("restore.yml", restore_host=DB, restore_force=True)
    figures["restore_playbook_seconds"] = restore.seconds
    figures["restore_rc"] = restore.rc
    said = re.search(r"Restored \S+ \(stanza [^)]*\) from backup .*? in [0-9.]+ s\.", " ".join(restore.output.split()))
    figures["restore_summary"] = said[0] if said else ""
    print(f"bench-backup: restore.yml (latest): {restore.seconds} s, rc {restore.rc}: {figures['restore_summary']}")
    seconds = re.search(r" in ([0-9.]+) s\.?", figures["restore_summary"])
    figures["pgbackrest_restore_seconds"] = float(seconds[1]) if seconds else None
    restored = (
        sql("bench", "SELECT count(*), coalesce(max(id), 0), coalesce(max(at), 0) FROM heartbeat")
        if restore.rc == 0
        else "0|0|0"
    )
    count, last_id, last_at = restored.split("|")
    last_ack_id, last_ack_at = acknowledged[-1] if acknowledged else (0, 0.0)
    # Seconds of acknowledged writes lost: from the last one restored (or the heartbeat's start when
    # none was) to the last one acknowledged before the kill.
    since = float(last_at) if int(last_id) else heartbeat.started_at
    figures["recovery_point"] = {
        "acknowledged_commits": len(acknowledged),
        "restored_commits": int(count),
        "lost_commits": last_ack_id - int(last_id),
        "seconds_lost": round(last_ack_at - since, 1) if acknowledged else None,
        "heartbeat_seconds": HEARTBEAT_SECONDS,
        "killed_at": killed_at,
    }
    figures["bench_rows_after_restore"] = (
        int(sql("bench", "SELECT count(*) FROM pgbench_accounts")) if restore.rc == 0 else 0
    )
    rp = figures["recovery_point"]
    print(
        f"bench-backup: recovery point: {rp['lost_commits']} of {rp['acknowledged_commits']} acknowledged commits lost,"
        " "
        f"{rp['seconds_lost']} s of writes (archive_timeout 60 s; the heartbeat ran {HEARTBEAT_SECONDS:.0f} s "
        "in a fresh WAL segment)",
        flush=True,
    )
    sql("postgres", "DROP DATABASE IF EXISTS bench")
    out = bed.WORK / "bench-backup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "restore_summary"}, indent=2))
    print(f"bench-backup: figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
