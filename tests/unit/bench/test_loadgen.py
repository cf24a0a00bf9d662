"""The load generator counts what a real HTTP server on 127.0.0.1 answers, and stops by itself."""

import http.server
import threading
import time

import pytest

from bench import loadgen


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers GET with 200, and every third POST with 503."""

    posts = 0
    protocol_version = "HTTP/1.1"

    def _answer(self, status):
        body = b"[]"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer(200)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Handler.posts += 1
        self._answer(503 if Handler.posts % 3 == 0 else 201)

    def log_message(self, *args):
        pass


class ClosingHandler(Handler):
    """Closes every connection right after its answer without saying so, as a reloading nginx
    closes idle keep-alive connections: the client's next request on it gets no answer."""

    def _answer(self, status):
        super()._answer(status)
        self.wfile.flush()
        self.close_connection = True


def serve(handler):
    """A real HTTP server on a free loopback port, in a thread: its URL, then it stops."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def closing_server():
    yield from serve(ClosingHandler)


def test_a_request_on_a_keepalive_connection_the_server_closed_is_retried_once_and_counted(closing_server):
    results = loadgen.run(closing_server, rate=50, seconds=5, max_requests=20, write_every=0, workers=1, timeout=5)
    summary = results.summary()
    assert summary["requests"] == 20
    assert summary["failed"] == 0
    assert summary["retried"] >= 10, "the closed connections were not noticed"
    assert len(results.retried_flags) == 20
    assert sum(results.retried_flags) == summary["retried"]


def test_windows_count_the_requests_started_in_them(server):
    results = loadgen.run(server, rate=100, seconds=5, max_requests=50, write_every=0, workers=1, timeout=5)
    middle = results.times[25]
    before, after = results.window(0, middle), results.window(middle)
    assert before["requests"] == 25
    assert after["requests"] == 25
    assert before["failed"] == after["failed"] == 0


@pytest.fixture
def server():
    yield from serve(Handler)


def test_counts_requests_and_failures_by_status(server):
    Handler.posts = 0
    results = loadgen.run(server, rate=200, seconds=5, max_requests=60, write_every=2, workers=2, timeout=5)
    summary = results.summary()
    assert summary["requests"] == 60
    assert summary["failures"] == {"503": Handler.posts // 3}
    assert summary["failed"] == Handler.posts // 3 > 0
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]


def test_stops_after_its_time_bound(server):
    began = time.monotonic()
    results = loadgen.run(server, rate=20, seconds=1.5, max_requests=10_000, write_every=0, workers=2, timeout=5)
    assert time.monotonic() - began < 4
    assert 10 <= results.requests <= 40


def test_connection_errors_count_as_failures():
    # A loopback port nobody listens on.
    results = loadgen.run("http://127.0.0.1:9", rate=50, seconds=2, max_requests=5, write_every=0, workers=1, timeout=1)
    assert results.requests == 5
    assert results.summary()["failed"] == 5


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:80", "http://192.168.0.10:8080", "https://127.0.0.1", "ftp://localhost"]
)
def test_refuses_anything_but_loopback_http(url):
    with pytest.raises(ValueError, match="--url"):
        loadgen.loopback_target(url)


def test_percentile_nearest_rank():
    assert loadgen.percentile([], 50) == 0
    assert loadgen.percentile([1, 2, 3, 4], 50) == 2
    assert loadgen.percentile([1, 2, 3, 4], 99) == 4
