"""The load generator counts what a real HTTP server on 127.0.0.1 answers, and stops by itself."""

import http.server
import json
import ssl
import threading
import time
from collections import Counter

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
    "url", ["http://10.0.0.1:80", "http://192.168.0.10:8080", "https://10.0.0.1", "ftp://localhost"]
)
def test_refuses_anything_but_loopback_http(url):
    with pytest.raises(ValueError, match="--url"):
        loadgen.loopback_target(url)


def test_percentile_nearest_rank():
    assert loadgen.percentile([], 50) == 0
    assert loadgen.percentile([1, 2, 3, 4], 50) == 2
    assert loadgen.percentile([1, 2, 3, 4], 99) == 4


class SiteHandler(http.server.BaseHTTPRequestHandler):
    """A project's pages: /redirect answers 302, /missing 404, anything else 200; every request seen
    (method, path, headers, body) is kept in `seen` (a fresh list per test: see the site fixture)."""

    protocol_version = "HTTP/1.1"
    seen: list
    lock = threading.Lock()

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            self.seen.append((self.command, self.path, self.headers, body))
        status = {"/redirect": 302, "/missing": 404}.get(self.path, 200)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/login/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    """(url, the requests the site saw)."""
    handler = type("Site", (SiteHandler,), {"seen": []})
    for url in serve(handler):
        yield url, handler.seen


def load(url, requests, max_requests=20, **options):
    return loadgen.run(
        url,
        rate=200,
        seconds=5,
        max_requests=max_requests,
        write_every=0,
        workers=2,
        timeout=5,
        requests=requests,
        **options,
    )


def test_request_lines_are_sent_in_weighted_rotation(site):
    url, seen = site
    results = load(url, ["3 GET /a", "GET /b", "2 HEAD /c"], max_requests=60)
    paths = Counter((method, path) for method, path, _, _ in seen)
    assert paths == {("GET", "/a"): 30, ("GET", "/b"): 10, ("HEAD", "/c"): 20}
    assert [line["requests"] for line in results.summary()["per_request"]] == [30, 10, 20]
    # The weights interleave within a round, in the order of the lines.
    assert loadgen.rotation([loadgen.parse_request("3 GET /a"), loadgen.parse_request("GET /b")]) == [0, 0, 1, 0]
    assert loadgen.rotation([loadgen.parse_request("GET /a"), loadgen.parse_request("GET /b")]) == [0, 1]


def test_headers_and_host_reach_the_server_the_connection_stays_on_loopback(site):
    url, seen = site
    load(
        url,
        ["GET /a"],
        max_requests=4,
        headers=["X-Token: abc", "Accept-Encoding: identity", "Cookie: a=1; b=2"],
        host="shop.example.com",
    )
    assert len(seen) == 4
    for _, _, headers, _ in seen:
        assert headers.get_all("Host") == ["shop.example.com"]
        assert headers["X-Token"] == "abc"
        assert headers.get_all("Accept-Encoding") == ["identity"], "a --header replaces the default one"
        assert headers["Cookie"] == "a=1; b=2"
    assert loadgen.loopback_target(url)[0] == "127.0.0.1"


def test_without_host_the_host_header_names_the_url(site):
    url, seen = site
    load(url, ["GET /a"], max_requests=2, headers={"X-Token": "abc"})
    assert {headers["Host"] for _, _, headers, _ in seen} == {url.removeprefix("http://")}
    assert {headers["Accept-Encoding"] for _, _, headers, _ in seen} == {"gzip"}


def test_a_redirect_is_a_failure_unless_ok_status_lets_it_through(site):
    url, _ = site
    assert load(url, ["GET /redirect"], max_requests=6).summary()["failures"] == {"302": 6}
    for ok in ("200,301,302", "200-399", "2xx,3xx", [200, 302]):
        assert load(url, ["GET /redirect"], max_requests=6, ok_status=ok).summary()["failed"] == 0, ok
    # Only what is listed: the 200s fail when only 302 is a success.
    summary = load(url, ["GET /a", "GET /redirect"], max_requests=6, ok_status="302").summary()
    assert summary["failures"] == {"200": 3}


def test_ok_status_syntax():
    assert loadgen.parse_ok_status("200,301,302") == {200, 301, 302}
    assert loadgen.parse_ok_status("200-202, 3xx") == {200, 201, 202, *range(300, 400)}
    assert loadgen.parse_ok_status("2XX") == set(range(200, 300))


@pytest.mark.parametrize("text", ["", "20x", "ok", "200-", "299-200", "600", "6xx", "200;301"])
def test_ok_status_refuses_anything_else_naming_the_option(text):
    with pytest.raises(ValueError, match=r"^--ok-status"):
        loadgen.parse_ok_status(text)


def test_figures_per_request_line(site):
    url, _ = site
    summary = load(url, ["GET /a", "GET /missing", 'POST /api/things {"name": "x"}'], max_requests=30).summary()
    assert summary["requests"] == 30
    assert summary["failed"] == 10
    assert summary["failures"] == {"404": 10}
    lines = summary["per_request"]
    assert [line["request"] for line in lines] == ["GET /a", "GET /missing", 'POST /api/things {"name": "x"}']
    assert [(line["requests"], line["failed"], line["failures"]) for line in lines] == [
        (10, 0, {}),
        (10, 10, {"404": 10}),
        (10, 0, {}),
    ]
    for line in lines:
        assert line["weight"] == 1
        assert 0 < line["latency_ms"]["p50"] <= line["latency_ms"]["p99"]


def test_the_example_mix_keeps_todays_summary(site):
    url, seen = site
    results = loadgen.run(url, rate=200, seconds=5, max_requests=20, write_every=10, workers=2, timeout=5)
    assert "per_request" not in results.summary()
    assert Counter((method, path) for method, path, _, _ in seen) == {
        ("GET", "/api/airports"): 18,
        ("POST", "/api/airports"): 2,
    }


def test_request_lines_are_refused_with_write_every(site):
    url, _ = site
    with pytest.raises(ValueError, match="--write-every"):
        loadgen.run(url, 50, 1, 5, 10, 1, 5, requests=["GET /"])


def test_bodies_inline_and_from_a_file(site, tmp_path):
    url, seen = site
    (tmp_path / "thing.json").write_bytes(b'{"name": "from a file", "n": 1}\n')
    (tmp_path / "form.txt").write_bytes(b"a=1&b=2")
    requests = tmp_path / "requests.txt"
    requests.write_text(
        "# a project's requests\n"
        "\n"
        "POST /api/things @thing.json\n"
        '  PUT /api/things/1 {"name": "inline"}\n'
        "post /form @form.txt\n"
    )
    results = load(url, loadgen.parse_requests_file(str(requests)), max_requests=3)
    bodies = {(method, path): (headers["Content-Type"], body) for method, path, headers, body in seen}
    assert bodies == {
        ("POST", "/api/things"): ("application/json", b'{"name": "from a file", "n": 1}\n'),
        ("PUT", "/api/things/1"): ("application/json", b'{"name": "inline"}'),
        ("POST", "/form"): ("application/json", b"a=1&b=2"),
    }
    labels = [line["request"] for line in results.summary()["per_request"]]
    assert labels == ["POST /api/things @thing.json", 'PUT /api/things/1 {"name": "inline"}', "POST /form @form.txt"]
    # A --header gives another Content-Type.
    seen.clear()
    load(url, [f"POST /form @{tmp_path / 'form.txt'}"], max_requests=1, headers=["Content-Type: text/plain"])
    assert [(headers.get_all("Content-Type"), body) for _, _, headers, body in seen] == [(["text/plain"], b"a=1&b=2")]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("", "empty"),
        ("GET", "no path"),
        ("3 POST", "no path"),
        ("/admin/login/", "no method"),
        ("FETCH /", "unknown method 'FETCH'"),
        ("GET admin/", "must start with /"),
        ("GET http://10.0.0.1/", "must start with /"),
        ("GET /caf\u00e9", "ASCII"),
        ("0 GET /", "weight"),
        ("1001 GET /", "weight"),
        ("POST /x @", "no file name"),
        ("POST /x @/nonexistent/body.json", "cannot read the body file '/nonexistent/body.json'"),
    ],
)
def test_bad_request_lines_are_refused_naming_the_option(line, why):
    with pytest.raises(ValueError, match=r"^--request ") as error:
        loadgen.parse_request(line)
    assert why in str(error.value)


def test_weights_add_up_to_at_most_1000(site):
    url, _ = site
    with pytest.raises(ValueError, match="--request: the weights add up to 1500"):
        load(url, ["1000 GET /a", "500 GET /b"])


def test_a_bad_line_in_a_requests_file_is_named_by_file_and_line(tmp_path):
    requests = tmp_path / "requests.txt"
    requests.write_text("GET /\n# fine\nFETCH /x\n")
    with pytest.raises(ValueError, match=r"^--requests-file .*requests.txt line 3 'FETCH /x': unknown method"):
        loadgen.parse_requests_file(str(requests))
    requests.write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="holds no request"):
        loadgen.parse_requests_file(str(requests))
    with pytest.raises(ValueError, match=r"^--requests-file .*missing.txt"):
        loadgen.parse_requests_file(str(tmp_path / "missing.txt"))


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("X-Token abc", "expected 'Name: value'"),
        ("Bad Name: x", "expected 'Name: value'"),
        (": x", "expected 'Name: value'"),
        ("Host: shop.example.com", "use --host"),
        ("Content-Length: 3", "sets Content-Length itself"),
        ("X-Name: caf\u00e9\u20ac", "Latin-1"),
    ],
)
def test_bad_headers_are_refused_naming_the_option(header, why):
    with pytest.raises(ValueError, match=r"^--header ") as error:
        loadgen.parse_headers([header])
    assert why in str(error.value)


def test_a_header_given_twice_is_refused():
    with pytest.raises(ValueError, match=r"^--header 'x-token' given twice"):
        loadgen.parse_headers(["X-Token: a", "x-token: b"])


@pytest.mark.parametrize("host", ["shop example", "shop.example.com/admin", "http://shop", "", "a:b"])
def test_bad_hosts_are_refused_naming_the_option(host):
    with pytest.raises(ValueError, match=r"^--host "):
        loadgen.check_host(host)


def test_hosts_with_a_port_or_an_address():
    for host in ("shop.example.com", "shop.example.com:8080", "localhost", "[::1]:80", "10.0.0.1"):
        assert loadgen.check_host(host) == host


def cli(capsys, *argv):
    """main(argv) -> (exit code, stdout, stderr)."""
    try:
        code = loadgen.main(list(argv))
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_command_line_requests_per_line_figures_in_text_and_json(site, tmp_path, capsys):
    url, seen = site
    (tmp_path / "body.json").write_text('{"name": "x"}')
    common = ("--url", url, "--rate", "200", "--max-requests", "12", "--workers", "1", "--host", "shop.example.com")
    requests = (
        "--request",
        "2 GET /",
        "--request",
        "GET /redirect",
        "--request",
        f"POST /api/things @{tmp_path}/body.json",
    )
    code, out, _ = cli(capsys, *common, *requests, "--header", "X-Token: abc", "--ok-status", "2xx,302")
    assert code == 0
    total, *lines = out.splitlines()
    assert total.startswith("requests 12 failed 0  retried 0 in ")
    assert [line.split(":")[0] for line in lines] == [
        "  GET /",
        "  GET /redirect",
        f"  POST /api/things @{tmp_path}/body.json",
    ]
    assert lines[0].startswith("  GET /: requests 6 failed 0  p50 ")
    assert {headers["X-Token"] for _, _, headers, _ in seen} == {"abc"}

    code, out, _ = cli(capsys, *common, *requests, "--json")
    summary = json.loads(out)
    assert summary["failures"] == {"302": 3}
    assert [(line["request"], line["weight"], line["requests"], line["failed"]) for line in summary["per_request"]] == [
        ("GET /", 2, 6, 0),
        ("GET /redirect", 1, 3, 3),
        (f"POST /api/things @{tmp_path}/body.json", 1, 3, 0),
    ]


def test_command_line_without_requests_prints_todays_summary(site, capsys):
    url, seen = site
    code, out, _ = cli(capsys, "--url", url, "--rate", "200", "--max-requests", "10", "--workers", "1")
    assert code == 0
    assert len(out.splitlines()) == 1
    assert out.startswith("requests 10 failed 0  retried 0 in ")
    assert Counter(method for method, _, _, _ in seen) == {"GET": 9, "POST": 1}
    code, out, _ = cli(capsys, "--url", url, "--rate", "200", "--max-requests", "10", "--workers", "1", "--json")
    assert set(json.loads(out)) == {"requests", "failed", "failures", "retried", "seconds", "latency_ms", "marks"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--request", "GET"], "--request 'GET': no path"),
        (["--request", "BREW /coffee"], "--request 'BREW /coffee': unknown method 'BREW'"),
        (["--requests-file", "/nonexistent/requests.txt"], "--requests-file '/nonexistent/requests.txt'"),
        (["--request", "GET /", "--write-every", "5"], "--write-every is for the example's mix only"),
        (["--header", "Host: x"], "--header 'Host: x': use --host"),
        (["--host", "a b"], "--host 'a b'"),
        (["--ok-status", "2xx,30"], "--ok-status '2xx,30'"),
    ],
)
def test_command_line_refuses_bad_input_naming_the_option(capsys, argv, message):
    code, out, err = cli(capsys, "--url", "http://127.0.0.1:9", "--max-requests", "1", *argv)
    assert code == 2
    assert out == ""
    assert f"error: {message}" in err


def test_command_line_refuses_a_url_not_on_loopback_with_requests(capsys):
    code, _, err = cli(capsys, "--url", "http://10.0.0.1:80", "--request", "GET /", "--host", "shop.example.com")
    assert code == 2
    assert "error: --url 'http://10.0.0.1:80' is not a loopback address" in err


def test_command_line_takes_requests_and_files_in_their_order(site, tmp_path, capsys):
    url, _ = site
    (tmp_path / "requests.txt").write_text("GET /a\n2 GET /b\n")
    common = ("--url", url, "--rate", "200", "--max-requests", "8", "--workers", "1", "--json")
    for order, expected in [
        (("--request", "GET /c", "--requests-file", f"{tmp_path}/requests.txt"), ["GET /c", "GET /a", "GET /b"]),
        (("--requests-file", f"{tmp_path}/requests.txt", "--request", "GET /c"), ["GET /a", "GET /b", "GET /c"]),
    ]:
        code, out, _ = cli(capsys, *common, *order)
        assert code == 0
        lines = json.loads(out)["per_request"]
        assert [line["request"] for line in lines] == expected
        assert sum(line["requests"] for line in lines) == 8


@pytest.fixture
def tls_site(tmp_path):
    """A real HTTPS server on loopback with a certificate for 127.0.0.1 from a CA made here:
    (its https URL, the CA file)."""
    from tools import local_ca

    local_ca.make(tmp_path, names=["localhost"], ips=["127.0.0.1"], days=1, subject="loadgen test CA")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "site.crt", tmp_path / "site.key")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Site", (SiteHandler,), {"seen": []}))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", str(tmp_path / "ca.crt")
    httpd.shutdown()


def test_https_is_verified_against_the_given_ca(tls_site):
    url, ca = tls_site
    results = load(url, ["GET /a"], max_requests=6, cacert=ca)
    assert results.summary()["failed"] == 0
    assert results.requests == 6


def test_https_from_an_unknown_ca_fails_every_request(tls_site):
    url, _ = tls_site
    summary = load(url, ["GET /a"], max_requests=3).summary()
    assert summary["failed"] == 3
    assert summary["failures"] == {"SSLCertVerificationError": 3}


def test_cacert_needs_https_and_a_readable_file(tls_site, tmp_path):
    url, _ = tls_site
    with pytest.raises(ValueError, match="--cacert is for an https"):
        load(url.replace("https:", "http:"), ["GET /a"], cacert="/nonexistent")
    with pytest.raises(ValueError, match="--cacert /nonexistent"):
        load(url, ["GET /a"], cacert="/nonexistent")
