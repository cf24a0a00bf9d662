"""Off-host copies of Redis's files and RabbitMQ's exported definitions with Borg (role borg).

redis-debian12 (append-only file on) and both RabbitMQ hosts keep their repositories on backup-repo,
reached over the SSH server of the role's own there, encrypted with the inventory's passphrase;
redis-debian13 persists nothing and backs up nothing. Each archive is taken by the role's systemd
unit, as its timer would, and read back with the host's `djangoops-borg`."""

import hashlib
import json
import re

import pytest
import testinfra

CLIENTS = ["redis-debian12", "rabbitmq-debian12", "rabbitmq-debian13"]
PASSWORD = "molecule-app-password"  # noqa: S105 - the scenario's throwaway test password

testinfra_hosts = ["backup-repo"]


def docker_host(name):
    return testinfra.get_host(f"docker://{name}")


def back_up(node):
    """One run of the backup unit; the name of the archive it made (the newest)."""
    node.check_output("systemctl start djangoops-borg-backup.service")
    unit = node.service("djangoops-borg-backup.service")
    assert not unit.is_running
    result = node.check_output("systemctl show --property=Result --value djangoops-borg-backup.service")
    assert result == "success", node.run("journalctl -u djangoops-borg-backup.service -n 30 --no-pager").stdout
    return node.check_output("djangoops-borg list --short --last 1")


def test_the_backup_host_serves_each_host_its_own_repository_only(host):
    """backup-repo's SSH server for Borg listens on its scenario address only, admits the key of
    each host that backs up (and none for redis-debian13, which persists nothing), each forced to
    `borg serve` on its own repository: a host's key neither gets a shell nor reaches another's."""
    address = next(a for a in host.interface("eth0").addresses if "." in a)
    listening = host.check_output("ss -ltnH 'sport = :8422'").splitlines()
    assert [line.split()[3] for line in listening] == [f"{address}:8422"], listening
    keys = host.file("/etc/djangoops/borg-sshd/authorized_keys").content_string
    forced = re.findall(r'^restrict,command="borg serve --restrict-to-repository /var/lib/borg/([\w.-]+)" ', keys, re.M)
    assert sorted(forced) == sorted(CLIENTS), keys
    assert not docker_host("redis-debian13").file("/usr/local/sbin/djangoops-borg").exists

    rabbit = docker_host("rabbitmq-debian12")
    ssh = (
        f"ssh -i /etc/djangoops/borg/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes"
        f" -o UserKnownHostsFile=/etc/djangoops/borg/known_hosts -p 8422 borg@{address}"
    )
    shell = rabbit.run(f"{ssh} id </dev/null")
    assert "uid=" not in shell.stdout, shell.stdout
    other = rabbit.run(f"djangoops-borg list ssh://borg@{address}:8422/var/lib/borg/redis-debian12")
    assert other.rc != 0
    assert "Repository path not allowed: /var/lib/borg/redis-debian12" in other.stderr, other.stderr


@pytest.mark.parametrize("client", CLIENTS)
def test_each_repository_is_encrypted_and_owned_by_borg(host, client):
    info = json.loads(docker_host(client).check_output("djangoops-borg info --json"))
    assert info["encryption"]["mode"] == "repokey-blake2", info["encryption"]
    repository = host.file(f"/var/lib/borg/{client}")
    assert (repository.user, repository.mode) == ("borg", 0o700)


def test_redis_comes_back_from_its_archive_on_the_backup_host():
    """A key written (and fsynced by the append-only file) before the backup is back after Redis's
    data directory was removed and extracted from the newest archive."""
    redis = docker_host("redis-debian12")
    cli = f"REDISCLI_AUTH={PASSWORD} redis-cli --no-auth-warning --user app -h 127.0.0.1"
    value = hashlib.sha256(b"files backup probe").hexdigest()
    assert redis.check_output(f"{cli} SET files-backup-probe {value}") == "OK"
    redis.check_output("sleep 2")  # appendfsync everysec
    archive = back_up(redis)
    assert re.fullmatch(r"redis-debian12-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", archive), archive

    redis.check_output("systemctl stop redis-server")
    redis.check_output("find /var/lib/redis -mindepth 1 -delete")
    redis.check_output(f"cd / && djangoops-borg extract ::{archive} var/lib/redis")
    redis.check_output("systemctl start redis-server")
    assert redis.check_output(f"{cli} GET files-backup-probe") == value


@pytest.mark.parametrize("client", ["rabbitmq-debian12", "rabbitmq-debian13"])
def test_rabbitmq_definitions_export_is_copied_to_the_backup_host(client):
    """A fresh export of the definitions is in the next archive, byte for byte (Debian 13's Borg 1.4
    client against Debian 12's 1.2 server)."""
    node = docker_host(client)
    node.check_output("systemctl start djangoops-rabbitmq-definitions.service")
    newest = node.check_output("ls -1 /var/backups/rabbitmq | tail -n 1")
    path = f"/var/backups/rabbitmq/{newest}"
    archive = back_up(node)
    copied = node.check_output(f"djangoops-borg extract --stdout ::{archive} {path.lstrip('/')} | sha256sum")
    assert copied.split()[0] == node.check_output(f"sha256sum {path}").split()[0]
