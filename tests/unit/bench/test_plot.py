"""The picture of the deploy benchmark: binning, time bases, the JSON it is drawn from, the PNG."""

import json
import time

import pytest

from bench import loadgen, plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def synthetic_load(seconds, rate=40, burst=(), retried=()):
    """A loadgen.Results as if the load had run for `seconds` up to now: `rate` requests a second,
    every request sent in `burst` (start, end) answered 500, the requests numbered in `retried` retried."""
    results = loadgen.Results(started=time.monotonic() - seconds)
    for n in range(int(seconds * rate)):
        at = (n + 0.5) / rate  # mid-interval: no request on a bin's edge
        status = 500 if burst and burst[0] <= at < burst[1] else 200
        results.record(status, 0.01, results.started + at, n in retried)
    return results


def bench_run(label, results, summary, start=15.0, end=None):
    """One entry of bench-deploy.json, as bench/deploy.py writes it."""
    end = end if end is not None else results.now() - 5
    results.marks.extend([(start, f"{label} starts"), (end, f"{label} ends")])
    return {
        "label": label,
        "rc": 0,
        "deploy_seconds": round(end - start, 1),
        "total": results.summary(),
        "summary": summary,
        "timeline": plot.timeline(results),
    }


@pytest.fixture
def runs():
    rolling = synthetic_load(60, retried=(1200, 1220))
    epoch = rolling.wall_started
    rolling_summary = {
        "started": epoch + 16.0,
        "seconds": 38.0,
        "hosts": {
            "rolling-app1": {"switch_seconds": 8.0, "switch_started": epoch + 25.0, "switch_finished": epoch + 33.0},
            "rolling-app2": {"switch_seconds": 7.5, "switch_started": epoch + 33.5},  # finished: started + seconds
            "rolling-worker": {"worker_seconds": 5.0, "worker_started": epoch + 42.0, "worker_finished": epoch + 47.0},
        },
        "migrations": {
            "pre": {"seconds": 2.0, "started": epoch + 20.0, "finished": epoch + 22.0},
            "post": {"seconds": 1.5, "started": epoch + 48.0, "finished": epoch + 49.5},
        },
    }
    naive = synthetic_load(45, burst=(30.0, 32.5))
    naive_summary = {  # an older summary, as the naive order writes it: seconds, no timestamps
        "seconds": 20.0,
        "hosts": {host: {"switch_seconds": 6.5, "switch_started": None} for host in ("rolling-app1", "rolling-app2")},
        "migrations": {"pre": {"seconds": 3.0}},
    }
    return [
        bench_run("deploy.yml 1.0.0 -> 2.0.0", rolling, rolling_summary, end=55.0),
        bench_run("naive order", naive, naive_summary, end=38.0),
    ]


def test_per_second_counts_each_time_in_its_bin():
    times = [0.0, 0.5, 0.999, 1.0, 2.5, 2.99, 5.0, 5.999, -0.1, 6.0, 10.0]
    assert plot.per_second(times, 6) == [3, 1, 2, 0, 0, 2]
    assert plot.per_second(times, 4, width=2.0) == [4, 2, 2, 1]
    assert plot.per_second([], 3) == [0, 0, 0]


def test_the_load_records_the_wall_clock_of_its_start():
    results = loadgen.Results()
    time.sleep(0.05)
    assert results.since_started(time.time()) == pytest.approx(results.now(), abs=0.02)
    assert results.now() >= 0.05
    assert loadgen.Results(started=100.0, wall_started=1_700_000_000.0).since_started(1_700_000_012.5) == 12.5


def test_timeline_keeps_every_request_compactly():
    results = loadgen.Results(started=time.monotonic() - 10, wall_started=1_700_000_000.0)
    for at, status, retried in [(0.25, 200, False), (1.5, 500, False), (1.75, "ConnectionResetError", True)]:
        results.record(status, 0.01, results.started + at, retried)
    results.record(201, 0.02, results.started + 2.0, True)
    line = plot.timeline(results)
    assert line["at_ms"] == [250, 1500, 1750, 2000]
    assert line["failed"] == [1, 2]
    assert line["retried"] == [2, 3]
    assert line["wall_started"] == 1_700_000_000.0
    assert line["seconds"] == pytest.approx(10, abs=0.5)
    assert sum(results.retried_flags) == results.retried == 2


def test_summary_timestamps_land_on_the_load_time_base(runs):
    found, untimed = plot.events(runs[0]["summary"], runs[0]["timeline"]["wall_started"])
    spans = {(e.kind, e.label): (round(e.start, 6), round(e.end, 6)) for e in found}
    assert spans == {
        ("switch", "app1"): (25.0, 33.0),
        ("switch", "app2"): (33.5, 41.0),
        ("worker", "worker"): (42.0, 47.0),
        ("migration", "pre migrations"): (20.0, 22.0),
        ("migration", "post migrations"): (48.0, 49.5),
    }
    assert untimed == []
    start, end = plot.deploy_bounds(runs[0], runs[0]["timeline"]["wall_started"])
    assert (start, end) == (15.0, 55.0)


def test_missing_timestamps_are_listed_not_guessed(runs):
    found, untimed = plot.events(runs[1]["summary"], runs[1]["timeline"]["wall_started"])
    assert found == []
    assert untimed == ["app1 switch 6.5 s", "app2 switch 6.5 s", "pre migrations 3.0 s"]
    # Timestamps but no wall clock of the load (an older bench JSON): nothing can be placed.
    assert plot.events(runs[0]["summary"], None)[0] == []
    assert plot.events(None, 1.0) == ([], [])


def test_deploy_bounds_fall_back_on_the_summary():
    wall = 1_700_000_000.0
    run = {"summary": {"started": wall + 3.0, "seconds": 40.0}}
    assert plot.deploy_bounds(run, wall) == (3.0, 43.0)
    assert plot.deploy_bounds({"summary": {"seconds": 40.0}}, wall) == (None, None)


def test_short_host_drops_the_shared_prefix():
    hosts = ["rolling-app1", "rolling-app2", "rolling-worker"]
    assert [plot.short_host(h, hosts) for h in hosts] == ["app1", "app2", "worker"]
    assert plot.short_host("app1", ["app1", "app2"]) == "app1"
    assert plot.short_host("web", ["web"]) == "web"


def test_draws_a_png_and_draws_it_again_from_the_json_alone(runs, tmp_path):
    picture = plot.draw(runs, tmp_path / "bench.png")
    data = picture.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000

    saved = tmp_path / "bench.json"
    saved.write_text(plot.dumps(runs))
    assert json.loads(saved.read_text()) == json.loads(json.dumps(runs))
    # The per-request arrays stay on one line each.
    assert len(saved.read_text().splitlines()) < 200
    assert plot.main([str(saved), str(tmp_path / "again.png")]) == 0
    assert (tmp_path / "again.png").read_bytes() == data


def test_an_older_bench_json_without_a_timeline_still_draws(tmp_path):
    older = [{"label": "deploy.yml", "rc": 0, "deploy_seconds": 180.0, "total": {"requests": 10, "seconds": 200.0}}]
    data = plot.draw(older, tmp_path / "old.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)


def test_the_picture_counts_ok_failed_and_retried_per_second(runs):
    line = runs[1]["timeline"]
    at = [ms / 1000 for ms in line["at_ms"]]
    failed = set(line["failed"])
    assert plot.per_second((at[i] for i in failed), 45)[29:34] == [0, 40, 40, 20, 0]
    ok = plot.per_second((t for i, t in enumerate(at) if i not in failed), 45)
    assert ok[29:34] == [40, 0, 0, 20, 40]
    assert runs[0]["timeline"]["retried"] == [1200, 1220]
