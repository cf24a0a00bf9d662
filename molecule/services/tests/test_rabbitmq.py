"""RabbitMQ as the app host sees it, checked from rabbitmq-client over AMQP (pika) on the scenario network."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, os.environ.get("MOLECULE_PROJECT_DIRECTORY", str(Path(__file__).resolve().parents[3])))

from tests import secrets_probe

SERVERS = {"rabbitmq-debian12": "3.10.", "rabbitmq-debian13": "4.0."}
# rabbitmq_tls (molecule.yml): other hosts reach these over TLS only, verified against the collection's CA.
TLS_SERVERS = {"rabbitmq-debian13"}
CLIENT_CA = "/root/djangoops-ca.crt"
# The scenario's throwaway test secrets (molecule.yml).
PASSWORDS = {
    "app": "molecule-app-password",
    "outsider": "molecule-outsider-password",
    "monitor": "molecule-monitor-password",
}
COOKIE = "molecule-throwaway-erlang-cookie"

testinfra_hosts = ["rabbitmq-client"]

# Runs on the client: log in, and with --roundtrip publish a message to a fresh queue and read it
# back. Prints one JSON line: what the broker said.
AMQP_CLIENT = """
import json, ssl, sys, uuid
import pika
server, user, password, vhost, roundtrip, tls = sys.argv[1:7]
options = {}
if tls != "no":
    # The server's name and certificate checked against the collection's CA; tls names the port.
    context = ssl.create_default_context(cafile="/root/djangoops-ca.crt")
    options = {"port": int(tls), "ssl_options": pika.SSLOptions(context, server)}
params = pika.ConnectionParameters(
    host=server, virtual_host=vhost, credentials=pika.PlainCredentials(user, password),
    connection_attempts=1, socket_timeout=10, blocked_connection_timeout=10, **options)
try:
    connection = pika.BlockingConnection(params)
except pika.exceptions.AMQPError as error:
    print(json.dumps({"connected": False, "error": type(error).__name__, "detail": str(error)}))
    sys.exit(0)
version = connection._impl.server_properties["version"]
result = {"connected": True, "version": version.decode() if isinstance(version, bytes) else version}
if tls != "no":
    result["tls"] = connection._impl._transport._sock.version()
if roundtrip == "yes":
    channel = connection.channel()
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    body = "hello " + uuid.uuid4().hex
    channel.basic_publish(exchange="", routing_key=queue, body=body)
    got = None
    for _ in range(100):
        method, _properties, message = channel.basic_get(queue, auto_ack=True)
        if method:
            got = message.decode()
            break
        connection.sleep(0.1)
    result.update(sent=body, received=got)
connection.close()
print(json.dumps(result))
"""


def docker_host(name):
    return testinfra.get_host(f"docker://{name}")


@pytest.fixture(scope="module", autouse=True)
def client_trusts_the_collections_ca():
    """The CA the rabbitmq role's pki made on the controller (beside molecule's inventory), on the client."""
    ca = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".pki" / "ca.crt"
    subprocess.run(["docker", "cp", str(ca), f"rabbitmq-client:{CLIENT_CA}"], check=True)


def amqp(client, server, user, vhost, password=None, roundtrip=False, tls=None):
    """Log in as the app would: over TLS (5671) to a server with rabbitmq_tls, plain AMQP to the others."""
    password = PASSWORDS[user] if password is None else password
    tls = server in TLS_SERVERS if tls is None else tls
    out = client.check_output(
        "python3 -c %s %s %s %s %s %s %s",
        AMQP_CLIENT,
        server,
        user,
        password,
        vhost,
        "yes" if roundtrip else "no",
        "5671" if tls else "no",
    )
    return json.loads(out)


def listeners(server, port):
    out = docker_host(server).check_output(f"ss -ltnH 'sport = :{port}'")
    return {re.sub(rf":{port}$", "", line.split()[3]).strip("[]") for line in out.splitlines()}


def own_address(server):
    return docker_host(server).interface("eth0").addresses[0]


@pytest.mark.parametrize("server", SERVERS)
def test_app_user_publishes_and_consumes_on_its_vhost(host, server):
    result = amqp(host, server, "app", "app", roundtrip=True)
    assert result["connected"], result
    assert result["version"].startswith(SERVERS[server])
    assert result["received"] == result["sent"]


@pytest.mark.parametrize("server", SERVERS)
def test_wrong_password_is_refused(host, server):
    result = amqp(host, server, "app", "app", password="not-the-password")  # noqa: S106
    assert not result["connected"]
    assert "ACCESS_REFUSED" in result["detail"]


@pytest.mark.parametrize("server", SERVERS)
def test_guest_cannot_log_in_and_is_gone(host, server):
    for vhost in ("/", "app"):
        result = amqp(host, server, "guest", vhost, password="guest")  # noqa: S106 - the package's default
        assert not result["connected"]
        assert "ACCESS_REFUSED" in result["detail"]
    users = docker_host(server).check_output("rabbitmqctl --quiet list_users --formatter json")
    names = {user["user"] for user in json.loads(users)}
    assert "guest" not in names
    assert names == set(PASSWORDS)


@pytest.mark.parametrize("server", SERVERS)
def test_user_without_permission_on_the_vhost_is_refused(host, server):
    refused = amqp(host, server, "outsider", "app")
    assert not refused["connected"]
    assert "access to vhost 'app' refused for user 'outsider'" in refused["detail"]
    # The same credentials work on the vhost the user has permissions on.
    assert amqp(host, server, "outsider", "other")["connected"]


@pytest.mark.parametrize("server", sorted(set(SERVERS) - TLS_SERVERS))
def test_amqp_listens_only_on_loopback_and_the_named_address(server):
    assert listeners(server, 5672) == {"127.0.0.1", own_address(server)}
    assert listeners(server, 5671) == set()


@pytest.mark.parametrize("server", sorted(TLS_SERVERS))
def test_with_tls_other_hosts_get_tls_only_and_loopback_stays_plain(host, server):
    assert listeners(server, 5672) == {"127.0.0.1"}
    assert listeners(server, 5671) == {own_address(server)}
    verified = amqp(host, server, "app", "app", roundtrip=True)
    assert verified["connected"], verified
    assert verified["tls"] in ("TLSv1.2", "TLSv1.3"), verified
    plain = amqp(host, server, "app", "app", tls=False)
    assert not plain["connected"], "plain AMQP from another host was accepted"
    assert plain["error"] == "AMQPConnectionError", plain
    # On the server itself, plain AMQP on loopback still works (rabbitmqctl-free check with a socket).
    banner = docker_host(server).check_output(
        "python3 -c %s",
        "import socket; s = socket.create_connection(('127.0.0.1', 5672), 5); s.sendall(b'AMQP\\x00\\x00\\x09\\x01');"
        " print(s.recv(64)[:1].hex())",
    )
    assert banner == "01", "no AMQP Connection.Start frame on loopback"


@pytest.mark.parametrize("server", sorted(TLS_SERVERS))
def test_tls_checks_the_name_and_refuses_tls_1_1(host, server):
    """The certificate names the host (a client checking another name is refused), and a client that
    offers TLS 1.1 and nothing newer is refused by the server."""
    script = f"""
import socket, ssl, sys
server, name, version = sys.argv[1:4]
context = ssl.create_default_context(cafile="{CLIENT_CA}")
if version == "1.1":
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
try:
    with socket.create_connection((server, 5671), 5) as raw, context.wrap_socket(raw, server_hostname=name) as tls:
        print("ok", tls.version())
except (ssl.SSLError, ssl.CertificateError) as error:
    print("refused", error)
"""
    assert host.check_output("python3 -c %s %s %s %s", script, server, server, "1.3").startswith("ok TLSv1.3")
    wrong_name = host.check_output("python3 -c %s %s %s %s", script, server, "mq.example.org", "1.3")
    assert wrong_name.startswith("refused"), wrong_name
    assert "match" in wrong_name, wrong_name
    old = host.check_output("python3 -c %s %s %s %s", script, server, server, "1.1")
    assert old.startswith("refused"), old
    assert "NO_PROTOCOLS_AVAILABLE" not in old, f"the client did not offer TLS 1.1 at all: {old}"


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("port", [4369, 25672])
def test_epmd_and_erlang_distribution_stay_on_loopback(host, server, port):
    assert listeners(server, port) == {"127.0.0.1"}
    probe = host.run(
        "python3 -c %s %s %s",
        "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)",
        own_address(server),
        str(port),
    )
    assert probe.rc != 0
    assert "Connection refused" in probe.stderr


@pytest.mark.parametrize("server", SERVERS)
def test_the_definitions_are_exported_and_hold_hashes_only(server):
    """Provisioning made a first export (then the timer, daily): the vhosts, users and permissions that
    `rabbitmqctl import_definitions` would put back, readable by rabbitmq alone, no password in it."""
    node = testinfra.get_host(f"docker://{server}")
    timer = node.service("djangoops-rabbitmq-definitions.timer")
    assert timer.is_enabled
    assert timer.is_running
    exports = node.check_output("ls -1 /var/backups/rabbitmq/").split()
    assert len(exports) >= 1
    assert all(re.fullmatch(r"definitions-[0-9]{8}T[0-9]{6}Z[.]json", name) for name in exports), exports
    export = node.file(f"/var/backups/rabbitmq/{exports[-1]}")
    assert (export.user, export.mode) == ("rabbitmq", 0o600)
    definitions = json.loads(export.content_string)
    assert {"app", "other"} <= {vhost["name"] for vhost in definitions["vhosts"]}
    users = {user["name"]: user for user in definitions["users"]}
    assert {"app", "outsider", "monitor"} <= set(users)
    assert users["app"]["password_hash"]
    assert {"user": "app", "vhost": "app"} in [
        {"user": p["user"], "vhost": p["vhost"]} for p in definitions["permissions"]
    ]
    assert not [name for name, password in PASSWORDS.items() if password in export.content_string]


@pytest.mark.parametrize("server", SERVERS)
def test_erlang_cookie_is_the_inventory_secret(server):
    db = docker_host(server)
    cookie = db.file("/var/lib/rabbitmq/.erlang.cookie")
    assert (cookie.user, cookie.group, cookie.mode) == ("rabbitmq", "rabbitmq", 0o400)
    assert cookie.content_string == COOKIE
    assert db.check_output("rabbitmqctl --quiet eval 'node().'") == "rabbit@localhost"


@pytest.mark.parametrize("server", SERVERS)
def test_settings_from_the_inventory_are_applied(server):
    value = docker_host(server).check_output(
        "rabbitmqctl --quiet eval 'application:get_env(rabbit, consumer_timeout).'"
    )
    assert value == "{ok,3600000}"


def test_management_api_answers_on_loopback_only(host):
    server = "rabbitmq-debian13"
    assert listeners(server, 15672) == {"127.0.0.1"}
    fetch = (
        "import base64, json, sys, urllib.request;"
        "request = urllib.request.Request('http://127.0.0.1:15672/api/whoami');"
        "request.add_header('Authorization', 'Basic ' + base64.b64encode(sys.argv[1].encode()).decode());"
        "print(urllib.request.urlopen(request, timeout=10).read().decode())"
    )
    whoami = json.loads(docker_host(server).check_output("python3 -c %s %s", fetch, f"monitor:{PASSWORDS['monitor']}"))
    assert whoami["name"] == "monitor"
    assert "monitoring" in str(whoami["tags"])


def test_management_is_off_by_default():
    server = "rabbitmq-debian12"
    assert listeners(server, 15672) == set()
    plugins = docker_host(server).check_output("rabbitmq-plugins --quiet list --enabled --minimal")
    assert "rabbitmq_management" not in plugins


@pytest.fixture(scope="module")
def rerun_with_changed_passwords():
    """Every user's password changed behind the role's back, then converge.yml again on the RabbitMQ hosts
    (so the role checks and sets each password) while a sampler records every process's command line.
    Returns {server: the command lines seen}."""
    inventory, scenario = os.environ.get("MOLECULE_INVENTORY_FILE"), os.environ.get("MOLECULE_SCENARIO_DIRECTORY")
    if not inventory or not scenario:
        pytest.skip("needs molecule's inventory (run by molecule verify)")
    for server in SERVERS:
        for user in PASSWORDS:
            docker_host(server).check_output(
                "printf 'changed-behind-the-role\\n' | runuser -u rabbitmq -- rabbitmqctl change_password %s", user
            )
    with secrets_probe.CommandLines(list(SERVERS)) as sampled:
        run = subprocess.run(
            [
                "ansible-playbook",
                f"--inventory={os.path.dirname(inventory)}",
                f"--limit={','.join(SERVERS)}",
                os.path.join(scenario, "converge.yml"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    seen = sampled.lines
    assert run.returncode == 0, run.stdout[-3000:]
    return seen


@pytest.mark.parametrize("server", SERVERS)
def test_no_password_in_the_journal_or_on_a_command_line(host, server, rerun_with_changed_passwords):
    """While the role set every password again, no process's command line held one (ps shows them to
    every user); the journal (sudo's lines too) holds none; and every password works again."""
    cmdlines = rerun_with_changed_passwords[server]
    assert "change_password app" in cmdlines, "the sampler did not see the role set the password"
    db = docker_host(server)
    secrets = {**{f"{user}'s password": password for user, password in PASSWORDS.items()}, "the cookie": COOKIE}
    for where, text in (
        ("a command line", cmdlines + db.check_output("ps -eww -o args=")),
        ("journalctl -t sudo", db.check_output("journalctl --no-pager --quiet -o cat -t sudo")),
        ("journalctl", db.check_output("journalctl --no-pager --quiet -o cat")),
    ):
        leaked = sorted(name for name, secret in secrets.items() if secret in text)
        assert leaked == [], f"{where} on {server} shows {', '.join(leaked)}"
    assert amqp(host, server, "app", "app")["connected"]
    assert amqp(host, server, "outsider", "other")["connected"]
