"""Redis as the app host sees it, checked from redis-client over the scenario network."""

import functools
import hashlib
import re

import pytest
import testinfra

# The scenario's inventory: redis-debian13 has an administrator, another port and app user name.
SERVERS = {
    "redis-debian12": {"version": "7.0", "port": 6379, "user": "app", "admin": None},
    "redis-debian13": {"version": "8.0", "port": 6380, "user": "django", "admin": "molecule-admin-password"},
}
PASSWORD = "molecule-app-password"  # noqa: S105 - the scenario's throwaway test password

testinfra_hosts = ["redis-client"]


def docker_host(name):
    return testinfra.get_host(f"docker://{name}")


@functools.cache
def address(server, interface="eth0"):
    """The server's IPv4 address on eth0 (the scenario's network, named in the inventory) or eth1."""
    return next(a for a in docker_host(server).interface(interface).addresses if "." in a)


def cli(client, server, *command, user=None, password=None, interface="eth0"):
    """Run one redis-cli command against the server from the client; return stdout and stderr together.

    The password goes in REDISCLI_AUTH, as an app's environment would hold it, not on the command line.
    """
    auth = ""
    args = [address(server, interface), str(SERVERS[server]["port"])]
    if user is not None:
        auth = "REDISCLI_AUTH=%s "
        args = [password, *args, user]
    result = client.run(
        auth + "timeout 10 redis-cli -h %s -p %s" + (" --user %s" if user is not None else "") + " %s" * len(command),
        *args,
        *command,
    )
    return (result.stdout + result.stderr).strip()


def app(client, server, *command):
    return cli(client, server, *command, user=SERVERS[server]["user"], password=PASSWORD)


@pytest.mark.parametrize("server", SERVERS)
def test_app_user_can_set_and_get(host, server):
    assert app(host, server, "SET", "molecule:greeting", "hello from the app host") == "OK"
    assert app(host, server, "GET", "molecule:greeting") == "hello from the app host"
    assert app(host, server, "ACL", "WHOAMI") == SERVERS[server]["user"]


@pytest.mark.parametrize("server", SERVERS)
def test_a_connection_without_credentials_is_refused(host, server):
    assert cli(host, server, "PING").startswith("NOAUTH")
    assert cli(host, server, "GET", "molecule:greeting").startswith("NOAUTH")


@pytest.mark.parametrize("server", SERVERS)
def test_a_wrong_password_is_refused(host, server):
    out = cli(host, server, "PING", user=SERVERS[server]["user"], password="not-the-password")  # noqa: S106
    assert "WRONGPASS" in out
    assert "PONG" not in out


@pytest.mark.parametrize(
    "command",
    [
        ("CONFIG", "GET", "maxmemory"),
        ("CONFIG", "SET", "maxmemory", "1mb"),
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("KEYS", "*"),
        ("SHUTDOWN", "NOSAVE"),
        ("MONITOR",),
        ("ACL", "LIST"),
        ("INFO",),
    ],
    ids=lambda command: "-".join(command[:2]),
)
@pytest.mark.parametrize("server", SERVERS)
def test_app_user_cannot_run_dangerous_commands(host, server, command):
    assert app(host, server, "SET", "molecule:survivor", "still here") == "OK"
    assert app(host, server, *command).startswith("NOPERM")
    assert app(host, server, "GET", "molecule:survivor") == "still here"


@pytest.mark.parametrize("server", SERVERS)
def test_debug_is_closed_to_every_client(host, server):
    out = app(host, server, "DEBUG", "SLEEP", "0")
    assert out.startswith(("NOPERM", "ERR DEBUG command not allowed"))


@pytest.mark.parametrize("server", SERVERS)
def test_default_user_is_disabled_or_the_administrator(host, server):
    admin = SERVERS[server]["admin"]
    wrong = cli(host, server, "PING", user="default", password="not-the-password")  # noqa: S106
    assert "WRONGPASS" in wrong
    if admin is None:
        # Disabled: not even the app's password opens it.
        assert "WRONGPASS" in cli(host, server, "PING", user="default", password=PASSWORD)
    else:
        assert cli(host, server, "CONFIG", "GET", "maxmemory-policy", user="default", password=admin).split() == [
            "maxmemory-policy",
            "allkeys-lfu",
        ]


@pytest.mark.parametrize("server", SERVERS)
def test_not_reachable_on_the_address_the_inventory_did_not_name(host, server):
    out = cli(host, server, "PING", interface="eth1")
    assert "Connection refused" in out, out


@pytest.mark.parametrize("server", SERVERS)
def test_runs_as_redis_the_debian_release(server):
    db = docker_host(server)
    assert db.service("redis-server").is_running
    assert db.service("redis-server").is_enabled
    assert db.check_output("ps -o user= -C redis-server").split() == ["redis"]
    assert db.check_output("redis-server --version").split()[2].startswith(f"v={SERVERS[server]['version']}.")


@pytest.mark.parametrize("server", SERVERS)
def test_listens_only_on_loopback_and_the_named_address(server):
    db = docker_host(server)
    port = SERVERS[server]["port"]
    out = db.check_output(f"ss -ltnH 'sport = :{port}'")
    addresses = {re.sub(rf":{port}$", "", line.split()[3]).strip("[]") for line in out.splitlines()}
    assert addresses >= {"127.0.0.1", address(server)}
    assert addresses <= {"127.0.0.1", "::1", address(server)}


@pytest.mark.parametrize("server", SERVERS)
def test_config_files_are_private_and_hold_only_password_hashes(server):
    db = docker_host(server)
    for path in ("/etc/redis/redis.conf", "/etc/redis/users.conf"):
        f = db.file(path)
        assert (f.user, f.group, f.mode) == ("redis", "redis", 0o640), path
        assert PASSWORD not in f.content_string, path
    users = db.file("/etc/redis/users.conf").content_string
    assert f"#{hashlib.sha256(PASSWORD.encode()).hexdigest()}" in users
    assert "nopass" not in users


@pytest.mark.parametrize("server", SERVERS)
def test_memory_and_persistence_settings(host, server):
    db = docker_host(server)
    admin = SERVERS[server]["admin"]
    if admin is None:
        # No administrator to ask: the file says it (the server started with it).
        conf = db.file("/etc/redis/redis.conf").content_string
        mem_mb = int(db.check_output("awk '/MemTotal/ {print $2}' /proc/meminfo")) // 1024
        assert f"\nmaxmemory {mem_mb // 4}mb\n" in conf
        assert "\nmaxmemory-policy allkeys-lru\n" in conf
        assert "\nsave 3600 1 300 100 60 10000\n" in conf
        # The append-only file is on by default, fsynced every second.
        assert "\nappendonly yes\n" in conf
        assert "\nappendfsync everysec\n" in conf
        assert db.file("/var/lib/redis/appendonlydir").is_directory
    else:

        def config(name):
            return cli(host, server, "CONFIG", "GET", name, user="default", password=admin).split("\n")[1:]

        assert config("maxmemory") == [str(64 * 1024 * 1024)]
        assert config("appendonly") == ["no"]
        assert config("save") in ([], [""])
        assert config("timeout") == ["300"]
