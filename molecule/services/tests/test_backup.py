"""PostgreSQL backups with pgBackRest (role pgbackrest, playbooks/restore.yml), checked on the hosts.

pg-debian12 keeps its repository on host backup-repo (group backup, pgBackRest's TLS protocol with the
collection's certificates at both ends, encrypted with the inventory's passphrase); pg-debian13 keeps
a local one (the single-server layout). Each restore runs the real playbook against molecule's
inventory and compares the restored table's row count and checksum with the expected ones."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import testinfra

# Each database host and the host whose timers take its backups (where its repository is).
REPOSITORY = {"pg-debian12": "backup-repo", "pg-debian13": "pg-debian13"}
PLAYBOOK = Path(__file__).parents[3] / "playbooks" / "restore.yml"
CONVERGE = Path(__file__).parents[1] / "converge.yml"
# The environment's deploy lock and history (deploy_lock_path, deploy_history_path for the app `app`)
# on the first app host, pg-client: restore.yml takes the lock and adds itself to the history.
LOCK = "/var/lib/djangoops/locks/app.json"
HISTORY = "/var/lib/djangoops/locks/app.history.jsonl"

testinfra_hosts = ["backup-repo"]


def docker_host(name):
    return testinfra.get_host(f"docker://{name}")


def sql(db, statement):
    """One statement as postgres in database app; its output (unaligned, tuples only)."""
    return db.check_output("runuser -u postgres -- psql -X -At -d app -v ON_ERROR_STOP=1 -c %s", statement)


def contents(db):
    """(rows, checksum) of the probe table: what a restore must give back exactly."""
    out = sql(db, "SELECT count(*) || ' ' || md5(string_agg(id || ':' || note, ',' ORDER BY id)) FROM backup_probe")
    rows, checksum = out.split()
    return int(rows), checksum


def insert(db, first, last):
    sql(db, f"INSERT INTO backup_probe SELECT i, md5(i::text) FROM generate_series({int(first)}, {int(last)}) i")  # noqa: S608 - two integers


def archive_now(db):
    """Close the current WAL segment and wait until the repository holds it (pgbackrest check)."""
    stanza = db.backend.name
    db.check_output(f"runuser -u postgres -- pgbackrest --stanza={stanza} check")


def playbook(path, tmp_path, extra_vars, limit=None):
    """ansible-playbook against molecule's inventory; the finished process."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory:
        pytest.skip("needs molecule's inventory (run by molecule verify)")
    extra = tmp_path / f"{Path(path).stem}.json"
    extra.write_text(json.dumps(extra_vars))
    argv = ["ansible-playbook", f"--inventory={os.path.dirname(inventory)}", f"--extra-vars=@{extra}", str(path)]
    if limit:
        argv.append(f"--limit={limit}")
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def restore(db, tmp_path, **target):
    """playbooks/restore.yml for this host, over its running database; the playbook's output."""
    began = time.monotonic()
    run = playbook(PLAYBOOK, tmp_path, {"restore_host": db.backend.name, "restore_force": True, **target})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    print(f"{db.backend.name}: restore {target or 'latest'} took {time.monotonic() - began:.1f} s (playbook)")
    lock_host = docker_host("pg-client")
    assert not lock_host.file(LOCK).exists, "restore.yml left the deploy lock held"
    last = json.loads(lock_host.check_output(f"tail -n 1 {HISTORY}"))
    assert (last["action"], last["result"]) == ("restore", "ok"), last
    return run.stdout


@pytest.mark.parametrize("server", REPOSITORY)
def test_the_wal_is_archived_and_pgbackrest_check_passes(server):
    db = docker_host(server)
    assert sql(db, "SHOW archive_mode") == "on"
    assert sql(db, "SHOW archive_command") == f"pgbackrest --stanza={server} archive-push %p"
    assert sql(db, "SHOW archive_timeout") == "1min"
    archive_now(db)
    # The last segment handed to pgBackRest reached the repository (no failure since).
    archiver = "SELECT last_archived_wal IS NOT NULL AND coalesce(last_failed_time < last_archived_time, true)"
    assert sql(db, f"{archiver} FROM pg_stat_archiver") == "t"


def test_the_repository_is_on_the_backup_host_encrypted_and_reached_over_tls_only():
    backup, db = docker_host("backup-repo"), docker_host("pg-debian12")
    info = json.loads(backup.check_output("runuser -u pgbackrest -- pgbackrest --output=json info"))
    assert [(stanza["name"], stanza["cipher"]) for stanza in info] == [("pg-debian12", "aes-256-cbc")]
    assert not db.file("/var/lib/pgbackrest/archive").exists
    config = backup.file("/etc/pgbackrest/pgbackrest.conf")
    assert (config.user, config.group, config.mode) == ("root", "pgbackrest", 0o640)
    # Its TLS server listens on the private address only. It serves pg-debian12's certificate for
    # pg-debian12's stanza only, and no certificate of another CA at all.
    address = backup.check_output("hostname -I").split()[0]
    assert backup.socket(f"tcp://{address}:8432").is_listening
    assert not backup.socket("tcp://127.0.0.1:8432").is_listening
    other_stanza = db.check_output("runuser -u postgres -- pgbackrest --stanza=other --log-level-file=off info")
    assert "access denied" in other_stanza
    stranger = db.check_output(
        "cd /tmp && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=pg-debian12"
        " -keyout stranger.key -out stranger.crt 2>/dev/null && chown postgres stranger.key && "
        "runuser -u postgres -- pgbackrest --stanza=pg-debian12 --repo1-host-cert-file=/tmp/stranger.crt"
        " --repo1-host-key-file=/tmp/stranger.key --log-level-file=off info; rm -f /tmp/stranger.*"
    )
    assert "unknown ca" in stranger


def test_the_local_repository_keeps_pg_debian13s_backups():
    db = docker_host("pg-debian13")
    info = json.loads(db.check_output("runuser -u postgres -- pgbackrest --output=json info"))
    assert [stanza["name"] for stanza in info] == ["pg-debian13"]
    assert db.file("/var/lib/pgbackrest/archive/pg-debian13").is_directory


def test_a_restore_is_refused_while_a_deploy_holds_the_lock(tmp_path):
    """The environment's deploy lock (on the first app host here, pg-client), taken by the module a
    deploy takes it with: restore.yml refuses before any host changes, naming the holder."""
    db = docker_host("pg-debian12")
    lock_path = LOCK
    lock = tmp_path / "lock.yml"
    lock.write_text(
        json.dumps(
            [
                {
                    "name": "A deploy's lock",
                    "hosts": "pg-client",
                    "become": True,
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Take or release the lock",
                            "djangoops.stack.deploy_lock": {
                                "path": lock_path,
                                "token": "services-test-token",
                                "holder": {"user": "tester", "controller": "elsewhere", "version": "9.9.9", "pid": 1},
                                "state": "{{ lock_state }}",
                            },
                        }
                    ],
                }
            ]
        )
    )
    started = db.check_output("systemctl show -P ActiveEnterTimestampMonotonic postgresql@15-main.service")
    held = playbook(lock, tmp_path, {"lock_state": "acquired"})
    assert held.returncode == 0, held.stdout[-3000:]
    try:
        refused = playbook(PLAYBOOK, tmp_path, {"restore_host": "pg-debian12", "restore_force": True})
    finally:
        released = playbook(lock, tmp_path, {"lock_state": "released"})
    assert released.returncode == 0, released.stdout[-3000:]
    text = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert f"restore.yml refuses to run: the deploy lock {lock_path} on pg-client" in text, text[-2000:]
    assert "held by tester@elsewhere (version 9.9.9, pid 1)" in text, text[-3000:]
    assert "Restore | stop the app" not in refused.stdout, "restore.yml went on past the refusal"
    assert "TASK [djangoops.stack.pgbackrest" not in refused.stdout, "restore.yml went on past the refusal"
    assert db.check_output("systemctl show -P ActiveEnterTimestampMonotonic postgresql@15-main.service") == started


@pytest.mark.parametrize("server", REPOSITORY)
def test_the_backup_timers_are_scheduled(server):
    runner = docker_host(REPOSITORY[server])
    for kind in ("full", "diff"):
        timer = runner.service(f"djangoops-pgbackrest-{server}-{kind}.timer")
        assert timer.is_enabled
        assert timer.is_running


@pytest.mark.parametrize("server", REPOSITORY)
def test_restores_give_back_exactly_the_rows_of_the_point_asked(server, tmp_path):
    """A full backup by its timer's unit; rows written after it; then (1) a dropped table restored to a
    time before the drop; on pg-debian12 (2) a named restore point; (3) on pg-debian13 the data
    directory removed with the server stopped, on pg-debian12 a fresh host's cluster in its place
    (made again as Debian's package makes it, then provisioned: the role refuses to archive it into
    the stanza, saying how to restore), each restored to the latest archived point."""
    db, runner = docker_host(server), docker_host(REPOSITORY[server])
    sql(db, "DROP TABLE IF EXISTS backup_probe; CREATE TABLE backup_probe (id int PRIMARY KEY, note text)")
    sql(db, "ALTER TABLE backup_probe OWNER TO app")
    insert(db, 1, 1000)
    runner.check_output(f"systemctl start djangoops-pgbackrest-{server}-full.service")
    insert(db, 1001, 1500)
    expected_before_drop = contents(db)
    moment = sql(db, "SELECT now()")
    time.sleep(1)
    sql(db, "DROP TABLE backup_probe")
    archive_now(db)

    restore(db, tmp_path, restore_time=moment)
    assert contents(db) == expected_before_drop

    insert(db, 1501, 2000)
    if server == "pg-debian12":
        sql(db, "SELECT pg_create_restore_point('before-cleanup')")
        expected_at_point = contents(db)
        sql(db, "DELETE FROM backup_probe WHERE id <= 1000")
        archive_now(db)
        restore(db, tmp_path, restore_point="before-cleanup")
        assert contents(db) == expected_at_point
        insert(db, 2001, 2100)

    expected_latest = contents(db)
    archive_now(db)
    data = sql(db, "SHOW data_directory")
    version, cluster = data.split("/")[-2:]
    if server == "pg-debian12":
        db.check_output(f"pg_dropcluster --stop {version} {cluster} && pg_createcluster --start {version} {cluster}")
        provision = playbook(CONVERGE, tmp_path, {}, limit=f"{server},{REPOSITORY[server]}")
        said = " ".join((provision.stdout + provision.stderr).split())
        assert provision.returncode != 0, said[-3000:]
        assert f"The PostgreSQL cluster on {server} (system identifier" in said, said[-3000:]
        assert f"is not the one stanza {server} backs up" in said
        assert f"run playbooks/restore.yml -e restore_host={server} -e restore_force=true" in said
    else:
        db.check_output(f"systemctl stop postgresql@{version}-{cluster} && rm -rf {data}")
    output = restore(db, tmp_path)
    assert contents(db) == expected_latest
    # The stanza takes this host's WAL again: the restored cluster is the one it backs up.
    archive_now(db)
    assert f"Restored {server} (stanza {server}) from backup" in output
