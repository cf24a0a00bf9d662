"""The health_gate module (plugins/modules/health_gate.py) against a real HTTP server on 127.0.0.1:
smoke URLs below 500 pass, a 404 fails at once naming the path, a health endpoint's version must be
the new one, redirects are answers (not followed), and the timeout names what never passed."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.unit.plugins.modules.run import run_module


class Site:
    """A local site whose answers the test sets: {path: (status, body)}; 'slow' paths turn good later."""

    def __init__(self):
        self.pages = {}
        self.hosts = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hosts.append(self.headers.get("Host"))
                status, body = site.pages.get(self.path, (404, "not found"))
                if callable(status):
                    status, body = status()
                location = "/elsewhere"
                if status == "ssl-redirect":  # Django's SECURE_SSL_REDIRECT with SECURE_PROXY_SSL_HEADER
                    secure = self.headers.get("X-Forwarded-Proto") == "https"
                    status, location = (200, "") if secure else (301, f"https://{self.headers['Host']}{self.path}")
                data = body.encode()
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    made = Site()
    yield made
    made.close()


def gate(**params):
    """Run the module; -> (rc, result, seconds)."""
    return run_module("health_gate", {"interval": 0.2, **params})


def test_smoke_urls_below_500_pass_and_redirects_are_not_followed(site):
    site.pages = {"/": (200, "home"), "/admin/": (302, ""), "/forbidden": (403, "no")}  # 403: a page ran
    rc, result, _ = gate(port=site.port, host="shop.example.com", paths=["/", "/admin/", "/forbidden"])
    assert rc == 0, result
    assert result["passed"]
    assert not result["changed"]
    assert {path: page["status"] for path, page in result["pages"].items()} == {
        "/": 200,
        "/admin/": 302,
        "/forbidden": 403,
    }
    assert all(page["passed"] for page in result["pages"].values())
    assert set(site.hosts) == {"shop.example.com"}
    assert "/elsewhere" not in site.hosts


def test_a_page_that_answers_500_then_200_passes_once_it_serves(site):
    started = time.monotonic()
    site.pages = {"/": (lambda: (200, "ok") if time.monotonic() - started > 1.0 else (502, "bad gateway"), "")}
    rc, result, _ = gate(port=site.port, paths=["/"], timeout=20)
    assert rc == 0, result
    assert result["pages"]["/"]["status"] == 200
    assert len(site.hosts) >= 3, "it passed before the page served"


def test_a_smoke_url_that_404s_fails_at_once_naming_it(site):
    site.pages = {"/": (200, "home")}
    rc, result, seconds = gate(port=site.port, paths=["/", "/no-such-page/"], timeout=30)
    assert rc != 0
    assert result["passed"] is False
    assert "GET /no-such-page/ (Host localhost) answered 404" in result["msg"]
    assert "deploy_smoke_urls" in result["msg"]
    assert seconds < 10, "a 404 must not wait for the timeout"


def test_a_health_endpoint_must_report_the_new_version(site):
    site.pages = {"/": (200, "home"), "/healthz": (200, json.dumps({"version": "1.0.0"}))}
    rc, result, _ = gate(port=site.port, paths=["/"], health_path="/healthz", version="2.0.0", timeout=2)
    assert rc != 0
    assert "not served within 2 s" in result["msg"]
    assert "GET /healthz: HTTP 200 reports version '1.0.0', expected '2.0.0'" in result["msg"]
    assert result["pages"]["/"]["passed"]
    site.pages["/healthz"] = (200, json.dumps({"version": "2.0.0", "status": "ok"}))
    rc, result, _ = gate(port=site.port, paths=["/"], health_path="/healthz", version="2.0.0", timeout=5)
    assert rc == 0, result


def test_a_health_endpoint_that_answers_503_fails_after_the_timeout_with_its_body(site):
    site.pages = {"/healthz": (503, json.dumps({"status": "fail", "failed": ["region"], "version": "3.0.0"}))}
    rc, result, _ = gate(port=site.port, paths=[], health_path="/healthz", version="3.0.0", timeout=1)
    assert rc != 0
    assert "GET /healthz: HTTP 503" in result["msg"]
    assert '"failed": ["region"]' in result["msg"]


def test_a_missing_health_endpoint_fails_at_once_with_the_hint(site):
    site.pages = {"/": (200, "home")}
    rc, result, seconds = gate(port=site.port, paths=["/"], health_path="/healthz", timeout=30)
    assert rc != 0
    assert "GET /healthz (Host localhost) answered 404" in result["msg"]
    assert "deploy_health_path" in result["msg"]
    assert seconds < 10


def test_nothing_listening_fails_after_the_timeout_naming_the_error(site):
    port = site.port
    site.close()
    rc, result, _ = gate(port=port, paths=["/"], timeout=1)
    assert rc != 0
    assert "GET /: HTTP none ConnectionRefusedError" in result["msg"]


def test_bad_paths_are_refused(site):
    rc, result, _ = gate(port=site.port, paths=["healthz"])
    assert rc != 0
    assert "paths must start with '/': healthz" in result["msg"]
    rc, result, _ = gate(port=site.port, paths=[])
    assert rc != 0
    assert "nothing to check" in result["msg"]


def test_a_host_outside_allowed_hosts_fails_at_once(site):
    """Django answers 400 to a Host outside ALLOWED_HOSTS: a 'page below 500' that proves nothing."""
    site.pages = {"/": (400, "Bad Request (400)")}
    rc, result, seconds = gate(port=site.port, host="shop.example.org", paths=["/"], timeout=30)
    assert rc != 0
    assert "GET / (Host shop.example.org) answered 400 Bad Request" in result["msg"]
    assert "deploy_health_host" in result["msg"]
    assert seconds < 10


def test_a_redirect_to_https_fails_at_once_unless_the_gate_says_https(site):
    """SECURE_SSL_REDIRECT answers before any view: that 301 is no page served. With X-Forwarded-Proto
    https (what the deploy sends, as the lb and a TLS terminator do) the page itself answers."""
    site.pages = {"/": ("ssl-redirect", "home")}
    rc, result, seconds = gate(port=site.port, host="shop.example.com", paths=["/"], timeout=30)
    assert rc != 0
    assert not result["passed"]
    assert "answered 301, a redirect to https://shop.example.com/: no page of the release ran" in result["msg"]
    assert "SECURE_PROXY_SSL_HEADER" in result["msg"]
    assert seconds < 10

    rc, result, _ = gate(port=site.port, host="shop.example.com", paths=["/"], forwarded_proto="https")
    assert rc == 0, result
    assert result["pages"]["/"]["status"] == 200
