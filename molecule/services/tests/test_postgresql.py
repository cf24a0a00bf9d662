"""PostgreSQL/PostGIS as the app host sees it, checked from pg-client over the scenario network."""

import re

import pytest
import testinfra

SERVERS = {"pg-debian12": "15", "pg-debian13": "17"}
PASSWORD = "molecule-app-password"  # noqa: S105 - the scenario's throwaway test password

testinfra_hosts = ["pg-client"]


def docker_host(name):
    return testinfra.get_host(f"docker://{name}")


def psql(client, server, sql, password=PASSWORD, user="app"):
    return client.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -X -At -h %s -U %s -d app -v ON_ERROR_STOP=1 -c %s",
        password,
        server,
        user,
        sql,
    )


@pytest.mark.parametrize("server", SERVERS)
def test_app_user_logs_in_over_tcp_and_postgis_works(host, server):
    result = psql(host, server, "SELECT postgis_full_version()")
    assert result.rc == 0, result.stderr
    assert "POSTGIS=" in result.stdout


@pytest.mark.parametrize("server", SERVERS)
def test_server_version_matches_the_release(host, server):
    result = psql(host, server, "SHOW server_version")
    assert result.rc == 0, result.stderr
    assert result.stdout.split(".")[0] == SERVERS[server]


@pytest.mark.parametrize("server", SERVERS)
def test_geometry_column_and_st_distance(host, server):
    sql = (
        "BEGIN;"
        "CREATE TEMP TABLE places (name text, geom geometry(Point, 3857));"
        "INSERT INTO places VALUES ('a', ST_SetSRID(ST_MakePoint(0, 0), 3857)),"
        " ('b', ST_SetSRID(ST_MakePoint(3, 4), 3857));"
        "SELECT ST_Distance(a.geom, b.geom) FROM places a, places b"
        " WHERE a.name = 'a' AND b.name = 'b';"
        # Paris CDG to London LHR on the spheroid: about 347 km.
        "SELECT round(ST_Distance('SRID=4326;POINT(2.5479 49.0097)'::geography,"
        " 'SRID=4326;POINT(-0.4543 51.4700)'::geography) / 1000);"
        "ROLLBACK;"
    )
    result = psql(host, server, sql)
    assert result.rc == 0, result.stderr
    lines = result.stdout.split()
    assert "5" in lines
    assert any(340 <= int(x) <= 355 for x in lines if x.isdigit() and len(x) == 3)


@pytest.mark.parametrize("server", SERVERS)
def test_wrong_password_is_refused(host, server):
    result = psql(host, server, "SELECT 1", password="not-the-password")  # noqa: S106
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


@pytest.mark.parametrize("server", SERVERS)
def test_unknown_user_is_refused(host, server):
    result = psql(host, server, "SELECT 1", user="postgres")
    assert result.rc != 0
    assert "no pg_hba.conf entry" in result.stderr or "authentication failed" in result.stderr


@pytest.mark.parametrize("server", SERVERS)
def test_password_is_stored_as_scram(server):
    db = docker_host(server)
    sql = "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'app'"
    result = db.run("runuser -u postgres -- psql -X -At -c %s", sql)
    assert result.stdout.strip() == "t", result.stderr


@pytest.mark.parametrize("server", SERVERS)
def test_pg_hba_has_no_trust_and_local_uses_peer(server):
    db = docker_host(server)
    hba = db.file(f"/etc/postgresql/{SERVERS[server]}/main/pg_hba.conf").content_string
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert rules
    assert not any("trust" in rule for rule in rules)
    assert all(rule[-1] == "peer" for rule in rules if rule[0] == "local")
    assert all(rule[-1] in ("scram-sha-256", "reject") for rule in rules if rule[0].startswith("host"))


@pytest.mark.parametrize("server", SERVERS)
def test_listens_only_where_the_inventory_says(server):
    db = docker_host(server)
    own = db.interface("eth0").addresses[0]
    out = db.check_output("ss -ltnH 'sport = :5432'")
    addresses = {re.sub(r":5432$", "", line.split()[3]).strip("[]") for line in out.splitlines()}
    assert "127.0.0.1" in addresses
    assert own in addresses
    assert addresses <= {"127.0.0.1", "::1", own}


@pytest.mark.parametrize("server", SERVERS)
def test_memory_settings_are_derived_or_overridden(server):
    db = docker_host(server)
    show = db.check_output(
        "runuser -u postgres -- psql -X -At -c \"SELECT current_setting('shared_buffers'), "
        '(SELECT count(*) FROM pg_settings WHERE pending_restart)"'
    )
    shared_buffers, pending = show.split("|")
    assert pending == "0"
    if server == "pg-debian13":
        assert shared_buffers == "256MB"
    else:
        mem_mb = int(db.check_output("awk '/MemTotal/ {print $2}' /proc/meminfo")) // 1024
        assert shared_buffers in (f"{mem_mb // 4}MB", f"{mem_mb // 4 // 1024}GB")


@pytest.mark.parametrize("server", SERVERS)
def test_connections_are_logged(host, server):
    assert psql(host, server, "SELECT 1").rc == 0
    db = docker_host(server)
    log = db.file(f"/var/log/postgresql/postgresql-{SERVERS[server]}-main.log").content_string
    assert re.search(r"app@app from \S+ app=\S* LOG:  connection authorized: user=app", log)
