"""The request path end to end, from this machine through ports published on 127.0.0.1.

The lbs serve HTTPS for the name web-site with a certificate from pebble (the ACME test CA on
web-acme); every HTTPS request here verifies it against pebble's root, as a browser would. The app
hosts answer TLS on their private address (nginx_backend_tls), for the name djangoops-backend with a
certificate of the collection's CA: requests straight to them verify it as the lbs do."""

import base64
import concurrent.futures
import functools
import gzip
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import testinfra
import yaml

SITE = "web-site"
# The name the app hosts' certificates hold and the lbs verify (nginx_backend_tls_name's default).
BACKEND = "djangoops-backend"
RELEASES = {
    "debian12": {"lb": 18412, "lb_http": 18112, "app": 18212},
    "debian13": {"lb": 18413, "lb_http": 18113, "app": 18213},
}
HTTPS_PORTS = {ports["lb"] for ports in RELEASES.values()}
BACKEND_PORTS = {ports["app"] for ports in RELEASES.values()}

testinfra_hosts = ["web-app-debian12"]


@functools.cache
def acme_root():
    """pebble's root CA (it makes a new one each time it starts), from its management API."""
    # On web-acme itself, over loopback: pebble's API certificate is the throwaway one of prepare.yml.
    script = (
        "import ssl, urllib.request; c = ssl.create_default_context(); "
        "c.check_hostname = False; c.verify_mode = ssl.CERT_NONE; "
        "print(urllib.request.urlopen('https://127.0.0.1:15000/roots/0', context=c).read().decode())"
    )
    return testinfra.get_host("docker://web-acme").check_output(f"python3 -c {json.dumps(script)}")


def tls_context(**versions):
    context = ssl.create_default_context(cadata=acme_root())
    for name, value in versions.items():
        setattr(context, name, value)
    return context


@functools.cache
def collection_ca():
    """The collection's CA (role pki made it beside molecule's inventory): it signs the app hosts' certificates."""
    return (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".pki" / "ca.crt").read_text()


class SiteConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1:port that asks for and verifies a name (SNI and certificate): web-site by default."""

    def __init__(self, *args, name=SITE, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.name)


def fetch(port, path, headers=None, data=None, timeout=10, method=None):
    """One request, redirects not followed: (status, headers as a message, body). The lbs' HTTPS port
    is asked for web-site, the app hosts' port for djangoops-backend (as the lbs ask it); the lbs'
    HTTP port over plain HTTP."""
    headers = {"Host": SITE, **(headers or {})} if port in HTTPS_PORTS else dict(headers or {})
    if port in HTTPS_PORTS:
        connection = SiteConnection("127.0.0.1", port, timeout=timeout, context=tls_context())
    elif port in BACKEND_PORTS:
        context = ssl.create_default_context(cadata=collection_ca())
        connection = SiteConnection("127.0.0.1", port, timeout=timeout, context=context, name=BACKEND)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method or ("POST" if data is not None else "GET"), path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


def get(port, path, headers=None, data=None, timeout=10):
    status, message, body = fetch(port, path, headers, data, timeout)
    return status, dict(message), body


def host(kind, release):
    return testinfra.get_host(f"docker://web-{kind}-{release}")


def environ(app, unit):
    """The environment of a unit's main process, exactly (values may hold newlines)."""
    pid = app.check_output(f"systemctl show -p MainPID --value {unit}")
    raw = base64.b64decode(app.check_output(f"base64 -w0 /proc/{pid}/environ"))
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def django_shell(app, code):
    """The last line Django's shell prints for the code, run by bin/manage as the app user (Django 5.2's
    shell first says how many objects it imported)."""
    return app.check_output("sudo -u example /srv/example/bin/manage shell -c %s", code).splitlines()[-1]


def gateway(release):
    """This machine's address as the containers see it (the bridge's gateway)."""
    out = subprocess.run(
        ["docker", "network", "inspect", "molecule-web", "--format", "{{(index .IPAM.Config 0).Gateway}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("release", RELEASES)
def test_healthz_reports_the_version(release):
    status, _, body = get(RELEASES[release]["lb"], "/healthz")
    assert status == 200, body
    health = json.loads(body)
    assert health["version"] == "1.0.0"
    assert health["status"] == "ok"


@pytest.mark.parametrize("release", RELEASES)
def test_whoami_sees_this_machine_even_with_forged_headers(release):
    """Through the lb's HTTPS: Django sees this machine's address and https, whatever the client claims."""
    port = RELEASES[release]["lb"]
    _, _, plain = get(port, "/whoami")
    _, _, forged = get(port, "/whoami", {"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"})
    _, _, proto = get(port, "/whoami", {"X-Forwarded-Proto": "http"})
    plain, forged, proto = json.loads(plain), json.loads(forged), json.loads(proto)
    assert plain["remote_addr"] == gateway(release)
    assert forged["remote_addr"] == plain["remote_addr"]
    assert plain["is_secure"] is True
    assert proto["is_secure"] is True


@pytest.mark.parametrize("release", RELEASES)
def test_app_host_ignores_forged_headers_from_others(release):
    """Straight to the app host's nginx (not from the lb): its own headers are not trusted. Django sees
    the scheme of this very connection (TLS: https, whatever the client claims) and this machine's
    address, and nginx logs this machine's address, not the forged one."""
    probe = f"/whoami?probe={time.time_ns()}"
    status, _, body = get(RELEASES[release]["app"], probe, {"X-Real-IP": "6.6.6.6", "X-Forwarded-Proto": "http"})
    assert status == 200, body
    who = json.loads(body)
    assert who["is_secure"] is True
    assert who["remote_addr"] == gateway(release)
    logged = host("app", release).check_output(f"grep -F {probe} /var/log/nginx/access.log")
    assert logged.startswith(gateway(release) + " via ")
    assert "6.6.6.6" not in logged


@pytest.mark.parametrize("release", RELEASES)
def test_the_lb_reaches_the_app_host_over_verified_tls_only(release, tmp_path):
    """nginx_backend_tls: the app host's private address answers plain HTTP with nginx's 400 (so what the
    lb gets from it came over TLS), and its certificate verifies against the collection's CA only. Given
    a certificate of another CA for the same name, the app host gets no request from the lb (502, the
    lb logs the verify error); with its own back, the lb serves again."""
    app, lb = host("app", release), host("lb", release)
    plain = (
        "import http.client; c = http.client.HTTPConnection('web-app-%s', 8080, timeout=10); "
        "c.request('GET', '/healthz'); print(c.getresponse().status)"
    )
    assert lb.check_output("python3 -c %s", plain % release) == "400"
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", RELEASES[release]["app"]), timeout=10) as raw:
            ssl.create_default_context().wrap_socket(raw, server_hostname=BACKEND)

    foreign = local_ca(tmp_path, BACKEND)
    tls, port = "/etc/nginx/djangoops/tls", RELEASES[release]["lb"]

    def lb_answers(expected):
        status = None
        for _ in range(40):
            status, _, _ = get(port, "/healthz")
            if status == expected:
                break
            time.sleep(0.5)
        return status

    app.check_output(f"cp -p {tls}/backend.crt {tls}/own.crt && cp -p {tls}/backend.key {tls}/own.key")
    try:
        for name in ("crt", "key"):
            (tmp_path / f"backend.{name}").write_text(foreign[f"site.{name}"])
            subprocess.run(["docker", "cp", str(tmp_path / f"backend.{name}"), f"web-app-{release}:{tls}/"], check=True)
        app.check_output("nginx -t -q && systemctl reload nginx")
        assert lb_answers(502) == 502
        assert "upstream SSL certificate verify error" in lb.check_output("tail -n 50 /var/log/nginx/error.log")
    finally:
        app.check_output(f"mv {tls}/own.crt {tls}/backend.crt && mv {tls}/own.key {tls}/backend.key")
        app.check_output("nginx -t -q && systemctl reload nginx")
    assert lb_answers(200) == 200


@pytest.mark.parametrize("release", RELEASES)
def test_app_host_believes_the_scheme_from_itself_only(release):
    """The deploy's health gate runs on the app host and says X-Forwarded-Proto: https, as the lb does:
    the app's nginx believes the scheme from 127.0.0.1 (never the client address from there)."""
    script = (
        "import http.client, json; c = http.client.HTTPConnection('127.0.0.1', 8080, timeout=10); "
        "c.request('GET', '/whoami', headers={'Host': 'localhost', 'X-Forwarded-Proto': 'https', "
        "'X-Real-IP': '6.6.6.6'}); print(c.getresponse().read().decode())"
    )
    who = json.loads(host("app", release).check_output(f"python3 -c {json.dumps(script)}"))
    assert who["is_secure"] is True
    assert who["remote_addr"] == "127.0.0.1"


@pytest.mark.parametrize("release", RELEASES)
def test_airports_json_is_gzipped_through_the_lb(release):
    port = RELEASES[release]["lb"]
    status, headers, compressed = get(port, "/api/airports", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.get("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in headers.get("Vary", "")
    body = gzip.decompress(compressed)
    assert len(body) > 200 * 1024
    ratio = len(compressed) / len(body)
    print(f"{release}: /api/airports {len(body)} bytes, gzip {len(compressed)} bytes, ratio {ratio:.1%}")
    assert ratio <= 0.30
    assert len(json.loads(body)) > 0
    status, headers, plain = get(port, "/api/airports")
    assert status == 200
    assert "Content-Encoding" not in headers
    assert plain == body


@pytest.mark.parametrize("release", RELEASES)
def test_static_file_is_served_by_nginx(release):
    app = host("app", release)
    static = app.check_output("find /srv/example/current/static -name '*.css' -print -quit")
    assert static
    path = static.replace("/srv/example/current/static", "/static")
    status, headers, _ = get(RELEASES[release]["lb"], path)
    assert status == 200
    assert headers.get("X-Served-By") == "nginx"


@pytest.mark.parametrize("release", RELEASES)
def test_home_page_renders_its_template_with_hashed_static_files(release):
    """A page with a template and {% static %}: gunicorn finds collectstatic's manifest."""
    status, _, body = get(RELEASES[release]["lb"], "/")
    assert status == 200, body[-500:]
    page = body.decode()
    assert "1.0.0" in page
    css = re.search(r'href="(/static/airports/app\.[0-9a-f]{12}\.css)"', page)
    assert css, "the page does not link the hashed app.css"
    status, headers, _ = get(RELEASES[release]["lb"], css[1])
    assert status == 200
    assert headers.get("X-Served-By") == "nginx"


@pytest.mark.parametrize("release", RELEASES)
def test_every_app_process_runs_with_the_settings_module(release):
    """The Celery worker too: a project's Celery app falls back to its own default settings without it."""
    app = host("app", release)
    for unit in ("example-gunicorn.service", "example-celery.service"):
        env = environ(app, unit)
        assert env["DJANGO_SETTINGS_MODULE"] == "example.settings", unit
        assert env["STATIC_ROOT"] == "/srv/example/current/static", unit
        # A value with quotes, a dollar, backticks, a backslash, non-ASCII text and a newline (a PEM key
        # has newlines) reaches the process exactly as the inventory wrote it.
        assert env["WEB_PROBE_TEXT"] == 'Café "Zürich" $HOME `date` back\\slash\nsecond line', unit


@pytest.mark.parametrize("release", RELEASES)
def test_celery_task_completes_and_shows_through_the_api(release):
    port = RELEASES[release]["lb"]
    status, _, body = get(
        port,
        "/api/distances",
        {"Content-Type": "application/json"},
        json.dumps({"origin": "CDG", "destination": "LHR"}).encode(),
    )
    assert status == 202, body
    job = json.loads(body)
    deadline = time.monotonic() + 60
    result = {}
    while time.monotonic() < deadline:
        _, _, body = get(port, f"/api/distances/{job['id']}")
        result = json.loads(body)
        if result.get("km") is not None:
            break
        time.sleep(1)
    assert result.get("km") is not None, result
    assert 330 < result["km"] < 360


@pytest.mark.parametrize("release", RELEASES)
def test_processes_run_as_the_app_user_and_the_socket_is_0660(release):
    app = host("app", release)
    for unit in ("example-gunicorn.service", "example-celery.service"):
        pid = app.check_output(f"systemctl show -p MainPID --value {unit}")
        assert pid != "0", unit
        assert app.check_output(f"ps -o user= -p {pid}") == "example", unit
    socket = app.file("/run/example/gunicorn.sock")
    assert socket.is_socket
    assert socket.mode == 0o660
    assert socket.group == "www-data"


@pytest.mark.parametrize("release", RELEASES)
def test_restart_under_load_loses_no_request(release):
    """Up to 2,000 requests in 25 seconds against the app host; gunicorn restarts twice. Straight to the
    app host over its TLS (one handshake per request): /whoami answers each (200, no database work).
    A request that arrives while the new gunicorn boots waits in the socket's queue; on a busy machine
    (the suite's three lanes on two cores) that took over 15 s once, so a request fails only when it is
    refused, reset, answered with another status, or unanswered after 90 s (nginx's own proxy timeout
    is 60 s: a request it gave up on comes back as 504). The slowest answer is printed."""
    port = RELEASES[release]["app"]
    app = host("app", release)
    sent, failed, slowest = 0, [], 0.0
    stop = time.monotonic() + 25

    def restart_twice():
        for delay in (5, 6):
            time.sleep(delay)
            app.run("systemctl restart example-gunicorn.service")

    restarter = threading.Thread(target=restart_twice)
    restarter.start()
    while sent < 2000 and time.monotonic() < stop:
        sent += 1
        began = time.monotonic()
        try:
            status, _, _ = get(port, "/whoami", timeout=90)
            if status != 200:
                failed.append(status)
        except OSError as error:
            failed.append(repr(error))
        slowest = max(slowest, time.monotonic() - began)
        time.sleep(0.005)
    restarter.join()
    print(
        f"{release}: {sent} requests during two gunicorn restarts, {len(failed)} failed {failed[:5]},"
        f" the slowest answered in {slowest:.1f} s"
    )
    # Enough requests on both sides of each restart (at 5 s and 11 s of the 25 s loop), even on a busy machine.
    assert sent >= 300
    assert failed == []


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("kind", ["lb", "app"])
def test_security_headers_once_and_no_server_version(release, kind):
    for path in ("/whoami", "/static/airports/app.css"):
        _, headers, _ = fetch(RELEASES[release][kind], path)
        assert headers.get_all("X-Content-Type-Options") == ["nosniff"], path
        assert headers.get_all("X-Frame-Options") == ["DENY"], path
        assert headers.get_all("Referrer-Policy") == ["same-origin"], path
        assert headers["Server"] == "nginx", path


def inventory_secrets():
    """The scenario's secret values, read from its inventory (molecule.yml): passwords, key, cookie."""
    group_vars = yaml.safe_load((Path(__file__).parents[1] / "molecule.yml").read_text())["provisioner"]["inventory"][
        "group_vars"
    ]
    secrets = {name: value for name, value in group_vars["all"].items() if name.endswith("_password")}
    secrets["DJANGO_SECRET_KEY"] = group_vars["worker"]["django_app_env"]["DJANGO_SECRET_KEY"]
    secrets["rabbitmq_erlang_cookie"] = group_vars["rabbitmq"]["rabbitmq_erlang_cookie"]
    return secrets


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("kind", ["app", "db", "lb"])
def test_no_secret_in_the_journal_or_on_a_command_line(release, kind):
    """After a converge that ran migrate, collectstatic and load_airports through sudo: sudo's log lines
    (journalctl -t sudo), every other unit's and every process's command line hold no secret."""
    target = host(kind, release)
    secrets = inventory_secrets()
    sudo = target.check_output("journalctl --no-pager --quiet -o cat -t sudo")
    journal = target.check_output("journalctl --no-pager --quiet -o cat")
    processes = target.check_output("ps -eww -o args=")
    for where, text in (("journalctl -t sudo", sudo), ("journalctl", journal), ("ps", processes)):
        leaked = sorted(name for name, value in secrets.items() if value in text)
        assert leaked == [], f"{where} on web-{kind}-{release} shows {', '.join(leaked)}"
    if kind == "app":
        assert "USER=example" in sudo, "the management commands did not run through sudo as the app user"


def test_no_secret_in_the_playbooks_output():
    """Everything the playbooks printed in this run (molecule's ANSIBLE_LOG_PATH): site.yml's converge,
    its re-run and check mode, and the playbooks the tests ran so far."""
    directory = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if not directory:
        pytest.skip("needs molecule's ephemeral directory (run by molecule verify)")
    log = Path(directory, "ansible.log").read_text(errors="replace")
    assert "TASK [djangoops.stack.django_app : " in log, "the log does not hold the converge's output"
    assert "Converge again, then in check mode, and change nothing" in log, "the log does not hold the re-runs"
    secrets = inventory_secrets()
    leaked = sorted(name for name, value in secrets.items() if value in log)
    assert leaked == [], f"the playbooks' output shows {', '.join(leaked)}"
    print(f"playbook output searched: {len(log.splitlines())} lines, {len(secrets)} secrets, 0 found")


@pytest.mark.parametrize("release", RELEASES)
def test_management_commands_get_the_environment_of_gunicorn(release):
    """bin/manage (as the app user) sees every variable of the env file with gunicorn's value."""
    app = host("app", release)
    gunicorn = environ(app, "example-gunicorn.service")
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    manage = json.loads(django_shell(app, dump))
    names = re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", app.file("/srv/example/shared/env").content_string, re.M)
    assert "DJANGO_SECRET_KEY" in names
    assert "WEB_PROBE_TEXT" in names
    for name in names:
        assert manage.get(name) == gunicorn.get(name), name


@pytest.mark.parametrize("release", RELEASES)
def test_manage_wrapper_reads_an_env_file_as_systemd_does(release):
    """The wrapper's parser against systemd itself, on a file with quotes, escapes and comments."""
    app = host("app", release)
    text = (
        '# comment\nA="x y" \nB=\'single \\n\' \nC="a\\"b\\\\c\\$d\\`e\\nf"\nD=  plain  value  \n'
        'E=one\\\ntwo\n  F = "x"\'y\'z\nG="\\u00e9"\nH=\n1BAD=x\nI="$HOME"\n'
    )
    app.run("cat > /tmp/env-probe <<'EOF'\n%sEOF", text)
    unit = app.check_output(
        "systemd-run --quiet --wait --pipe --collect -p EnvironmentFile=/tmp/env-probe "
        "/usr/bin/python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    )
    by_systemd = json.loads(unit)
    loader = (
        "import importlib.machinery, importlib.util, json, sys;"
        "loader = importlib.machinery.SourceFileLoader('manage', '/srv/example/bin/manage');"
        "module = importlib.util.module_from_spec(importlib.util.spec_from_loader('manage', loader));"
        "loader.exec_module(module);"
        "print(json.dumps(module.parse_env(open('/tmp/env-probe').read())))"
    )
    by_wrapper = json.loads(app.check_output("python3 -c %s", loader))
    assert set(by_wrapper) == set("ABCDEFGHI")
    assert by_wrapper == {name: by_systemd.get(name) for name in by_wrapper}


@pytest.mark.parametrize("release", RELEASES)
def test_nginx_serves_what_the_release_settings_name(release):
    """No path in the inventory: the release's own STATIC_ROOT and MEDIA_ROOT, read at install and
    linked in the release, are what nginx serves at /static/ and /media/."""
    app = host("app", release)
    assert app.file("/srv/example/current/.djangoops/static").linked_to == "/srv/example/releases/1.0.0/static"
    assert app.file("/srv/example/current/.djangoops/media").linked_to == "/srv/example/shared/media"
    app.run_expect([0], "install -o example -g example -m 0644 /dev/null /srv/example/shared/media/probe.txt")
    app.run_expect([0], "sh -c 'echo uploaded > /srv/example/shared/media/probe.txt'")
    try:
        status, _, body = get(RELEASES[release]["lb"], "/media/probe.txt")
        assert status == 200
        assert body == b"uploaded\n"
        status, _, _ = get(RELEASES[release]["lb"], "/media/../shared/env")
        assert status in (400, 404)
    finally:
        app.run("rm -f /srv/example/shared/media/probe.txt")


def served_certificate(port, context=None):
    """The certificate the lb serves for web-site, verified against pebble's root: (DER, the dict of
    SSLSocket.getpeercert(), the TLS version). Raises ssl.SSLError when the handshake fails."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with (context or tls_context()).wrap_socket(raw, server_hostname=SITE) as tls:
            return tls.getpeercert(binary_form=True), tls.getpeercert(), tls.version()


@pytest.mark.parametrize("release", RELEASES)
def test_https_certificate_comes_from_the_acme_ca(release):
    _, certificate, version = served_certificate(RELEASES[release]["lb"])
    issuer = dict(pair[0] for pair in certificate["issuer"])
    assert issuer["commonName"].startswith("Pebble Intermediate CA")
    assert ("DNS", SITE) in certificate["subjectAltName"]
    assert version == "TLSv1.3"
    lb = host("lb", release)
    assert lb.service("certbot.timer").is_enabled
    assert lb.service("certbot.timer").is_running


@pytest.mark.parametrize("release", RELEASES)
def test_only_tls_1_2_and_1_3(release):
    port = RELEASES[release]["lb"]
    _, _, version = served_certificate(port, tls_context(maximum_version=ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2"
    # The client offers TLS 1.1 and nothing newer (its own floor lowered): the lb refuses the handshake.
    old = tls_context(minimum_version=ssl.TLSVersion.TLSv1_1, maximum_version=ssl.TLSVersion.TLSv1_1)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError) as refused:
        served_certificate(port, old)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value), "the client did not offer TLS 1.1 at all"
    print(f"{release}: TLS 1.1 refused: {refused.value}")


def negotiated_protocol(port, offered):
    """The application protocol the lb picks (ALPN) from those a client offers."""
    context = tls_context()
    context.set_alpn_protocols(offered)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=SITE) as tls:
            return tls.selected_alpn_protocol()


@pytest.mark.parametrize("release", RELEASES)
def test_https_speaks_http2_and_still_http1(release):
    """nginx_lb_http2 (on by default): Debian 12's nginx 1.22 by its listen parameter, Debian 13's
    1.26 by `http2 on`; a client that offers only HTTP/1.1 keeps it."""
    port = RELEASES[release]["lb"]
    assert negotiated_protocol(port, ["h2", "http/1.1"]) == "h2"
    assert negotiated_protocol(port, ["http/1.1"]) == "http/1.1"


@pytest.mark.parametrize("release", RELEASES)
def test_http_redirects_to_https_except_the_challenge_path(release):
    port = RELEASES[release]["lb_http"]
    status, headers, _ = fetch(port, "/whoami?x=1", {"Host": SITE})
    assert status == 301
    assert headers["Location"] == f"https://{SITE}/whoami?x=1"
    assert headers.get("Strict-Transport-Security") is None
    status, _, _ = fetch(port, "/.well-known/acme-challenge/no-such-token", {"Host": SITE})
    assert status == 404


@pytest.mark.parametrize("release", RELEASES)
def test_one_hsts_header_the_lbs(release):
    """Django sends its own (max-age=31536000; includeSubDomains; preload): the lb's replaces it."""
    _, headers, _ = fetch(RELEASES[release]["lb"], "/whoami")
    assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]


def test_a_challenge_is_answered_by_whichever_lb_the_ca_reaches():
    """The CA may reach either lb for web-site: a token only web-lb-debian12 holds is answered by
    web-lb-debian13 too (fetched from its peer once), and a token no lb holds is a 404 from both."""
    token = f"probe-{time.time_ns()}"
    holder = host("lb", "debian12")
    challenges = "/var/lib/djangoops/acme/.well-known/acme-challenge"
    holder.run_expect([0], f"mkdir -p {challenges} && echo {token}.key > {challenges}/{token}")
    try:
        for release in RELEASES:
            status, _, body = fetch(
                RELEASES[release]["lb_http"], f"/.well-known/acme-challenge/{token}", {"Host": SITE}
            )
            assert (status, body) == (200, f"{token}.key\n".encode()), release
        # Asked as a peer, an lb answers from its own webroot only (no loop between peers).
        status, _, _ = fetch(
            RELEASES["debian13"]["lb_http"],
            f"/.well-known/acme-challenge/{token}",
            {"Host": SITE, "X-Djangoops-Acme-Peer": "1"},
        )
        assert status == 404
    finally:
        holder.run(f"rm -f {challenges}/{token}")


@pytest.mark.parametrize("release", RELEASES)
def test_certbot_timer_renews_and_nginx_serves_the_new_certificate(release):
    """The unit certbot.timer starts renews through the real ACME flow (renew_before_expiry is longer
    than pebble's certificates live), and its deploy hook reloads nginx: the new certificate is served
    by the same nginx master, without a request failing."""
    lb = host("lb", release)
    port = RELEASES[release]["lb"]
    before, _, _ = served_certificate(port)
    master = lb.check_output("systemctl show -p MainPID --value nginx")
    lb.run_expect([0], "systemctl start certbot.service")
    deadline = time.monotonic() + 30
    after = before
    while after == before and time.monotonic() < deadline:
        time.sleep(0.5)
        after, _, _ = served_certificate(port)
    assert after != before, "nginx still serves the certificate from before the renewal"
    assert lb.check_output("systemctl show -p MainPID --value nginx") == master
    assert lb.check_output("systemctl show -p Result --value certbot.service") == "success"
    status, _, _ = get(port, "/healthz")
    assert status == 200


def local_ca(directory, name=SITE):
    """A throwaway CA and a certificate for a name (web-site) from it (tools/local_ca.py): the vault path."""
    tool = Path(__file__).parents[3] / "tools" / "local_ca.py"
    argv = [
        sys.executable,
        str(tool),
        f"--dir={directory}",
        f"--name={name}",
        "--days=2",
        "--subject=djangoops web test CA",
    ]
    subprocess.run(argv, check=True)
    return {name: (directory / name).read_text() for name in ("ca.crt", "site.crt", "site.key")}


def provision_lb(release, extra=None, tmp_path=None):
    """converge.yml (site.yml) again, on one lb only, with extra variables from a file; its output."""
    inventory, scenario = os.environ.get("MOLECULE_INVENTORY_FILE"), os.environ.get("MOLECULE_SCENARIO_DIRECTORY")
    if not inventory or not scenario:
        pytest.skip("needs molecule's inventory (run by molecule verify)")
    argv = ["ansible-playbook", f"--inventory={os.path.dirname(inventory)}", f"--limit=web-lb-{release}"]
    if extra:
        path = tmp_path / "extra.json"
        path.write_text(json.dumps(extra))
        argv.append(f"--extra-vars=@{path}")
    run = subprocess.run([*argv, os.path.join(scenario, "converge.yml")], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    return run.stdout + run.stderr


def test_certificate_from_the_vault_then_back_to_acme(tmp_path):
    """web-lb-debian13 switched to nginx_lb_tls: files (certificate and key as the vault gives them):
    it serves that certificate, the key is 0600 and in no output; switched back to acme, it serves
    its ACME certificate again without asking the CA for another."""
    release, port = "debian13", RELEASES["debian13"]["lb"]
    lb = host("lb", release)
    pem = local_ca(tmp_path)
    issued = lb.check_output("ls /etc/letsencrypt/archive/djangoops-lb/")
    output = provision_lb(
        release,
        {
            "nginx_lb_tls": "files",
            "nginx_lb_tls_certificate": pem["site.crt"],
            "nginx_lb_tls_certificate_key": pem["site.key"],
        },
        tmp_path,
    )
    assert "PRIVATE KEY" not in output
    context = ssl.create_default_context(cadata=pem["ca.crt"])
    _, certificate, _ = served_certificate(port, context)
    assert dict(pair[0] for pair in certificate["issuer"])["commonName"] == "djangoops web test CA"
    key = lb.file("/etc/nginx/djangoops/tls/lb.key")
    assert (key.mode, key.user) == (0o600, "root")
    status, _, _ = fetch(RELEASES[release]["lb_http"], "/.well-known/acme-challenge/x", {"Host": SITE})
    assert status == 301, "without ACME, port 80 only redirects"

    provision_lb(release)
    _, certificate, _ = served_certificate(port)
    assert dict(pair[0] for pair in certificate["issuer"])["commonName"].startswith("Pebble Intermediate CA")
    assert lb.check_output("ls /etc/letsencrypt/archive/djangoops-lb/") == issued


def test_upstream_mode_believes_the_terminator_only(tmp_path):
    """web-lb-debian12 behind a TLS terminator (nginx_lb_tls: upstream): from an address the inventory
    names (this machine, as the terminator), X-Forwarded-Proto and X-Forwarded-For reach Django and
    the lb sends HSTS; from any other, they are ignored (Django's SSL redirect answers, nginx logs
    the real peer). Then back to acme, serving its ACME certificate again."""
    release = "debian12"
    port, lb = RELEASES[release]["lb_http"], host("lb", release)
    forwarded = {"Host": SITE, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    try:
        provision_lb(release, {"nginx_lb_tls": "upstream", "nginx_lb_trusted_proxies": [gateway(release)]}, tmp_path)
        status, headers, body = fetch(port, "/whoami", forwarded)
        assert status == 200, body[:300]
        whoami = json.loads(body)
        assert (whoami["is_secure"], whoami["remote_addr"]) == (True, "203.0.113.7")
        assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]

        provision_lb(release, {"nginx_lb_tls": "upstream", "nginx_lb_trusted_proxies": ["192.0.2.1"]}, tmp_path)
        probe = f"/whoami?probe={time.time_ns()}"
        status, headers, _ = fetch(port, probe, forwarded)
        assert status == 301, "a forged X-Forwarded-Proto from an untrusted peer was believed"
        assert headers["Location"].startswith("https://")
        assert headers.get("Strict-Transport-Security") is None
        logged = lb.check_output(f"grep -F {probe} /var/log/nginx/access.log")
        assert logged.split()[0] == gateway(release), logged
    finally:
        provision_lb(release)
    _, certificate, _ = served_certificate(RELEASES[release]["lb"])
    assert dict(pair[0] for pair in certificate["issuer"])["commonName"].startswith("Pebble Intermediate CA")


@pytest.mark.parametrize("release", RELEASES)
def test_the_app_reaches_postgresql_over_verified_tls(release):
    """Django's own connection (DATABASE_URL ...?sslmode=verify-full&sslrootcert=/etc/djangoops/ca.crt)
    is encrypted, and libpq checked the server's certificate against the collection's CA and its name."""
    app = host("app", release)
    probe = (
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'); "
        "o = connection.settings_dict['OPTIONS']; print(c.fetchone(), o.get('sslmode'), o.get('sslrootcert'))"
    )
    out = django_shell(app, probe)
    assert out == "(True, 'TLSv1.3') verify-full /etc/djangoops/ca.crt", out
    server = host("db", release).check_output(
        "openssl x509 -in /etc/postgresql/djangoops-tls/server.crt -noout -ext subjectAltName"
    )
    assert f"DNS:web-db-{release}" in server
    key = host("db", release).file("/etc/postgresql/djangoops-tls/server.key")
    assert (key.user, key.mode) == ("postgres", 0o600)


@pytest.mark.parametrize("release", RELEASES)
def test_postgresql_refuses_other_hosts_without_tls(release):
    """From the app host without TLS: no pg_hba.conf line admits it (refused before any password).
    And verify-full means something: against the system's CAs instead of the collection's, libpq
    refuses the server's certificate."""
    app = host("app", release)
    script = (
        "import psycopg, sys\n"
        "try:\n"
        f"    psycopg.connect('host=web-db-{release} dbname=app user=app connect_timeout=5 ' + sys.argv[1])\n"
        "except psycopg.OperationalError as error:\n"
        "    print('refused:', error)\n"
    )
    python = "/srv/example/current/venv/bin/python"
    plain = app.check_output(f"{python} -c %s %s", script, "sslmode=disable")
    assert plain.startswith("refused:"), plain
    assert "no encryption" in plain, plain
    foreign = app.check_output(
        f"{python} -c %s %s", script, "sslmode=verify-full sslrootcert=/etc/ssl/certs/ca-certificates.crt"
    )
    assert foreign.startswith("refused:"), foreign
    assert "certificate verify failed" in foreign, foreign


@pytest.mark.parametrize("release", RELEASES)
def test_app_units_are_sandboxed(release):
    """systemd-analyze security rates gunicorn and the Celery worker "OK" (4.5 or less) while the other
    tests of this module use them; outside the media root their file system is read-only."""
    app = host("app", release)
    for unit in ("example-gunicorn.service", "example-celery.service"):
        rating = app.check_output(f"systemd-analyze security {unit} --no-pager").splitlines()[-1]
        exposure = float(re.search(r"level for \S+: ([0-9.]+)", rating)[1])
        print(f"{release}: {unit}: {exposure}")
        assert exposure <= 4.5, rating
    pid = app.check_output("systemctl show -p MainPID --value example-gunicorn.service")
    mounts = app.check_output(f"cat /proc/{pid}/mountinfo")
    assert re.search(r" /srv/example/shared/media rw[ ,]", mounts), "the media root is not writable"
    assert re.search(r" / ro[ ,]", mounts), "the root file system is writable"


@pytest.mark.parametrize("release", RELEASES)
def test_the_lb_limits_each_clients_rate(release):
    """nginx_lb_rate_limit 20r/s with a burst of 20: 60 requests at once (30 connections side by side)
    get 429 beyond the burst, and a second later the client is served again."""
    port = RELEASES[release]["lb"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(lambda _: fetch(port, "/whoami")[0], range(60)))
    print(f"{release}: 60 requests at once: {statuses.count(200)} answered, {statuses.count(429)} refused with 429")
    assert set(statuses) == {200, 429}
    assert statuses.count(200) >= 21
    time.sleep(1.5)
    assert fetch(port, "/whoami")[0] == 200


@pytest.mark.parametrize("release", RELEASES)
def test_a_slow_client_is_dropped(release):
    """A client that sends half a request and stalls holds its connection only client_header_timeout (3 s)."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", RELEASES[release]["lb_http"]), timeout=20) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: web-site\r\n")
        assert slow.recv(1024) == b""
    held = time.monotonic() - began
    print(f"{release}: a stalled request held its connection {held:.1f} s")
    assert 2.5 <= held <= 8


@pytest.mark.parametrize("release", RELEASES)
def test_the_app_reaches_redis_over_verified_tls_only(release):
    """Django's cache talks to Redis over TLS (rediss://, the certificate checked against the collection's
    CA); a plain connection from the app host gets no answer, and the system's CAs do not verify Redis."""
    app = host("app", release)
    probe = (
        "from django.core.cache import cache; cache.set('tls-probe', 'ok'); "
        "pool = cache._cache.get_client().connection_pool; "
        "print(cache.get('tls-probe'), pool.connection_class.__name__, pool.connection_kwargs.get('ssl_cert_reqs'))"
    )
    out = django_shell(app, probe)
    assert out == "ok SSLConnection required", out
    script = (
        "import json, redis, sys\n"
        "try:\n"
        f"    redis.Redis(host='web-db-{release}', port=6379, socket_timeout=5, **json.loads(sys.argv[1])).ping()\n"
        "    print('answered')\n"
        "except redis.exceptions.RedisError as error:\n"
        "    print('refused:', type(error).__name__, error)\n"
    )
    python = "/srv/example/current/venv/bin/python"
    plain = app.check_output(f"{python} -c %s %s", script, "{}")
    assert plain.startswith("refused:"), plain
    foreign = app.check_output(
        f"{python} -c %s %s", script, '{"ssl": true, "ssl_ca_certs": "/etc/ssl/certs/ca-certificates.crt"}'
    )
    assert foreign.startswith("refused:"), foreign
    assert "certificate verify failed" in foreign, foreign
