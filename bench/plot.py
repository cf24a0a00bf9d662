#!/usr/bin/env python3
"""A picture of the deploy benchmark (bench/deploy.py): one panel per deploy, stacked.

    python -m bench.plot .cache/molecule-rolling/bench-deploy.json out.png

Each panel shows, on the load's time base (seconds since the load generator started), the requests
answered ok per second (by when they were sent, 1 s bins, complete seconds only), failed requests
per second (red bars), requests answered after a retry on a new connection (orange bars), and
what the deploy did when: the playbook's start and end (the bench's marks), each app host's switch,
the workers' switch, and the `pre` and `post` migration phases (the deploy summary's epoch
timestamps). Anything a summary does not hold (an older summary, a step that did not run, the
naive order) is left out of the picture, never guessed; a step with seconds but no timestamp is
listed beside the panel.

The load generator's times are time.monotonic() based; a deploy summary's are epoch seconds of the
controller's clock (time.time(), the same machine). loadgen.Results records the wall clock at the
instant the load started (`wall_started`), so an epoch timestamp is `epoch - wall_started` seconds
after the load started. The per-request data the picture needs is kept in the bench's JSON
(`timeline`, see timeline()), so the picture can be drawn again from the JSON alone.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

OK_COLOR = "#1f77b4"
FAILED_COLOR = "#d62728"
RETRIED_COLOR = "#ff7f0e"
# Shaded spans per kind of deploy step: (colour, legend label).
SPANS = {
    "switch": ("#2ca02c", "app host switch"),
    "worker": ("#17becf", "worker switch"),
    "migration": ("#9467bd", "migrations (pre, post)"),
}
DEPLOY_LINE = {"color": "black", "linestyle": "--", "linewidth": 1.2}


def timeline(results) -> dict:
    """The compact per-request record of a loadgen.Results for the bench's JSON.

    `at_ms`: when each request was sent, in milliseconds after the load started (in the order
    recorded); `failed` and `retried`: indices into `at_ms`; `wall_started`: the epoch time at
    which the load started; `wall_drift_s`: how far the wall clock moved against the monotonic one
    while the load ran (0 unless it was stepped or slewed: then the summary's timestamps are off by
    up to that much).
    """
    with results.lock:
        times = list(results.times)
        failed = list(results.failed_flags)
        retried = list(getattr(results, "retried_flags", []))
    wall_started = getattr(results, "wall_started", None)
    drift = None
    if wall_started is not None:
        drift = round((time.time() - (time.monotonic() - results.started)) - wall_started, 3) + 0.0  # never -0.0
    return {
        "wall_started": wall_started,
        "wall_drift_s": drift,
        "seconds": round(time.monotonic() - results.started, 2),
        "at_ms": [round(at * 1000) for at in times],
        "failed": [i for i, flag in enumerate(failed) if flag],
        "retried": [i for i, flag in enumerate(retried) if flag],
    }


# A JSON array of numbers as json.dumps(indent=...) writes it: "[" and a newline (never inside a
# string), then one number a line.
_NUMBER_ARRAY = re.compile(r"\[\n\s*(-?[\d.eE+-]+(?:,\n\s*-?[\d.eE+-]+)*)\n\s*\]")


def dumps(value) -> str:
    """JSON indented for reading, except that arrays of numbers (the timelines) stay on one line."""
    text = json.dumps(value, indent=2)
    return _NUMBER_ARRAY.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def per_second(times: Iterable[float], bins: int, width: float = 1.0) -> list[int]:
    """How many of `times` fall in each bin [k * width, (k + 1) * width) for k < bins; others are ignored."""
    counts = [0] * bins
    for at in times:
        if at >= 0:
            k = math.floor(at / width)
            if k < bins:
                counts[k] += 1
    return counts


def since_load(epoch: float | None, wall_started: float | None) -> float | None:
    """An epoch timestamp as seconds after the load started; None when either is unknown."""
    if epoch is None or wall_started is None:
        return None
    try:
        return float(epoch) - float(wall_started)
    except (TypeError, ValueError):
        return None


@dataclass
class Event:
    """A deploy step on the load's time base: a span (end set), or a moment (end None)."""

    kind: str  # switch, worker, migration, deploy
    label: str
    start: float
    end: float | None = None


def _number(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _span(kind, label, info, prefix, seconds_key, wall_started) -> Event | None:
    """A step of a summary from its `<prefix>_started`/`<prefix>_finished` (or its seconds)."""
    start = since_load(_number(info.get(f"{prefix}started")), wall_started)
    if start is None:
        return None
    end = since_load(_number(info.get(f"{prefix}finished")), wall_started)
    seconds = _number(info.get(seconds_key))
    if end is None and seconds is not None:
        end = start + seconds
    return Event(kind, label, start, end)


def short_host(host: str, hosts: Sequence[str]) -> str:
    """A host name without the prefix every host shares up to its last '-' (rolling-app1 -> app1)."""
    common = ""
    if len(hosts) > 1:
        first, last = min(hosts), max(hosts)
        n = 0
        while n < min(len(first), len(last)) and first[n] == last[n]:
            n += 1
        common = first[:n]
        common = common[: common.rfind("-") + 1] if "-" in common else ""
    return host[len(common) :] if host.startswith(common) and len(host) > len(common) else host


def events(summary: dict | None, wall_started: float | None) -> tuple[list[Event], list[str]]:
    """The deploy summary's timed steps as Events, and notes on steps it timed without a timestamp."""
    found: list[Event] = []
    untimed: list[str] = []
    summary = summary or {}
    hosts = summary.get("hosts") or {}
    names = sorted(hosts)
    for host in names:
        info = hosts[host] or {}
        name = short_host(host, names)
        for kind, prefix, seconds_key in (
            ("switch", "switch_", "switch_seconds"),
            ("worker", "worker_", "worker_seconds"),
        ):
            event = _span(kind, name, info, prefix, seconds_key, wall_started)
            if event is not None:
                found.append(event)
            elif _number(info.get(seconds_key)) is not None:
                untimed.append(f"{name} {'switch' if kind == 'switch' else 'worker'} {info[seconds_key]} s")
    for phase in ("pre", "post"):
        info = (summary.get("migrations") or {}).get(phase)
        if not info:
            continue
        event = _span("migration", f"{phase} migrations", info, "", "seconds", wall_started)
        if event is not None:
            found.append(event)
        elif _number(info.get("seconds")) is not None:
            untimed.append(f"{phase} migrations {info['seconds']} s")
    return found, untimed


def deploy_bounds(run: dict, wall_started: float | None) -> tuple[float | None, float | None]:
    """When the deploy started and ended on the load's time base: the bench's marks (the playbook
    launched, its process ended), else the summary's own `started` (and `finished` or `seconds`)."""
    marks = (run.get("total") or {}).get("marks") or []
    start = next((m["at"] for m in marks if str(m.get("label", "")).endswith(" starts")), None)
    end = next((m["at"] for m in marks if str(m.get("label", "")).endswith(" ends")), None)
    summary = run.get("summary") or {}
    started = since_load(_number(summary.get("started")), wall_started)
    if start is None:
        start = started
    if end is None:
        end = since_load(_number(summary.get("finished")), wall_started)
        seconds = _number(summary.get("seconds"))
        if end is None and started is not None and seconds is not None:
            end = started + seconds
    return start, end


def _place_labels(ax, items: list[tuple[float, str, str]]) -> None:
    """Labels (x, text, colour) in lanes at the top of the axes, each lane free of overlaps."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    transform = blended_transform_factory(ax.transData, ax.transAxes)
    lanes: list[float] = []  # per lane, the right edge (display units) of its last label
    for x, text, color in sorted(items):
        label = ax.text(
            x,
            0.97,
            text,
            transform=transform,
            fontsize=8,
            color=color,
            ha="left",
            va="top",
            clip_on=False,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
        box = label.get_window_extent(renderer)
        if box.x1 > ax.get_window_extent(renderer).x1:  # past the right edge: to the left of x instead
            label.set_horizontalalignment("right")
            box = label.get_window_extent(renderer)
        lane = next((i for i, right in enumerate(lanes) if box.x0 > right + 4), len(lanes))
        if lane == len(lanes):
            lanes.append(0)
        label.set_y(0.97 - lane * 0.085)
        lanes[lane] = box.x1


def _panel(ax, run: dict, x_end: float) -> list[tuple[float, str, str]]:
    """Draws one run; returns the labels of its steps, placed once the figure's layout is done."""
    line = run.get("timeline") or {}
    total = run.get("total") or {}
    wall_started = line.get("wall_started")
    at = [ms / 1000 for ms in line.get("at_ms", [])]
    seconds = _number(line.get("seconds")) or _number(total.get("seconds")) or (max(at) if at else 0)
    bins = max(int(seconds), 0)  # complete seconds only: the last, partial one would look like a drop
    failed = set(line.get("failed", []))
    retried = set(line.get("retried", []))
    ok = per_second((t for i, t in enumerate(at) if i not in failed), bins)
    bad = per_second((at[i] for i in failed if i < len(at)), bins)
    again = per_second((at[i] for i in retried - failed if i < len(at)), bins)
    edges = list(range(bins + 1))
    handles = []
    if at:
        handles.append(ax.stairs(ok, edges, baseline=None, color=OK_COLOR, linewidth=1.4, label="answered ok / s"))
        handles.append(ax.bar(edges[:-1], bad, width=1, align="edge", color=FAILED_COLOR, label="failed / s", zorder=3))
        if retried:
            handles.append(
                ax.bar(
                    edges[:-1],
                    again,
                    width=1,
                    bottom=bad,
                    align="edge",
                    color=RETRIED_COLOR,
                    label="retried on a new connection, answered / s",
                    zorder=3,
                )
            )
    else:
        ax.text(
            0.5,
            0.5,
            "no per-request data in this JSON (written before bench-deploy kept a timeline)",
            transform=ax.transAxes,
            ha="center",
            color="grey",
        )
        ax.set_yticks([])
    peak = max([*ok, *(b + a for b, a in zip(bad, again, strict=True)), 1])
    ax.set_ylim(0, peak / 0.62)  # the top third for the labels of the deploy's steps (draw() evens them)

    steps, untimed = events(run.get("summary"), wall_started)
    labels = []
    used = set()
    for event in steps:
        color, legend = SPANS[event.kind]
        if event.end is not None and event.end - event.start >= 0.3:
            ax.axvspan(event.start, event.end, color=color, alpha=0.18, linewidth=0, zorder=1)
            ax.axvline(event.start, color=color, linewidth=0.8, alpha=0.7, zorder=1)
        else:
            ax.axvline(event.start, color=color, linewidth=1.5, zorder=1)
        labels.append((event.start, event.label, color))
        if event.kind not in used:
            used.add(event.kind)
            handles.append(Patch(facecolor=color, alpha=0.35, label=legend))
    start, end = deploy_bounds(run, wall_started)
    for x, text in ((start, "deploy starts"), (end, "deploy ends")):
        if x is not None:
            ax.axvline(x, zorder=2, **DEPLOY_LINE)
            labels.append((x, text, "black"))
    if start is not None or end is not None:
        handles.append(Line2D([], [], label="deploy start / end (playbook)", **DEPLOY_LINE))

    ax.set_xlim(0, x_end)
    ax.set_ylabel("requests / s")
    ax.grid(axis="y", alpha=0.3)
    failures = total.get("failures") or {}
    by_status = ", ".join(f"{status}: {n}" for status, n in sorted(failures.items()))
    deploy_seconds = run.get("deploy_seconds")
    rc = run.get("rc")
    ax.set_title(
        f"{run.get('label', 'deploy')}{'' if rc in (0, None) else f'  (playbook rc {rc})'}\n"
        f"{total.get('requests', len(at))} requests, {total.get('failed', len(failed))} failed"
        f"{f' ({by_status})' if by_status else ''}, {total.get('retried', len(retried))} retried;"
        f" deploy {deploy_seconds if deploy_seconds is not None else '?'} s",
        fontsize=10,
        loc="left",
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    notes = []
    if untimed:
        notes.append("timed without a timestamp\n(not drawn):\n" + "\n".join(untimed))
    if wall_started is None and (run.get("summary") or {}).get("hosts"):
        notes.append("no wall clock of the load:\nthe summary's steps are not drawn")
    drift = _number(line.get("wall_drift_s"))
    if drift is not None and abs(drift) >= 0.5:
        notes.append(f"wall clock moved {drift:+.1f} s\nduring the load")
    if notes:
        ax.text(1.01, 0.0, "\n\n".join(notes), transform=ax.transAxes, fontsize=7.5, va="bottom", color="dimgrey")
    return labels


def draw(runs: Sequence[dict], output: str | Path, title: str | None = None) -> Path:
    """One panel per run (a bench-deploy.json entry), stacked, same x scale; writes a PNG."""
    output = Path(output)
    if not runs:
        raise ValueError("nothing to draw: no runs")
    lengths = []
    for run in runs:
        line = run.get("timeline") or {}
        lengths.append(
            _number(line.get("seconds"))
            or _number((run.get("total") or {}).get("seconds"))
            or max((ms / 1000 for ms in line.get("at_ms", [])), default=1)
        )
    x_end = max(lengths)
    fig, axes = plt.subplots(
        len(runs), 1, figsize=(14, 1.0 + 3.9 * len(runs)), sharex=True, squeeze=False, layout="constrained"
    )
    try:
        labels = [_panel(ax, run, x_end) for ax, run in zip(axes[:, 0], runs, strict=True)]
        top = max(ax.get_ylim()[1] for ax in axes[:, 0])  # one y scale: the panels compare
        for ax in axes[:, 0]:
            ax.set_ylim(0, top)
        axes[-1, 0].set_xlabel("seconds since the load started (requests binned by when they were sent)")
        fig.suptitle(title or "make bench-deploy: the same load through each deploy", fontsize=12)
        # The layout first, then frozen: the labels' lanes are measured on the final axes.
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        for ax, items in zip(axes[:, 0], labels, strict=True):
            _place_labels(ax, items)
        output.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(output, dpi=100)
    finally:
        plt.close(fig)
    return output


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m bench.plot BENCH_JSON OUTPUT_PNG", file=sys.stderr)
        return 2
    runs = json.loads(Path(argv[0]).read_text())
    print(draw(runs, argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
