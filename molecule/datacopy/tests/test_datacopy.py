"""playbooks/copy-data.yml and playbooks/maintenance.yml against the datacopy scenario's hosts.

MariaDB on datacopy-mariadb holds the legacy database (files/make_legacy_sql.py); the example app runs
on datacopy-app behind datacopy-lb, its PostgreSQL/PostGIS database on datacopy-db. Requests go to the
ports the containers publish on 127.0.0.1; the playbooks run with the inventory molecule wrote.
The tests are one story, in order (pytest -x)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(PROJECT))

from tests.ansible_env import ansible_env  # noqa: E402

LB_PORT = 18580
DB = "datacopy-db"
SOURCE = "datacopy-mariadb"
LB = "datacopy-lb"
PASSWORD = 'molecule "legacy" p@ss:w/rd'  # noqa: S105 - molecule.yml's throwaway test password
TABLES = ("airports_airport", "airports_distance")
LOGS = PROJECT / ".cache" / "logs"
_runs = iter(range(1, 1000))


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True).stdout


def psql(sql: str) -> str:
    return docker("exec", DB, "runuser", "-u", "postgres", "--", "psql", "-d", "app", "-AtXc", sql).strip()


def mariadb(sql: str) -> str:
    return docker("exec", SOURCE, "mariadb", "--skip-column-names", "--batch", "--raw", "legacy", "-e", sql).strip()


def source_url(host: str = SOURCE) -> str:
    from urllib.parse import quote

    return f"mysql://legacy:{quote(PASSWORD, safe='')}@{host}:3306/legacy"


def playbook(name: str, *options: str, **extra_vars) -> tuple[int, str]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"datacopy-{next(_runs):02d}-{Path(name).stem}.log"
    inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        str(inventory),
        str(PROJECT / "playbooks" / name),
        *options,
        "-e",
        json.dumps(extra_vars),
    ]
    with log.open("w") as handle:
        done = subprocess.run(
            command, stdout=handle, stderr=subprocess.STDOUT, env=ansible_env(), cwd=PROJECT, check=False
        )
    return done.returncode, log.read_text()


def get(path: str) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", LB_PORT, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "localhost"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def lock_free() -> bool:
    """No deploy lock held on the lb (deploy_lock_host) for the example app."""
    return (
        subprocess.run(
            ["docker", "exec", LB, "test", "-e", "/var/lib/djangoops/locks/example.json"], check=False
        ).returncode
        != 0
    )


class Prober(threading.Thread):
    """GET / and /healthz through the lb every 0.2 s until stopped (at most 600 s): the statuses seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.seen = {"/": [], "/healthz": []}
        self.retry_after = set()

    def run(self):
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            for path in self.seen:
                try:
                    status, headers, _ = get(path)
                except OSError:
                    status, headers = 0, {}
                self.seen[path].append(status)
                if "retry-after" in headers:
                    self.retry_after.add(headers["retry-after"])
            self.stop.wait(0.2)


def test_the_app_serves_from_an_empty_database():
    assert get("/healthz")[0] == 200
    assert get("/")[0] == 200
    for table in TABLES:
        assert psql(f"SELECT count(*) FROM {table}") == "0", table  # noqa: S608 - a constant
    assert int(mariadb("SELECT count(*) FROM airports_distance")) > 5000


def test_bad_input_is_refused_before_anything_changes():
    # No source named: the error names the variable.
    rc, output = playbook("copy-data.yml")
    assert rc != 0
    assert "copy_data_source must name the source database" in output
    # A source that cannot be reached: named, nothing changed, the site never left service.
    rc, output = playbook("copy-data.yml", copy_data_source=source_url("datacopy-nosuchhost"))
    assert rc != 0
    assert "cannot reach the source" in output
    assert "mysql://legacy@datacopy-nosuchhost:3306/legacy" in output
    assert "p@ss" not in output
    assert "legacy%22" not in output, "the source's password reached Ansible's output"
    assert get("/")[0] == 200
    assert lock_free()
    # A target that already holds rows: refused, the rows listed and kept.
    psql("INSERT INTO airports_airport (iata, name, location) VALUES ('ZZZ', 'kept', 'SRID=4326;POINT(1 2)')")
    rc, output = playbook("copy-data.yml", copy_data_source=source_url())
    assert rc != 0
    assert "already holds rows in airports_airport (1 rows)" in output, output[-3000:]
    assert psql("SELECT name FROM airports_airport") == "kept"
    assert get("/")[0] == 200
    assert lock_free(), "a refused copy left the deploy lock held"


def test_check_mode_reports_the_copy_and_changes_nothing():
    rc, output = playbook("copy-data.yml", "--check", copy_data_source=source_url(), copy_data_truncate=True)
    assert rc == 0, output[-3000:]
    distances = int(mariadb("SELECT count(*) FROM airports_distance"))
    airports = int(mariadb("SELECT count(*) FROM airports_airport"))
    assert f"would copy {distances + airports} rows of 2 tables" in output
    assert "source tables no model knows: legacy_audit" in output
    assert psql("SELECT count(*) FROM airports_distance") == "0"
    assert psql("SELECT name FROM airports_airport") == "kept"


def test_the_copy_under_maintenance_mode_then_the_seed_duplicate_key():
    prober = Prober()
    prober.start()
    began = time.monotonic()
    rc, output = playbook(
        "copy-data.yml",
        copy_data_source=source_url(),
        copy_data_truncate=True,
        copy_data_unknown_tables=True,
        copy_data_reset_sequences=False,
    )
    seconds = time.monotonic() - began
    time.sleep(1)
    prober.stop.set()
    prober.join()
    assert rc == 0, output[-4000:]
    summary = re.search(r"copied \d+ rows of \d+ tables[^\"]*", output).group(0)
    print(f"\ncopy-data.yml: {seconds:.1f} s; {summary}")
    # The site answered 503 with Retry-After during the copy, the health path stayed open, and it serves again.
    assert 503 in prober.seen["/"]
    assert prober.seen["/"][-1] == 200, prober.seen["/"]
    assert set(prober.seen["/healthz"]) == {200}, prober.seen["/healthz"]
    assert prober.retry_after == {"600"}
    status, headers, _ = get("/")
    assert status == 200
    assert "retry-after" not in headers
    assert lock_free()
    # Every row, as the source has it.
    for table in (*TABLES, "legacy_audit"):
        assert psql(f"SELECT count(*) FROM {table}") == mariadb(f"SELECT count(*) FROM {table}"), table  # noqa: S608
    assert psql("SELECT count(*) FROM airports_airport WHERE name = 'kept'") == "0"
    assert psql("SELECT km, requested_at, computed_at FROM airports_distance WHERE id = 111111") == (
        "42.5|2024-12-31 23:59:59.999999+00|2025-01-01 00:00:00.000001+00"
    )
    zero_dates = mariadb("SELECT count(*) FROM airports_distance WHERE computed_at = '0000-00-00 00:00:00'")
    assert int(zero_dates) > 0
    assert psql("SELECT count(*) FROM airports_distance WHERE computed_at IS NULL") == mariadb(
        "SELECT count(*) FROM airports_distance WHERE computed_at IS NULL OR computed_at = '0000-00-00 00:00:00'"
    )
    source_points = mariadb("SELECT id, iata, name, ST_X(location), ST_Y(location) FROM airports_airport ORDER BY id")
    copied_points = psql(
        "SELECT id, iata, name, ST_X(location::geometry), ST_Y(location::geometry) FROM airports_airport ORDER BY id"
    )
    normalise = lambda text: [  # noqa: E731
        (row[0], row[1], row[2], round(float(row[3]), 6), round(float(row[4]), 6))
        for row in (line.split("\t" if "\t" in line else "|") for line in text.splitlines())
    ]
    assert normalise(copied_points) == normalise(source_points)
    assert (
        psql(
            "SELECT data_type FROM information_schema.columns"
            " WHERE table_name = 'legacy_audit' AND column_name = 'reviewed'"
        )
        == "boolean"
    )
    # The seed's error: rows copied with their ids, the sequence where it was.
    insert = "INSERT INTO airports_airport (iata, name, location) VALUES ('QQQ', 'new', 'SRID=4326;POINT(3 4)')"
    failed = subprocess.run(
        ["docker", "exec", DB, "runuser", "-u", "postgres", "--", "psql", "-d", "app", "-AtXc", insert],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode != 0
    assert "duplicate key value violates unique constraint" in failed.stderr
    # The sequence gave 1 to the row the refusal test inserted: the next id it gives is a copied one.
    assert re.search(r"Key \(id\)=\(\d+\) already exists", failed.stderr), failed.stderr
    rc, output = playbook("sequences.yml", "--check")
    assert rc == 0
    assert "public.airports_airport_id_seq" in output
    assert "public.airports_distance_id_seq" in output
    rc, output = playbook("sequences.yml")
    assert rc == 0, output[-3000:]
    psql(insert)
    assert int(psql("SELECT id FROM airports_airport WHERE iata = 'QQQ'")) > int(
        mariadb("SELECT max(id) FROM airports_airport")
    )


def test_a_postgresql_source():
    # Another PostgreSQL database (legacy_pg, its own user, over verified TLS) holding the rows just
    # copied, one of them changed since: copied over the app's rows (truncate), nothing else listed.
    dump = "pg_dump --no-owner -t airports_airport -t airports_distance app | psql -q -d legacy_pg"
    docker("exec", DB, "runuser", "-u", "postgres", "--", "bash", "-c", dump)
    grant = (
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO legacy_pg;"
        " UPDATE airports_airport SET name = 'from PostgreSQL' WHERE id = 1"
    )
    docker("exec", DB, "runuser", "-u", "postgres", "--", "psql", "-q", "-d", "legacy_pg", "-c", grant)
    from urllib.parse import quote

    source = (
        f"postgresql://legacy_pg:{quote(PASSWORD, safe='')}@datacopy-db:5432/legacy_pg"
        "?sslmode=verify-full&sslrootcert=/etc/djangoops/ca.crt"
    )
    rc, output = playbook("copy-data.yml", copy_data_source=source, copy_data_truncate=True)
    assert rc == 0, output[-4000:]
    summary = re.search(
        r"copied \d+ rows of 2 tables from postgresql://legacy_pg@datacopy-db:5432/legacy_pg[^\"]*", output
    )
    assert summary, output[-3000:]
    print(f"\n{summary.group(0)}")
    assert "no model knows" not in summary.group(0)
    assert psql("SELECT name FROM airports_airport WHERE id = 1") == "from PostgreSQL"
    for table in TABLES:
        source_count = docker(
            "exec",
            DB,
            "runuser",
            "-u",
            "postgres",
            "--",
            "psql",
            "-d",
            "legacy_pg",
            "-AtXc",
            f"SELECT count(*) FROM {table}",  # noqa: S608 - a constant
        ).strip()
        assert psql(f"SELECT count(*) FROM {table}") == source_count, table  # noqa: S608
    assert get("/")[0] == 200
    assert lock_free()


def test_maintenance_mode_on_its_own():
    rc, output = playbook("maintenance.yml", state="on")
    assert rc == 0, output[-3000:]
    status, headers, body = get("/")
    assert status == 503
    assert headers.get("retry-after") == "600"
    assert b"<html" in body.lower()
    assert get("/healthz")[0] == 200
    # From the lb itself (an allowed address) the site answers.
    probe = (
        "import http.client; c = http.client.HTTPConnection('127.0.0.1', 80, timeout=10);"
        " c.request('GET', '/', headers={'Host': 'localhost'}); print(c.getresponse().status)"
    )
    assert docker("exec", LB, "python3", "-c", probe).strip() == "200"
    rc, output = playbook("maintenance.yml", state="on")
    assert rc == 0
    assert re.search(r"datacopy-lb\s*:.*changed=0", output), output[-2000:]
    rc, output = playbook("maintenance.yml", state="sideways")
    assert rc != 0
    assert "state" in output
    rc, output = playbook("maintenance.yml", state="off")
    assert rc == 0
    status, headers, _ = get("/")
    assert status == 200
    assert "retry-after" not in headers
