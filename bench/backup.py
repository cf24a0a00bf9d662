#!/usr/bin/env python3
"""The backup benchmark (`make bench-backup`): backup and restore seconds, and the recovery point.

Needs the `backup` scenario's hosts converged (`make bench-backup` does that first): backup-db12 is
PostgreSQL 15 whose pgBackRest repository is on another host, over TLS, encrypted.

1. pgbench fills database app with BENCH_SCALE (default 25: about 375 MB) of tables.
2. A full backup by its timer's unit (djangoops-pgbackrest-backup-db12-full.service): seconds, size.
3. The recovery point: backup-client commits a heartbeat row every 0.2 s over TCP (the app's view of
   what was saved); after BENCH_WRITE_SECONDS (default 100) the database host dies without warning
   (`docker kill`), comes back without its data directory, and playbooks/restore.yml restores the
   latest archived point. The seconds of committed heartbeats missing afterwards are the writes a
   lost host takes with it (at most about pgbackrest_archive_timeout, 60 s).
4. The restore's seconds (the playbook's, and pgBackRest's own restore and PostgreSQL's recovery).

A benchmark, not a test: it asserts nothing and prints what it measured (also as JSON,
.cache/bench-backup.json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB, REPOSITORY, CLIENT = "backup-db12", "backup-repo", "backup-client"
SCALE = int(os.environ.get("BENCH_SCALE", "25"))
WRITE_SECONDS = int(os.environ.get("BENCH_WRITE_SECONDS", "100"))
PASSWORD = "molecule-app-password"  # noqa: S105 - the backup scenario's throwaway test password
CONFIG = "/etc/postgresql/15/main"


def sh(host: str, command: str, check: bool = True) -> str:
    run = subprocess.run(["docker", "exec", host, "bash", "-c", command], capture_output=True, text=True, check=False)
    if check and run.returncode != 0:
        raise SystemExit(f"bench-backup: on {host}: {command}\n{run.stdout}{run.stderr}")
    return run.stdout.strip()


def sql(statement: str) -> str:
    return sh(DB, f"runuser -u postgres -- psql -X -At -d app -v ON_ERROR_STOP=1 -c {json.dumps(statement)}")


def timed(label: str, host: str, command: str) -> float:
    began = time.monotonic()
    sh(host, command)
    seconds = round(time.monotonic() - began, 1)
    print(f"bench-backup: {label}: {seconds} s", flush=True)
    return seconds


def inventory() -> str:
    """molecule's inventory of the backup scenario (under ~/.ansible/tmp: the newest one)."""
    candidates = sorted(Path.home().glob(".ansible/tmp/molecule.*.backup/inventory"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise SystemExit("bench-backup: no molecule inventory of the backup scenario; run make bench-backup")
    return str(candidates[-1])


def main() -> int:
    figures: dict = {"scale": SCALE}
    sql("DROP TABLE IF EXISTS heartbeat")
    figures["fill_seconds"] = timed(
        f"pgbench -i -s {SCALE}", DB, f"runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -q -i -s {SCALE} app"
    )
    figures["database_mb"] = round(int(sql("SELECT pg_database_size('app')")) / 2**20)
    print(f"bench-backup: database app: {figures['database_mb']} MB", flush=True)
    figures["backup_seconds"] = timed(
        "full backup", REPOSITORY, "systemctl start djangoops-pgbackrest-backup-db12-full.service"
    )
    info = json.loads(sh(REPOSITORY, "runuser -u pgbackrest -- pgbackrest --stanza=backup-db12 --output=json info"))
    last = info[0]["backup"][-1]
    figures["backup_repository_mb"] = round(last["info"]["repository"]["delta"] / 2**20)
    print(f"bench-backup: full backup in the repository: {figures['backup_repository_mb']} MB (compressed, encrypted)")

    # The heartbeat: what the app saw committed, written from another host.
    sql("CREATE TABLE heartbeat (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())")
    sql("GRANT INSERT, SELECT ON heartbeat TO app; GRANT USAGE ON SEQUENCE heartbeat_id_seq TO app")
    insert = "INSERT INTO heartbeat DEFAULT VALUES RETURNING extract(epoch FROM at)"
    connect = f"PGPASSWORD={PASSWORD} PGCONNECT_TIMEOUT=2 psql -X -At -h {DB} -U app -d app"
    writer = (
        f"rm -f /tmp/heartbeat-stop; end=$((SECONDS + {WRITE_SECONDS + 30})); : > /tmp/heartbeat; "
        "while [ $SECONDS -lt $end ] && [ ! -e /tmp/heartbeat-stop ]; do "
        f"{connect} -c '{insert}' >> /tmp/heartbeat 2>/dev/null; sleep 0.2; done"
    )
    heartbeat = subprocess.Popen(["docker", "exec", CLIENT, "bash", "-c", writer])
    time.sleep(WRITE_SECONDS)
    # Back without its data directory: PostgreSQL must not start on its own at boot.
    sh(DB, f"echo manual > {CONFIG}/start.conf")
    subprocess.run(["docker", "kill", DB], capture_output=True, check=True)
    killed = time.time()
    time.sleep(3)
    sh(CLIENT, "touch /tmp/heartbeat-stop")
    heartbeat.terminate()
    heartbeat.wait(timeout=60)
    committed = [float(line) for line in sh(CLIENT, "cat /tmp/heartbeat").split() if line]
    print(f"bench-backup: {DB} killed after {len(committed)} heartbeats; the last committed at {committed[-1]:.1f}")
    subprocess.run(["docker", "start", DB], capture_output=True, check=True)
    for _ in range(60):
        if sh(DB, "systemctl is-system-running", check=False) in ("running", "degraded"):
            break
        time.sleep(1)
    sh(DB, "rm -rf /var/lib/postgresql/15/main")
    began = time.monotonic()
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            inventory(),
            "-e",
            json.dumps({"restore_host": DB, "restore_force": True}),
            str(ROOT / "playbooks" / "restore.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    figures["restore_playbook_seconds"] = round(time.monotonic() - began, 1)
    sh(DB, f"echo auto > {CONFIG}/start.conf")
    if run.returncode != 0:
        print(run.stdout[-3000:])
        raise SystemExit("bench-backup: the restore failed")
    restored = float(sql("SELECT coalesce(extract(epoch FROM max(at)), 0) FROM heartbeat"))
    figures["heartbeats_committed"] = len(committed)
    figures["heartbeats_restored"] = int(sql("SELECT count(*) FROM heartbeat"))
    figures["recovery_point_seconds"] = round(committed[-1] - restored, 1)
    figures["killed_after_last_commit_seconds"] = round(killed - committed[-1], 1)
    log = sh(DB, "grep -h 'restore command' /var/log/pgbackrest/*restore.log | tail -2", check=False)
    seconds = figures["restore_playbook_seconds"]
    print(f"bench-backup: restore.yml: {seconds} s (app stopped and started, restore, recovery)")
    print(f"bench-backup: pgBackRest's restore log:\n{log}")
    print(
        f"bench-backup: recovery point: {figures['recovery_point_seconds']} s of committed writes lost "
        f"({figures['heartbeats_restored']} of {figures['heartbeats_committed']} heartbeats back)"
    )
    (ROOT / ".cache").mkdir(exist_ok=True)
    (ROOT / ".cache" / "bench-backup.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
