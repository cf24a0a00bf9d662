#!/usr/bin/env python3
"""The data copy benchmark (`make bench-datacopy`): pgloader as django_copy runs it, against the seed's
dumpdata + loaddata, on the same generated MariaDB database.

The founding notes' data move: a 500 MB MySQL database (about 7 million rows) moved to PostgreSQL
with `manage.py dumpdata` then `manage.py loaddata` took a whole morning on a 16 GB server full of
memory and swap. This benchmark measures both ways on one Debian 12 host (a container of the test
bed's image, `benchdc-host`, no published port; everything runs inside it with `docker exec`):

1. The source: Debian 12's MariaDB 10.11, the example app's tables made by its own migrations through
   Django's MySQL GIS backend (PyMySQL standing in for mysqlclient, which would need compiling), filled
   in SQL (MariaDB's sequence engine, INSERT ... SELECT): BENCH_AIRPORTS airports (a POINT with SRID
   4326 each) and BENCH_ROWS distances (two foreign keys to airports, a float, two datetime(6)).
   BENCH_ROWS defaults to 1,000,000 and BENCH_AIRPORTS to BENCH_ROWS / 50 (at least 1,000, at most
   20,000).
2. Two empty PostGIS databases (PostgreSQL 15, PostGIS 3.3, Debian's packages), each with the tables of
   the example app's migrations (`manage.py migrate`).
3. pgloader (Debian's 3.6.9) into the first, with the load files django_copy writes (its own
   `load_file()`, imported from plugins/modules/django_copy.py, and the geometry cast its
   `Plan.geometry_rules()` writes for Airport.location): one run per foreign key level, airports then
   distances, data only, into the migrated tables.
4. The seed's method into the second: `manage.py dumpdata airports --output X.json` from MariaDB, then
   `manage.py loaddata X.json` into PostGIS.
5. Row counts, and django_copy's checksums (`checksum_sql()`: ids, foreign keys, codes and names), of
   each target against the source.

Each command runs under `/usr/bin/time -v`: its wall seconds and its maximum resident set size (the
process itself; the database servers' memory is not in either figure). It prints a table of the
figures and whether the issue's goal is met (pgloader at least 20 times faster, with at most a tenth
of the memory): a benchmark, not a test, it asserts nothing about the figures; it exits 1 only when a
copy's rows differ from the source's (figures of a wrong copy mean nothing). JSON in
.cache/bench-datacopy/bench-datacopy.json, commands' output in .cache/bench-datacopy/logs.

BENCH_REUSE=1 keeps a running benchdc-host and its source data when they hold BENCH_ROWS distances
(the targets are always made afresh). scripts/bench-datacopy removes the host at the end unless
BENCH_KEEP=1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.djangoops.stack.plugins.modules.django_copy import checksum_sql, load_file  # noqa: E402

HOST = "benchdc-host"
IMAGE = "djangoops/platform:debian12"
WORK = ROOT / ".cache" / "bench-datacopy"
LOGS = WORK / "logs"
APT_CACHE = Path(os.environ.get("DJANGOOPS_APT_CACHE") or Path.home() / ".cache" / "djangoops" / "apt") / "debian12"
REUSE = os.environ.get("BENCH_REUSE", "0") == "1"
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
# The codes are 3 characters of [0-9A-Z] (Airport.iata is unique): at most 36**3 airports.
AIRPORTS = min(int(os.environ.get("BENCH_AIRPORTS") or max(1000, min(20000, ROWS // 50))), 36**3)
CHUNK = 250_000

# In the container.
BASE = "/opt/benchdc"
VENV = f"{BASE}/venv"
DUMP = f"{BASE}/airports.json"
SOURCE_DB = "dcsource"
TARGETS = {"pgloader": "dc_pgloader", "django": "dc_django"}
USER = "bench"
# A throwaway password of a throwaway container, reachable from nowhere but itself.
PASSWORD = "benchdc-throwaway"  # noqa: S105

PACKAGES = [
    "mariadb-server",
    "postgresql-15",
    "postgresql-15-postgis-3",
    "pgloader",
    "python3-venv",
    "gdal-bin",
    "time",
]
# Pins from the example app's requirements; PyMySQL stands in for mysqlclient (a C extension).
WHEEL_NAMES = ("Django", "psycopg", "psycopg-binary", "asgiref", "sqlparse", "typing-extensions")
PYMYSQL = "PyMySQL==1.2.4"

# Foreign key order (django_copy's Plan.levels(): a table after the tables it references).
LEVELS = [["airports_airport"], ["airports_distance"]]
# django_copy's Plan.geometry_rules() for Airport.location (PointField(geography=True, srid=4326)).
GEOMETRY_RULES = {
    "airports_airport": [
        "column airports_airport.location to geography drop typemod"
        ' using (lambda (wkt) (when wkt (format nil "SRID=4326;~a" wkt)))'
    ],
    "airports_distance": [],
}
# django_copy's checksum columns (Plan.checksum_columns()): the integer and text columns.
CHECKSUM_COLUMNS = {
    "airports_airport": [("id", "bigint"), ("iata", "varchar"), ("name", "varchar")],
    "airports_distance": [("id", "bigint"), ("origin_id", "bigint"), ("destination_id", "bigint")],
}

# The values the checksums leave out, as integers: (name, MariaDB's sum, PostgreSQL's sum, table).
VALUES = [
    (
        "location x",
        "SUM(CAST(ROUND(ST_X(location) * 10000) AS SIGNED))",
        "sum(round(ST_X(location::geometry) * 10000))",
        "airports_airport",
    ),
    (
        "location y",
        "SUM(CAST(ROUND(ST_Y(location) * 10000) AS SIGNED))",
        "sum(round(ST_Y(location::geometry) * 10000))",
        "airports_airport",
    ),
    (
        "location SRID 4326",
        "SUM(ST_SRID(location) = 4326)",
        "count(*) FILTER (WHERE ST_SRID(location::geometry) = 4326)",
        "airports_airport",
    ),
    ("km", "SUM(CAST(ROUND(km * 100) AS SIGNED))", "sum(round(km * 100))", "airports_distance"),
    ("km not null", "COUNT(km)", "count(km)", "airports_distance"),
    (
        "requested_at seconds",
        "SUM(FLOOR(UNIX_TIMESTAMP(requested_at)))",
        "sum(floor(extract(epoch FROM requested_at)))",
        "airports_distance",
    ),
    (
        "requested_at microseconds",
        "SUM(MICROSECOND(requested_at))",
        "sum(extract(microseconds FROM requested_at)::bigint % 1000000)",
        "airports_distance",
    ),
    (
        "computed_at seconds",
        "SUM(FLOOR(UNIX_TIMESTAMP(computed_at)))",
        "sum(floor(extract(epoch FROM computed_at)))",
        "airports_distance",
    ),
    ("computed_at not null", "COUNT(computed_at)", "count(computed_at)", "airports_distance"),
]

SETTINGS = f'''"""bench-datacopy: the example app's models on one database, BENCHDC_DB (source, pgloader, django)."""

import os

import pymysql

# Django's MySQL backend wants mysqlclient 2.2.1 or newer; PyMySQL (pure Python) stands in for it.
pymysql.version_info = (2, 2, 1, "final", 0)
pymysql.install_as_MySQLdb()

SECRET_KEY = "bench-datacopy"
DEBUG = False
INSTALLED_APPS = ["django.contrib.gis", "airports"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
_COMMON = {{"USER": "{USER}", "PASSWORD": "{PASSWORD}", "HOST": "127.0.0.1"}}
_DATABASES = {{
    "source": {{
        "ENGINE": "django.contrib.gis.db.backends.mysql",
        "NAME": "{SOURCE_DB}",
        "PORT": "3306",
        "OPTIONS": {{"charset": "utf8mb4"}},
    }},
    "pgloader": {{"ENGINE": "django.contrib.gis.db.backends.postgis", "NAME": "{TARGETS["pgloader"]}", "PORT": "5432"}},
    "django": {{"ENGINE": "django.contrib.gis.db.backends.postgis", "NAME": "{TARGETS["django"]}", "PORT": "5432"}},
}}
DATABASES = {{"default": {{**_COMMON, **_DATABASES[os.environ["BENCHDC_DB"]]}}}}
'''

MARIADB_CONF = """[mysqld]
# A server with memory to spare (the founding notes' had 16 GB).
innodb_buffer_pool_size = 1G
innodb_log_file_size = 256M
"""

LOADS: list[tuple[float, float, float]] = []


def say(text: str) -> None:
    print(f"bench-datacopy: {text}", flush=True)


def load_average() -> tuple[float, float, float]:
    loads = tuple(round(value, 2) for value in os.getloadavg())
    LOADS.append(loads)
    return loads


def docker(*args: str, timeout: float = 300, check: bool = True, stdin: str | None = None) -> str:
    done = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} ...: exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def sh(
    command: str, timeout: float = 600, check: bool = True, env: dict | None = None, stdin: str | None = None
) -> str:
    """A bash command in the host container; its stdout."""
    options = ["-i"] if stdin is not None else []
    for key, value in (env or {}).items():
        options += ["-e", f"{key}={value}"]
    return docker(
        "exec", *options, HOST, "bash", "-eo", "pipefail", "-c", command, timeout=timeout, check=check, stdin=stdin
    )


def mariadb(statement: str, database: str = SOURCE_DB, timeout: float = 3600) -> list[list[str]]:
    out = sh(f"mariadb --batch --skip-column-names {database}", timeout=timeout, stdin=statement)
    return [line.split("\t") for line in out.splitlines()]


def psql(database: str, statement: str, timeout: float = 3600) -> list[list[str]]:
    out = sh(
        f"runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -F '\t' -d {database}", timeout, stdin=statement
    )
    return [line.split("\t") for line in out.splitlines()]


def write(path: str, text: str) -> None:
    sh(f"cat > {path}", stdin=text)


# The host container ------------------------------------------------------------------------------------


def host_running() -> bool:
    state = docker("inspect", "-f", "{{.State.Running}}", HOST, check=False).strip()
    return state == "true"


def start_host() -> None:
    docker("rm", "-f", HOST, check=False)
    say(f"starting {HOST} ({IMAGE}, systemd, no published port)")
    docker(
        "run", "-d", "--name", HOST, "--hostname", HOST, "--label", "owner=bench-datacopy",
        "--cap-add", "SYS_ADMIN", "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",  # noqa: S108 - the container's
        "--stop-signal", "SIGRTMIN+3",
        IMAGE, "/lib/systemd/systemd",
    )  # fmt: skip
    deadline = time.monotonic() + 180
    state = ""
    while state not in ("running", "degraded") and time.monotonic() < deadline:  # bounded: 180 s
        state = sh("systemctl is-system-running --wait 2>&1 || true", timeout=180).strip()
        if state not in ("running", "degraded"):
            time.sleep(1)
    if state not in ("running", "degraded"):
        raise RuntimeError(f"{HOST}: systemd did not boot ({state})")
    if APT_CACHE.is_dir() and any(APT_CACHE.glob("*.deb")):
        # The Debian packages earlier scenarios downloaded on this machine (molecule/shared/create.yml).
        docker("cp", f"{APT_CACHE}/.", f"{HOST}:/var/cache/apt/archives/", timeout=600)
    say(f"installing {', '.join(PACKAGES)} (Debian 12) ...")
    sh(
        "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q"
        f" --no-install-recommends {' '.join(PACKAGES)} >/dev/null",
        timeout=1800,
    )
    write("/etc/mysql/mariadb.conf.d/60-benchdc.cnf", MARIADB_CONF)
    sh("systemctl restart mariadb && systemctl is-active mariadb postgresql@15-main", timeout=300)
    mariadb(
        f"CREATE OR REPLACE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';"
        f"CREATE DATABASE IF NOT EXISTS {SOURCE_DB} CHARACTER SET utf8mb4;"
        f"GRANT ALL ON {SOURCE_DB}.* TO '{USER}'@'127.0.0.1';",
        database="mysql",
    )
    psql("postgres", f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
    install_django()


def install_django() -> None:
    """A venv with the example app's Django and psycopg and PyMySQL, from wheels downloaded here."""
    pins = {}
    for line in (ROOT / "example" / "requirements.txt").read_text().splitlines():
        name = re.split(r"[\[=]", line.strip(), maxsplit=1)[0]
        if "==" in line and name.lower() in {n.lower() for n in WHEEL_NAMES}:
            pins[name] = line.split("#")[0].strip()
    wheels = WORK / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--only-binary=:all:",
         "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "--implementation", "cp",
         "-d", str(wheels), *pins.values(), PYMYSQL],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    sh(f"rm -rf {BASE} && mkdir -p {BASE}/wheels")
    docker("cp", f"{wheels}/.", f"{HOST}:{BASE}/wheels/")
    docker("cp", str(ROOT / "example"), f"{HOST}:{BASE}/example")
    write(f"{BASE}/benchdc_settings.py", SETTINGS)
    requirements = " ".join(f"'{pin}'" for pin in [*pins.values(), PYMYSQL])
    sh(
        f"python3 -m venv {VENV} && {VENV}/bin/pip install -q --disable-pip-version-check --no-index"
        f" --find-links {BASE}/wheels {requirements}",
        timeout=600,
    )


def manage(database: str, *args: str, timeout: float = 600) -> str:
    env = {"DJANGO_SETTINGS_MODULE": "benchdc_settings", "BENCHDC_DB": database, "PYTHONPATH": f"{BASE}:{BASE}/example"}
    return sh(f"{VENV}/bin/python {BASE}/example/manage.py {' '.join(args)} 2>&1", env=env, timeout=timeout)


# The source ------------------------------------------------------------------------------------------


def source_counts() -> dict[str, int]:
    rows = mariadb(
        "SELECT (SELECT COUNT(*) FROM airports_airport), (SELECT COUNT(*) FROM airports_distance)", timeout=600
    )
    return {"airports_airport": int(rows[0][0]), "airports_distance": int(rows[0][1])}


def make_source() -> None:
    """The example app's tables by its migrations on MariaDB, filled in SQL (no row goes through Python)."""
    mariadb(f"DROP DATABASE IF EXISTS {SOURCE_DB}; CREATE DATABASE {SOURCE_DB} CHARACTER SET utf8mb4;", "mysql")
    manage("source", "migrate", "--no-input", "-v", "0")
    began = time.monotonic()
    a = AIRPORTS
    mariadb(
        "INSERT INTO airports_airport (id, iata, name, location)"  # noqa: S608 - numbers
        " SELECT seq, LPAD(CONV(seq - 1, 10, 36), 3, '0'), CONCAT('Airport ', seq),"
        "  ST_PointFromText(CONCAT('POINT(', ((seq * 7919) % 36000) / 100 - 180, ' ',"
        "   ((seq * 104729) % 17000) / 100 - 85, ')'), 4326)"
        f" FROM seq_1_to_{a}"
    )
    start = 1
    for _ in range(ROWS // CHUNK + 2):  # bounded: one INSERT per chunk of CHUNK rows
        if start > ROWS:
            break
        end = min(start + CHUNK - 1, ROWS)
        # Every tenth distance not computed yet (km and computed_at NULL), as the API leaves them.
        mariadb(
            "INSERT INTO airports_distance (id, origin_id, destination_id, km, requested_at, computed_at)"  # noqa: S608
            f" SELECT seq, 1 + (seq * 7) % {a}, 1 + (seq * 13 + 5) % {a},"
            "  IF(seq % 10 = 0, NULL, ((seq * 7907) % 2000000) / 100),"
            "  TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL (seq * 37) % 1000000 MICROSECOND,"
            "  IF(seq % 10 = 0, NULL, TIMESTAMP('2024-01-01') + INTERVAL seq + 3 SECOND)"
            f" FROM seq_{start}_to_{end}"
        )
        start = end + 1
    mariadb("ANALYZE TABLE airports_airport, airports_distance")
    say(f"source filled in {time.monotonic() - began:.1f} s")


def source_megabytes() -> float:
    rows = mariadb(
        "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = DATABASE()"
    )
    return round(int(rows[0][0]) / 2**20, 1)


# The targets -----------------------------------------------------------------------------------------


def make_target(label: str) -> None:
    """An empty PostGIS database with the tables of the example app's migrations."""
    name = TARGETS[label]
    psql("postgres", f"DROP DATABASE IF EXISTS {name}")
    psql("postgres", f"CREATE DATABASE {name} OWNER {USER}")
    psql(name, "CREATE EXTENSION postgis")
    manage(label, "migrate", "--no-input", "-v", "0")


def target_counts(name: str) -> dict[str, int]:
    return {table: int(psql(name, f"SELECT COUNT(*) FROM {table}")[0][0]) for table in CHECKSUM_COLUMNS}  # noqa: S608


def checksums() -> dict[str, dict[str, list[int]]]:
    """django_copy's count and checksum per table, on the source and on each target."""
    found: dict[str, dict[str, list[int]]] = {"source": {}, **{label: {} for label in TARGETS}}
    for table, columns in CHECKSUM_COLUMNS.items():
        found["source"][table] = [int(v) for v in mariadb(checksum_sql(table, columns, mysql=True))[0]]
        for label, name in TARGETS.items():
            found[label][table] = [int(v) for v in psql(name, checksum_sql(table, columns, mysql=False))[0]]
    return found


def values() -> dict[str, dict[str, int]]:
    """What the checksums leave out (geometries, floats, datetimes), summed as integers on each side."""

    def number(text: str) -> int:
        return int(Decimal(text)) if text not in ("", "NULL") else 0

    found = {"source": {}, **{label: {} for label in TARGETS}}
    for name, mysql_sql, pg_sql, table in VALUES:
        query = f"SELECT {mysql_sql} FROM {table}"  # noqa: S608 - constants
        found["source"][name] = number(mariadb(f"SET time_zone = '+00:00'; {query}")[0][0])
        for label, database in TARGETS.items():
            found[label][name] = number(psql(database, f"SELECT {pg_sql} FROM {table}")[0][0])  # noqa: S608
    return found


# Measured commands -------------------------------------------------------------------------------------


def timed(label: str, command: str, env: dict | None = None, timeout: float = 4 * 3600) -> dict:
    """A command in the container under /usr/bin/time -v: wall and CPU seconds, max RSS; its output logged."""
    report = f"{BASE}/time-{label}.txt"
    options = [option for key, value in (env or {}).items() for option in ("-e", f"{key}={value}")]
    run = subprocess.run(
        ["docker", "exec", *options, HOST, "bash", "-c", f"/usr/bin/time -v -o {report} {command}"],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    (LOGS / f"{label}.log").write_text(output)
    text = sh(f"cat {report}", check=False)
    (LOGS / f"{label}.time.txt").write_text(text)

    def field(name: str) -> str:
        match = re.search(rf"^\s*{re.escape(name)}: (.+)$", text, re.MULTILINE)
        return match[1].strip() if match else ""

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part or 0)
    figures = {
        "rc": run.returncode,
        "seconds": round(wall, 2),
        "max_rss_mb": round(int(field("Maximum resident set size (kbytes)") or 0) / 1024, 1),
        "cpu_seconds": round(float(field("User time (seconds)") or 0) + float(field("System time (seconds)") or 0), 1),
        "log": str(LOGS / f"{label}.log"),
    }
    say(
        f"{label}: {figures['seconds']} s, max RSS {figures['max_rss_mb']} MB, CPU {figures['cpu_seconds']} s,"
        f" exit {run.returncode} (load average {load_average()[0]})"
    )
    if run.returncode != 0:
        say(f"{label} failed: " + " | ".join(output.strip().splitlines()[-8:]))
    return figures


def run_pgloader() -> dict:
    """django_copy's loads: one pgloader run per foreign key level, its load file from load_file()."""
    source = SimpleNamespace(user=USER, host="127.0.0.1", port=3306, name=SOURCE_DB, mysql=True)
    target = f"pgsql://{USER}@127.0.0.1:5432/{TARGETS['pgloader']}"
    env = {"PGPASSWORD": PASSWORD, "MYSQL_PWD": PASSWORD}
    runs = []
    for number, level in enumerate(LEVELS):
        rules = [rule for table in level for rule in GEOMETRY_RULES[table]]
        text = load_file(source, target, level, rules, workers=4, create=False)
        path = f"{BASE}/load-{number}.load"
        write(path, text)
        (LOGS / f"pgloader-level{number}.load").write_text(text)
        figures = timed(
            f"pgloader-level{number}",
            f"pgloader --root-dir {BASE}/pgloader-{number} --logfile {BASE}/pgloader-{number}.log {path}",
            env=env,
        )
        output = Path(figures["log"]).read_text()
        # django_copy's test of a failed load (run_pgloader()).
        figures["failed"] = figures["rc"] != 0 or any(word in output for word in ("KABOOM", " ERROR ", " FATAL "))
        figures["tables"] = level
        runs.append(figures)
        if figures["failed"]:
            say(f"pgloader level {number} failed: see {figures['log']}")
            break
    return {
        "levels": runs,
        "seconds": round(sum(r["seconds"] for r in runs), 2),
        "max_rss_mb": max(r["max_rss_mb"] for r in runs),
        "cpu_seconds": round(sum(r["cpu_seconds"] for r in runs), 1),
        "failed": any(r["failed"] for r in runs),
    }


def run_django() -> dict:
    """The seed's way: dumpdata from MariaDB to a JSON file, loaddata of that file into PostGIS."""
    settings = {"DJANGO_SETTINGS_MODULE": "benchdc_settings", "PYTHONPATH": f"{BASE}:{BASE}/example"}
    manage_py = f"{VENV}/bin/python {BASE}/example/manage.py"
    sh(f"rm -f {DUMP}")
    dump = timed("dumpdata", f"{manage_py} dumpdata airports --output {DUMP}", env={**settings, "BENCHDC_DB": "source"})
    dump["file_mb"] = round(int(sh(f"stat -c %s {DUMP} 2>/dev/null || echo 0")) / 2**20, 1)
    load = (
        timed("loaddata", f"{manage_py} loaddata {DUMP}", env={**settings, "BENCHDC_DB": "django"})
        if dump["rc"] == 0
        else {"rc": None, "seconds": 0.0, "max_rss_mb": 0.0, "cpu_seconds": 0.0}
    )
    return {
        "dumpdata": dump,
        "loaddata": load,
        "seconds": round(dump["seconds"] + load["seconds"], 2),
        "max_rss_mb": max(dump["max_rss_mb"], load["max_rss_mb"]),
        "cpu_seconds": round(dump["cpu_seconds"] + load["cpu_seconds"], 1),
        "failed": dump["rc"] != 0 or load["rc"] != 0,
    }


# The report ------------------------------------------------------------------------------------------


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds else "-"


def report(figures: dict) -> None:
    rows = figures["rows"]
    pg, dj = figures["pgloader"], figures["django"]
    sums, vals = figures["checksums"], figures["values"]
    lines = [
        "",
        f"bench-datacopy: {rows:,} rows ({figures['airports']:,} airports with a POINT, {figures['distances']:,}"
        f" distances), MariaDB {figures['mariadb']} ({figures['source_mb']} MB of tables and indexes) ->"
        f" {figures['postgis']}, tables by the example app's migrations; Debian's pgloader"
        f" {figures['pgloader_package']} ({figures['pgloader_version']})",
        "",
        f"{'method':<36}{'rows':>11}{'seconds':>9}{'max RSS MB':>12}{'CPU s':>8}{'rows/s':>9}",
    ]

    def line(name: str, part: dict, count: int) -> str:
        return (
            f"{name:<36}{count:>11,}{part['seconds']:>9.1f}{part['max_rss_mb']:>12.1f}{part['cpu_seconds']:>8.1f}"
            f"{rate(count, part['seconds']):>9}"
        )

    copied = {label: sum(counts.values()) for label, counts in figures["target_counts"].items()}
    lines.append(line("pgloader (django_copy's loads)", pg, copied["pgloader"]))
    for number, level in enumerate(pg["levels"]):
        count = sum(figures["target_counts"]["pgloader"][t] for t in level["tables"])
        lines.append(line(f"  level {number}: {', '.join(level['tables'])}", level, count))
    lines.append(line("dumpdata + loaddata (the seed's)", dj, copied["django"]))
    lines.append(line(f"  dumpdata ({dj['dumpdata'].get('file_mb', 0)} MB of JSON)", dj["dumpdata"], rows))
    lines.append(line("  loaddata", dj["loaddata"], copied["django"]))
    lines.append("")
    for label, title in (("pgloader", "pgloader"), ("django", "dumpdata + loaddata")):
        counted = "equal" if figures["target_counts"][label] == figures["source_counts"] else "DIFFERENT"
        summed = "equal" if sums[label] == sums["source"] else "DIFFERENT"
        differ = [
            f"{name} ({vals[label][name]} vs the source's {vals['source'][name]})"
            for name in vals["source"]
            if vals[label][name] != vals["source"][name]
        ]
        lines.append(
            f"{title}: row counts {counted} to the source's, django_copy's checksums {summed};"
            f" geometries, floats, datetimes: {'equal' if not differ else 'differ in ' + '; '.join(differ)}"
        )
        if label == "django" and any(name.startswith("requested_at micro") for name in differ):
            lines.append("  (Django's JSON serializer writes datetimes to the millisecond: the microseconds are lost)")
    ratios = figures["ratios"]
    lines += [
        "",
        f"pgloader is {ratios['speed']}x faster (goal: at least 20x: {'met' if ratios['speed_met'] else 'NOT met'});"
        f" its max RSS is {ratios['memory']} of the larger of dumpdata's and loaddata's"
        f" (goal: at most 0.1: {'met' if ratios['memory_met'] else 'NOT met'}).",
        f"Load average (1 min) seen during the run: {figures['load_average']['min']} to"
        f" {figures['load_average']['max']} on {os.cpu_count()} cores (other work shares this machine:"
        " figures are noisy).",
        "Max RSS is each command's own process (pgloader's SBCL, manage.py's Python); MariaDB's and"
        " PostgreSQL's memory are in neither. dumpdata reads through PyMySQL (pure Python) where the seed"
        " had mysqlclient (C).",
    ]
    print("\n".join(lines), flush=True)


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    say(f"{ROWS:,} distances, {AIRPORTS:,} airports; load average {load_average()}")
    reused = REUSE and host_running()
    if not reused:
        start_host()
    expected = {"airports_airport": AIRPORTS, "airports_distance": ROWS}
    try:
        counts = source_counts() if reused else {}
    except RuntimeError:
        counts = {}
    if counts != expected:
        say(f"making the source: {SOURCE_DB} on MariaDB ...")
        make_source()
        counts = source_counts()
    else:
        say(f"reusing {HOST} and its source ({counts})")
    figures: dict = {
        "airports": counts["airports_airport"],
        "distances": counts["airports_distance"],
        "rows": sum(counts.values()),
        "source_counts": counts,
        "source_mb": source_megabytes(),
        "mariadb": mariadb("SELECT VERSION()")[0][0],
        "pgloader_version": sh("pgloader --version").strip().splitlines()[0],
        "pgloader_package": sh("dpkg-query -W -f '${Version}' pgloader").strip(),
    }
    for label in TARGETS:
        make_target(label)
    figures["postgis"] = psql(
        TARGETS["pgloader"],
        "SELECT 'PostgreSQL ' || current_setting('server_version') || ', PostGIS ' || postgis_lib_version()",
    )[0][0]
    say(f"source and targets ready after {time.monotonic() - began:.0f} s; measuring (load average {load_average()})")
    figures["pgloader"] = run_pgloader()
    figures["django"] = run_django()
    figures["target_counts"] = {label: target_counts(name) for label, name in TARGETS.items()}
    figures["checksums"] = checksums()
    figures["values"] = values()
    pg, dj = figures["pgloader"], figures["django"]
    speed = round(dj["seconds"] / pg["seconds"], 1) if pg["seconds"] else 0.0
    memory = round(pg["max_rss_mb"] / dj["max_rss_mb"], 3) if dj["max_rss_mb"] else 0.0
    figures["ratios"] = {"speed": speed, "speed_met": speed >= 20, "memory": memory, "memory_met": memory <= 0.1}
    load_average()
    figures["load_average"] = {
        "samples": LOADS,
        "min": min(s[0] for s in LOADS),
        "max": max(s[0] for s in LOADS),
    }
    figures["seconds_total"] = round(time.monotonic() - began, 1)
    out = WORK / "bench-datacopy.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    report(figures)
    say(f"figures in {out}; logs in {LOGS}")
    sums = figures["checksums"]
    # Rows lost or changed make the figures meaningless; values that differ are reported, not failed.
    wrong = [label for label in TARGETS if sums[label] != sums["source"]]
    if wrong or pg["failed"] or dj["failed"]:
        say(f"a copy failed or differs from the source: {', '.join(wrong) or 'see the logs'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
