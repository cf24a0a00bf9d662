#!/usr/bin/env python3
"""A bounded load generator for the example app: reads and writes /api/airports at a steady rate.

    python3 -m bench.loadgen --url http://127.0.0.1:18112 --rate 100 --seconds 20 [--max-requests N]

It stops by itself after --seconds or --max-requests, whichever comes first, and prints requests,
failures by status (or error), and latency percentiles, as text or --json. Only loopback targets
are accepted: the test bed publishes its ports on 127.0.0.1 and nothing else may be loaded.
One request in --write-every is a POST creating an airport (the app's write path); the others GET
the list. A failure is any status outside 2xx, or a connection error or timeout.

Like a browser, a request sent on a reused keep-alive connection that the server had just closed
(it gets no answer at all: the server closed the idle connection, as nginx does when it reloads)
is sent once more on a new connection; those are counted apart as `retried`, never hidden.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field


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
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.wall_started is None:
            # Both clocks read back to back, then the wall clock moved back to `started`.
            wall, monotonic = time.time(), time.monotonic()
            self.wall_started = wall - (monotonic - self.started)

    def since_started(self, epoch: float) -> float:
        """An epoch timestamp (time.time() base) as seconds after `started` (the base of times and marks)."""
        return epoch - self.wall_started

    def record(self, outcome: str | int, seconds: float, began: float | None = None, retried: bool = False) -> None:
        failed = not (isinstance(outcome, int) and 200 <= outcome < 300)
        with self.lock:
            self.requests += 1
            self.retried += retried
            self.latencies.append(seconds)
            self.times.append((time.monotonic() - seconds if began is None else began) - self.started)
            self.failed_flags.append(failed)
            self.retried_flags.append(bool(retried))
            if failed:
                self.failures[str(outcome)] += 1

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
        with self.lock:
            ordered = sorted(self.latencies)
            return {
                "requests": self.requests,
                "failed": sum(self.failures.values()),
                "failures": dict(self.failures),
                "retried": self.retried,
                "seconds": round(time.monotonic() - self.started, 2),
                "latency_ms": {f"p{p}": round(percentile(ordered, p) * 1000, 1) for p in (50, 90, 99)},
                "marks": [{"at": round(at, 2), "label": label} for at, label in self.marks],
            }


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of an ascending list (nearest rank); 0 for an empty list."""
    if not ordered:
        return 0.0
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def loopback_target(url: str) -> tuple[str, int]:
    """Host and port of url; refuses anything that does not resolve to loopback only."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"--url must be http://<loopback address>:<port>, not {url!r}")
    port = parts.port or 80
    addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ValueError(f"--url {url!r} is not a loopback address: the load generator only loads 127.0.0.1")
    return parts.hostname, port


class Client:
    """One keep-alive connection; reconnects after an error."""

    # What a server closing an idle keep-alive connection looks like to the client that just sent
    # a request on it: no status line at all.
    STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
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
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.answered = 0
        headers = {"Accept-Encoding": "gzip"}
        if body is not None:
            headers["Content-Type"] = "application/json"
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
) -> Results:
    """Send about `rate` requests a second for `seconds`, at most `max_requests`; return what happened."""
    host, port = loopback_target(url)
    results = results or Results()
    stop = stop or threading.Event()
    deadline = results.started + seconds
    interval = workers / rate
    counter = iter(range(max_requests))
    counter_lock = threading.Lock()

    def worker(index: int) -> None:
        client = Client(host, port, timeout)
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
            if write_every and n % write_every == write_every - 1:
                code = "".join(chr(65 + n // 26**k % 26) for k in (2, 1, 0))
                body = json.dumps({"iata": code, "name": f"Load {n}", "lat": 0.0, "lon": 0.0}).encode()
                method, path = "POST", "/api/airports"
            else:
                method, path, body = "GET", "/api/airports", None
            began = time.monotonic()
            again = False
            try:
                status, again = client.request(method, path, body)
                if method == "POST" and status == 409:
                    status = 201  # the airport exists from an earlier run: the write path answered
            except (OSError, http.client.HTTPException) as error:
                status: int | str = type(error).__name__
            results.record(status, time.monotonic() - began, began, again)
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
    parser.add_argument("--write-every", type=int, default=10, help="every Nth request is a POST (0: none)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent connections (default 4)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per request (default 10)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or args.max_requests <= 0 or args.workers <= 0:
        parser.error("--rate, --seconds, --max-requests and --workers must be positive")
    if args.seconds > 3600:
        parser.error("--seconds is at most 3600: every load loop is bounded")
    try:
        results = run(
            args.url, args.rate, args.seconds, args.max_requests, args.write_every, args.workers, args.timeout
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
