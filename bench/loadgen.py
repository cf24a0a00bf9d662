#!/usr/bin/env python3
"""A bounded load generator: any paths of a project, or the example app's /api/airports mix.

    python3 -m bench.loadgen --url http://127.0.0.1:18112 --rate 100 --seconds 20 [--max-requests N]
    python3 -m bench.loadgen --url http://127.0.0.1:18112 --host shop.example.com \\
        --request "3 GET /" --request "GET /admin/login/" --request 'POST /api/things {"name": "x"}' \\
        --header "Authorization: Token abc" --ok-status 2xx,301,302

It stops by itself after --seconds or --max-requests, whichever comes first, and prints requests,
failures by status (or error), and latency percentiles, as text or --json. Only loopback targets
are accepted: the test bed publishes its ports on 127.0.0.1 and nothing else may be loaded. An
https:// --url is verified like a browser would, against --cacert FILE (the CA that signed the lb's
certificate, e.g. the demo's .cache/demo/tls/ca.crt) or the system's CAs.

Without --request it loads the example app: one request in --write-every (default 10) is a POST
creating an airport (the app's write path); the others GET /api/airports.

--request '[WEIGHT] METHOD /PATH [BODY]' (repeatable) replaces that mix: the lines are taken in
rotation, each WEIGHT times a round (1 by default; 1 to 1000, at most 1000 in all), spread through
it: '3 GET /' and 'GET /about' send / / /about / / / /about / ... METHOD is one of GET HEAD POST PUT
PATCH DELETE OPTIONS; PATH starts with / (the connection always goes to --url). BODY is the rest of
the line, sent as is, or @FILE: that file's bytes; a body goes with Content-Type: application/json
unless a --header gives another. --requests-file FILE holds such lines, one a line (# comments and
blank lines skipped; an @FILE in it is relative to its folder); --request and --requests-file
may be repeated and mixed, in their command line order. The summary then gives requests, failed,
failures and latency percentiles per request line too (`per_request` in --json).
--header 'Name: value' (repeatable) goes with every request; --host NAME is the Host header (for an
lb that routes by name): the connection still goes to --url, on loopback.

A failure is a connection error, a timeout, or a status outside --ok-status: 2xx by default;
e.g. 200,301,302 or 200-399 or 2xx,3xx to count the redirects of pages that answer one.

Like a browser, a request sent on a reused keep-alive connection that the server had just closed
(it gets no answer at all: the server closed the idle connection, as nginx does when it reloads)
is sent once more on a new connection; those are counted apart as `retried`, never hidden.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import pathlib
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_WEIGHT = 1000  # per request line, and in all: weights are ratios
# The load the suite's deploy stories run under (tests/rolling_bed.py, tests/project_bed.py): 10
# requests/s catch a gap of a fifth of a second in every deploy; make bench-deploy loads 40/s for
# its figures. Measured on the rolling hosts: serving 20/s took 0.19 of a core, 10/s 0.10, which
# the suite's three lanes on two cores give back to the deploys.
SUITE_RATE = 10.0
OK_DEFAULT = frozenset(range(200, 300))
REQUEST_FORM = "a request is '[WEIGHT] METHOD /PATH [BODY or @FILE]'"
_REQUEST = re.compile(r"(?:([0-9]+)\s+)?(\S+)(?:\s+(\S+))?(?:\s+(.*))?", re.DOTALL)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOST = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_STATUSES = re.compile(r"([1-5])xx|([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?", re.IGNORECASE)


@dataclass(frozen=True)
class RequestSpec:
    """One request line: sent `weight` times per round of the rotation; `label` names it in the summary."""

    method: str
    path: str
    body: bytes | None = None
    weight: int = 1
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", f"{self.method} {self.path}")


def parse_request(line: str, option: str = "--request", base: pathlib.Path | None = None) -> RequestSpec:
    """A RequestSpec from '[WEIGHT] METHOD /PATH [BODY or @FILE]'; a relative FILE is read from `base`
    (the current folder by default). ValueError naming `option` and the line for anything else."""

    def bad(why: str) -> ValueError:
        return ValueError(f"{option} {line!r}: {why}")

    match = _REQUEST.fullmatch(line.strip())
    if not match:
        raise bad(f"empty: {REQUEST_FORM}")
    weight, method, path, body_text = match.groups()
    if method.startswith("/"):
        raise bad(f"no method before the path: {REQUEST_FORM}")
    if path is None:
        raise bad(f"no path: {REQUEST_FORM}")
    if method.upper() not in METHODS:
        raise bad(f"unknown method {method!r} (one of {', '.join(METHODS)})")
    if not path.startswith("/"):
        raise bad("the path must start with / (the connection always goes to --url; --host sets the Host header)")
    if not path.isascii() or not path.isprintable():
        raise bad("the path must be printable ASCII (percent-encode anything else)")
    if weight is not None and not 1 <= int(weight) <= MAX_WEIGHT:
        raise bad(f"the weight must be 1 to {MAX_WEIGHT}")
    method = method.upper()
    label = f"{method} {path}"
    body = None
    if body_text is not None:
        if body_text.startswith("@"):
            name = body_text[1:].strip()
            if not name:
                raise bad("no file name after @")
            try:
                body = ((base or pathlib.Path()) / name).read_bytes()
            except OSError as error:
                raise bad(f"cannot read the body file {name!r}: {error.strerror or error}") from None
            label += f" @{name}"
        else:
            body = body_text.encode()
            label += f" {body_text if len(body_text) <= 40 else body_text[:39] + '…'}"
    return RequestSpec(method, path, body, int(weight or 1), label)


def parse_requests_file(path: str) -> list[RequestSpec]:
    """The request lines of a file (see parse_request): # comments and blank lines skipped; an @FILE
    body is relative to the file's folder."""
    try:
        text = pathlib.Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--requests-file {path!r}: {getattr(error, 'strerror', None) or error}") from None
    specs = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            specs.append(parse_request(line, f"--requests-file {path} line {number}", pathlib.Path(path).parent))
    if not specs:
        raise ValueError(f"--requests-file {path!r} holds no request: {REQUEST_FORM}, one a line")
    return specs


def parse_header(text: str) -> tuple[str, str]:
    """('Name', 'value') from 'Name: value'; ValueError naming --header otherwise."""
    name, colon, value = text.partition(":")
    if not colon:
        raise ValueError(f"--header {text!r}: expected 'Name: value'")
    return check_header(name.strip(), value.strip(), text)


def check_header(name: str, value: str, text: str | None = None) -> tuple[str, str]:
    """(name, value) if they can go with every request; ValueError naming --header otherwise."""
    text = f"{name}: {value}" if text is None else text
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"--header {text!r}: expected 'Name: value' (a name of letters, digits and -)")
    if name.lower() == "host":
        raise ValueError(f"--header {text!r}: use --host for the Host header")
    if name.lower() in ("content-length", "transfer-encoding"):
        raise ValueError(f"--header {text!r}: the load generator sets {name} itself")
    if not value.isprintable():
        raise ValueError(f"--header {text!r}: the value must be printable, on one line")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"--header {text!r}: the value must be Latin-1 (HTTP header values are)") from None
    return name, value


def parse_headers(headers: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """A checked dict of headers from a mapping or 'Name: value' strings; a name given twice is refused."""
    if not headers:
        return {}
    if isinstance(headers, Mapping):
        items = [check_header(str(name), str(value)) for name, value in headers.items()]
    else:
        items = [parse_header(text) for text in headers]
    checked: dict[str, str] = {}
    for name, value in items:
        if name.lower() in (known.lower() for known in checked):
            raise ValueError(f"--header {name!r} given twice")
        checked[name] = value
    return checked


def check_host(name: str) -> str:
    """The Host header's value: a name or [IPv6] address, an optional :port; ValueError naming --host."""
    if not _HOST.fullmatch(name):
        raise ValueError(f"--host {name!r}: expected a host name with an optional :port (the Host header)")
    return name


def parse_ok_status(text: str) -> frozenset[int]:
    """The statuses counted as success from '200,301,302', ranges '200-399' and classes '2xx'."""
    statuses: set[int] = set()
    for item in text.split(","):
        match = _STATUSES.fullmatch(item.strip())
        if not match:
            raise ValueError(f"--ok-status {text!r}: expected statuses like 200,301,302, ranges 200-399 or 2xx")
        klass, low, high = match.groups()
        first, last = (int(klass) * 100, int(klass) * 100 + 99) if klass else (int(low), int(high or low))
        if first > last:
            raise ValueError(f"--ok-status {text!r}: the range {item.strip()} is backwards")
        statuses.update(range(first, last + 1))
    return frozenset(statuses)


def rotation(specs: Sequence[RequestSpec]) -> list[int]:
    """One round of the weighted rotation: the index of each request line, `weight` times, spread out
    (smooth weighted round robin: weights 3 and 1 give 0, 0, 1, 0)."""
    total = sum(spec.weight for spec in specs)
    if total > MAX_WEIGHT:
        raise ValueError(f"--request: the weights add up to {total}, at most {MAX_WEIGHT} (they are ratios)")
    current = [0] * len(specs)
    order = []
    for _ in range(total):
        for i, spec in enumerate(specs):
            current[i] += spec.weight
        best = max(range(len(specs)), key=current.__getitem__)
        current[best] -= total
        order.append(best)
    return order


@dataclass
class Results:
    """What the generator saw; safe to update from several threads through record()."""

    # Every time here is time.monotonic() based: seconds after `started`. `wall_started` is the
    # wall clock (time.time()) at that same instant, to place epoch timestamps (a deploy summary's)
    # on this time base: seconds after `started` = epoch - wall_started.
    started: float = field(default_factory=time.monotonic)
    wall_started: float | None = None
    requests: int = 0
    failures: Counter = field(default_factory=Counter)
    # Requests sent again on a new connection after the server closed an idle keep-alive one.
    retried: int = 0
    latencies: list[float] = field(default_factory=list)
    # Per request: when it started (seconds after `started`) and whether it failed.
    times: list[float] = field(default_factory=list)
    failed_flags: list[bool] = field(default_factory=list)
    # Per request: whether it was sent again on a new connection (see Client.request).
    retried_flags: list[bool] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)
    # The --request lines (run() sets them; empty for the example's mix), and per request the
    # index of its line in them (-1: none), and the failures by status of each line.
    request_lines: list[RequestSpec] = field(default_factory=list)
    request_ids: list[int] = field(default_factory=list)
    line_failures: defaultdict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.wall_started is None:
            # Both clocks read back to back, then the wall clock moved back to `started`.
            wall, monotonic = time.time(), time.monotonic()
            self.wall_started = wall - (monotonic - self.started)

    def since_started(self, epoch: float) -> float:
        """An epoch timestamp (time.time() base) as seconds after `started` (the base of times and marks)."""
        return epoch - self.wall_started

    def record(
        self,
        outcome: str | int,
        seconds: float,
        began: float | None = None,
        retried: bool = False,
        request: int | None = None,
        ok: frozenset[int] | None = None,
    ) -> None:
        """One request: its status (or error name), latency, start; `request`: the index of its line in
        request_lines; `ok`: the statuses that are a success (2xx by default)."""
        failed = not (isinstance(outcome, int) and outcome in (OK_DEFAULT if ok is None else ok))
        with self.lock:
            self.requests += 1
            self.retried += retried
            self.latencies.append(seconds)
            self.times.append((time.monotonic() - seconds if began is None else began) - self.started)
            self.failed_flags.append(failed)
            self.retried_flags.append(bool(retried))
            self.request_ids.append(-1 if request is None else request)
            if failed:
                self.failures[str(outcome)] += 1
                if request is not None:
                    self.line_failures[request][str(outcome)] += 1

    def now(self) -> float:
        """Seconds since the generator started (the time base of marks and windows)."""
        return time.monotonic() - self.started

    def window(self, start: float, end: float | None = None) -> dict:
        """Requests, failures and latency percentiles of the requests started in [start, end)."""
        end = float("inf") if end is None else end
        with self.lock:
            picked = [i for i, at in enumerate(self.times) if start <= at < end]
            ordered = sorted(self.latencies[i] for i in picked)
            failed = sum(1 for i in picked if self.failed_flags[i])
        return {
            "requests": len(picked),
            "failed": failed,
            "latency_ms": {f"p{p}": round(percentile(ordered, p) * 1000, 1) for p in (50, 90, 99)},
        }

    def mark(self, label: str) -> None:
        with self.lock:
            self.marks.append((time.monotonic() - self.started, label))

    def summary(self) -> dict:
        """Totals; with request lines, also `per_request`: the figures of each line, in their order."""
        with self.lock:
            ordered = sorted(self.latencies)
            summary = {
                "requests": self.requests,
                "failed": sum(self.failures.values()),
                "failures": dict(self.failures),
                "retried": self.retried,
                "seconds": round(time.monotonic() - self.started, 2),
                "latency_ms": {f"p{p}": round(percentile(ordered, p) * 1000, 1) for p in (50, 90, 99)},
                "marks": [{"at": round(at, 2), "label": label} for at, label in self.marks],
            }
            if self.request_lines:
                latencies: list[list[float]] = [[] for _ in self.request_lines]
                for index, seconds in zip(self.request_ids, self.latencies, strict=True):
                    if 0 <= index < len(latencies):
                        latencies[index].append(seconds)
                summary["per_request"] = [
                    {
                        "request": spec.label,
                        "weight": spec.weight,
                        "requests": len(latencies[index]),
                        "failed": sum(self.line_failures[index].values()),
                        "failures": dict(self.line_failures[index]),
                        "latency_ms": {
                            f"p{p}": round(percentile(sorted(latencies[index]), p) * 1000, 1) for p in (50, 90, 99)
                        },
                    }
                    for index, spec in enumerate(self.request_lines)
                ]
            return summary


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of an ascending list (nearest rank); 0 for an empty list."""
    if not ordered:
        return 0.0
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def loopback_target(url: str) -> tuple[str, int]:
    """Host and port of url; refuses anything that does not resolve to loopback only."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must be http(s)://<loopback address>:<port>, not {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ValueError(f"--url {url!r} is not a loopback address: the load generator only loads 127.0.0.1")
    return parts.hostname, port


class Client:
    """One keep-alive connection; reconnects after an error. `headers` go with every request (a Host
    among them replaces the one naming --url's address)."""

    # What a server closing an idle keep-alive connection looks like to the client that just sent
    # a request on it: no status line at all.
    STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.timeout, self.tls = host, port, timeout, tls
        self.headers = dict(headers or {})
        self.conn: http.client.HTTPConnection | None = None
        self.answered = 0  # responses read on the current connection

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bool]:
        """-> (status, whether it had to be sent again on a new connection)."""
        reused = self.conn is not None and self.answered > 0
        try:
            return self._send(method, path, body), False
        except self.STALE_CONNECTION:
            if not reused:
                raise
        return self._send(method, path, body), True

    def _send(self, method: str, path: str, body: bytes | None) -> int:
        if self.conn is None:
            self.conn = (
                http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.tls)
                if self.tls
                else http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            )
            self.answered = 0
        headers = {"Accept-Encoding": "gzip"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.headers:
            given = {name.lower() for name in self.headers}
            headers = {name: value for name, value in headers.items() if name.lower() not in given}
            headers.update(self.headers)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
            self.answered += 1
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run(
    url: str,
    rate: float,
    seconds: float,
    max_requests: int,
    write_every: int,
    workers: int,
    timeout: float,
    results: Results | None = None,
    stop: threading.Event | None = None,
    *,
    requests: Sequence[RequestSpec | str] | None = None,
    headers: Mapping[str, str] | Iterable[str] | None = None,
    host: str | None = None,
    ok_status: str | Iterable[int] | None = None,
    cacert: str | None = None,
) -> Results:
    """Send about `rate` requests a second for `seconds`, at most `max_requests`; return what happened.

    Without `requests`: the example's mix (one in `write_every` a POST /api/airports). With them
    (RequestSpecs, or lines parse_request reads): those in their weighted rotation; `write_every`
    must then be 0. `headers` ('Name: value' strings or a mapping) go with every request, `host` is
    the Host header, `ok_status` the statuses that count as success ('200,301-302,2xx' or ints;
    2xx by default). An https:// url is verified (name and chain) against `cacert`, a PEM file of
    CA certificates, or the system's CAs. ValueError, naming the command line option, for anything it cannot send."""
    target_host, port = loopback_target(url)
    tls = None
    if url.lower().startswith("https:"):
        try:
            tls = ssl.create_default_context(cafile=cacert)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(f"--cacert {cacert}: {error}") from error
    elif cacert:
        raise ValueError("--cacert is for an https:// --url")
    specs = [spec if isinstance(spec, RequestSpec) else parse_request(spec) for spec in requests or ()]
    if specs and write_every:
        raise ValueError("--write-every is for the example's mix only: with --request, give a POST line instead")
    order = rotation(specs) if specs else []
    extra = parse_headers(headers)
    if host is not None:
        extra["Host"] = check_host(host)
    if ok_status is None:
        ok = OK_DEFAULT
    elif isinstance(ok_status, str):
        ok = parse_ok_status(ok_status)
    else:
        ok = frozenset(ok_status)
    results = results or Results()
    results.request_lines = specs
    stop = stop or threading.Event()
    deadline = results.started + seconds
    interval = workers / rate
    counter = iter(range(max_requests))
    counter_lock = threading.Lock()

    def worker(index: int) -> None:
        client = Client(target_host, port, timeout, extra, tls)
        next_at = time.monotonic() + index * interval / workers
        while not stop.is_set():
            with counter_lock:
                n = next(counter, None)
            if n is None or time.monotonic() >= deadline:
                break
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at += interval
            line = None
            if specs:
                line = order[n % len(order)]
                method, path, body = specs[line].method, specs[line].path, specs[line].body
            elif write_every and n % write_every == write_every - 1:
                code = "".join(chr(65 + n // 26**k % 26) for k in (2, 1, 0))
                body = json.dumps({"iata": code, "name": f"Load {n}", "lat": 0.0, "lon": 0.0}).encode()
                method, path = "POST", "/api/airports"
            else:
                method, path, body = "GET", "/api/airports", None
            began = time.monotonic()
            again = False
            try:
                status, again = client.request(method, path, body)
                if not specs and method == "POST" and status == 409:
                    status = 201  # the airport exists from an earlier run: the write path answered
            except (OSError, http.client.HTTPException) as error:
                status: int | str = type(error).__name__
            results.record(status, time.monotonic() - began, began, again, line, ok)
        client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + timeout + 5)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:<port> of the lb")
    parser.add_argument("--rate", type=float, default=50, help="requests per second (default 50)")
    parser.add_argument("--seconds", type=float, default=20, help="stop after this long (default 20)")
    parser.add_argument("--max-requests", type=int, default=10_000, help="stop after this many (default 10000)")
    parser.add_argument(
        "--write-every", type=int, help="the example's mix: every Nth request is a POST (default 10; 0: none)"
    )
    parser.add_argument("--workers", type=int, default=4, help="concurrent connections (default 4)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per request (default 10)")
    parser.add_argument(
        "--request",
        dest="sources",
        action="append",
        type=lambda line: ("--request", line),
        metavar="LINE",
        help="'[WEIGHT] METHOD /PATH [BODY or @FILE]', repeatable: the requests sent, in weighted rotation",
    )
    parser.add_argument(
        "--requests-file",
        dest="sources",
        action="append",
        type=lambda path: ("--requests-file", path),
        metavar="FILE",
        help="request lines as --request takes them, one a line (# comments)",
    )
    parser.add_argument("--header", action="append", metavar="'NAME: VALUE'", help="sent with every request")
    parser.add_argument("--host", metavar="NAME", help="the Host header (the connection still goes to --url)")
    parser.add_argument(
        "--ok-status", metavar="STATUSES", help="success statuses, e.g. 200,301,302 or 200-399 or 2xx,3xx (default 2xx)"
    )
    parser.add_argument(
        "--cacert", metavar="FILE", help="CA certificates (PEM) that an https:// --url is verified against"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or args.max_requests <= 0 or args.workers <= 0:
        parser.error("--rate, --seconds, --max-requests and --workers must be positive")
    if args.seconds > 3600:
        parser.error("--seconds is at most 3600: every load loop is bounded")
    try:
        specs: list[RequestSpec] = []
        for option, value in args.sources or ():
            specs.extend([parse_request(value)] if option == "--request" else parse_requests_file(value))
        if specs and args.write_every is not None:
            raise ValueError("--write-every is for the example's mix only: with --request, give a POST line instead")
        write_every = 0 if specs else 10 if args.write_every is None else args.write_every
        results = run(
            args.url,
            args.rate,
            args.seconds,
            args.max_requests,
            write_every,
            args.workers,
            args.timeout,
            requests=specs,
            headers=args.header,
            host=args.host,
            ok_status=args.ok_status,
            cacert=args.cacert,
        )
    except ValueError as error:
        parser.error(str(error))
    summary = results.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        lat = summary["latency_ms"]
        print(
            f"requests {summary['requests']} failed {summary['failed']} {summary['failures'] or ''}"
            f" retried {summary['retried']} "
            f"in {summary['seconds']}s; latency p50 {lat['p50']} ms p90 {lat['p90']} ms p99 {lat['p99']} ms"
        )
        for line in summary.get("per_request", ()):
            lat = line["latency_ms"]
            print(
                f"  {line['request']}: requests {line['requests']} failed {line['failed']} {line['failures'] or ''}"
                f" p50 {lat['p50']} ms p99 {lat['p99']} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
