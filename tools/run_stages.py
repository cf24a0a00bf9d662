#!/usr/bin/env python3
"""`make test`: every stage of the suite, in lanes that run side by side, with each stage's seconds.

    tools/run_stages.py [--only STAGE ...] [--list]

The suite is a setup stage (the venv, a Docker engine, the test-host images, gitlab-ci-local), then
lanes that run at the same time once setup passed:

- ``host``: the stages that start no container (lint, unit, package, example);
- ``containers``: the stages that start containers, taken by ``CONTAINER_SLOTS`` workers (two on
  this 2-core machine, ``DJANGOOPS_TEST_SLOTS`` to change it) from one queue, longest first, so
  the longest scenario starts at once and the short ones fill the other slot. Once the host lane's
  own stages are done (about minute 16), it takes from the same queue the heaviest stage of weight
  <= LIGHT: every stage but the two longest scenarios (rolling, project), which the slots took at
  once. So the web scenario runs beside them, and the three lanes end within minutes of each other
  instead of one scenario running alone for the last quarter of an hour.

Every stage writes ``.cache/logs/<stage>.log``. The console gets one line when a stage starts and,
when it ends, its whole log in one block (never interleaved with another stage's), then a summary:
one line per stage with its seconds and PASS, FAIL or NOT RUN (with the reason), each molecule
scenario's steps with their seconds, and the three slowest stages. A stage reports NOT RUN by
exiting 77 with "NOT RUN: <reason>" as a line of its output. The exit status is 1 when a stage
failed, 0 otherwise.

Standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".cache" / "logs"
NOT_RUN = 77
MAKE = ("make", "--no-print-directory")

# A molecule step starts with a line "INFO     [rolling > converge] Executing" (CI, no colours) or,
# in colour on a terminal, "INFO     rolling ➜ converge: Executing" between ANSI escapes.
MOLECULE_STEP = re.compile(r"(?:\[[\w-]+ > (?P<plain>[\w-]+)\]|[\w-]+ ➜ (?P<colour>[\w-]+):) Executing\s*$")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def molecule_step(line: str) -> str | None:
    """The molecule step a line starts, if it starts one."""
    match = MOLECULE_STEP.search(ANSI_ESCAPE.sub("", line))
    return match and (match["plain"] or match["colour"])


@dataclass
class Stage:
    """One command of the suite, and what it did."""

    name: str
    argv: tuple[str, ...]
    lane: str
    weight: int = 0  # expected seconds: the container queue starts the heaviest first
    result: str = "NOT STARTED"
    seconds: float = 0.0
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"

    @property
    def failed(self) -> bool:
        return self.result == "FAIL"


def molecule_scenarios() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


# Expected seconds of the container stages on a warm machine (the slot that frees first takes the
# heaviest stage left). A scenario not named here counts as 300 s.
# Measured in the clean-clone run of 661af4e (three lanes of scenarios, 3,584 s): rolling 3,116 s,
# project 2,248 s, web 1,921 s (on the host lane), services 1,259 s (with the backup tests).
# The host lane takes every stage up to LIGHT once its own are done: the web scenario first.
LIGHT = 1400
WEIGHTS = {
    "molecule-rolling": 2900,
    # create, converge (site.yml only) and verify (four deploys of tests/projects/shop under load).
    "molecule-project": 2000,
    "molecule-web": 1350,
    # PostgreSQL (with pgBackRest backups and restores), Redis, RabbitMQ on Debian 12 and 13.
    "molecule-services": 1100,
    # MariaDB, PostgreSQL/PostGIS, the example app and an lb on Debian 12; six copies and switches.
    "molecule-datacopy": 600,
    "django_migrate": 130,
    "image": 60,
    "wheels": 120,
    "molecule-mongodb": 10,
}


def plan() -> list[Stage]:
    """Every stage of `make test`, setup first."""
    stages = [
        Stage("setup", (*MAKE, "venv", "testbed", "ci-tools"), "setup"),
        # lint runs as the pipeline's lint job (.gitlab-ci.yml) through gitlab-ci-local.
        Stage("lint", (*MAKE, "ci-lint"), "host"),
        Stage("unit", (*MAKE, "unit"), "host"),
        Stage("package", (*MAKE, "package-test"), "host"),
        Stage("example", (*MAKE, "example-tests"), "host"),
        Stage("image", (*MAKE, "image-test"), "containers"),
        Stage("django_migrate", (*MAKE, "migrate-tests"), "containers"),
        # Building wheels for requirements that have none, in a container of the hosts' release.
        Stage("wheels", (*MAKE, "wheel-tests"), "containers"),
    ]
    stages += [Stage(f"molecule-{s}", ("scripts/molecule-scenario", s), "containers") for s in molecule_scenarios()]
    for stage in stages:
        stage.weight = WEIGHTS.get(stage.name, 300 if stage.lane == "containers" else 0)
    return stages


class Runner:
    def __init__(self, started: float) -> None:
        self.started = started
        self.print_lock = threading.Lock()
        self.children: set[subprocess.Popen] = set()
        self.stopping = False

    def say(self, text: str) -> None:
        elapsed = int(time.monotonic() - self.started)
        with self.print_lock:
            print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", flush=True)

    def run(self, stage: Stage) -> None:
        """Run one stage: its output to its log, its molecule steps timed, its result recorded."""
        if self.stopping:
            stage.result = "NOT RUN (the suite was stopped)"
            return
        self.say(f"start {stage.name}: {' '.join(stage.argv)}")
        began = time.monotonic()
        step_began = None
        not_run = ""
        with stage.log.open("w", encoding="utf-8") as log:
            try:
                child = subprocess.Popen(
                    stage.argv,
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    text=True,
                    errors="replace",
                    bufsize=1,
                )
            except OSError as error:  # a stage that cannot start has failed, never passed unseen
                log.write(f"{stage.name}: cannot start {' '.join(stage.argv)}: {error}\n")
                child = None
        if child is None:
            self.finish(stage, 1, began, None, "")
            return
        with stage.log.open("a", encoding="utf-8") as log:
            self.children.add(child)
            for line in child.stdout:
                log.write(line)
                log.flush()
                now = time.monotonic()
                if step := molecule_step(line):
                    if step_began is not None:
                        stage.steps[-1] = (stage.steps[-1][0], now - step_began)
                    stage.steps.append((step, 0.0))
                    step_began = now
                if line.startswith("NOT RUN: "):
                    not_run = line[len("NOT RUN: ") :].strip()
            rc = child.wait()
            self.children.discard(child)
        self.finish(stage, rc, began, step_began, not_run)

    def finish(self, stage: Stage, rc: int, began: float, step_began: float | None, not_run: str) -> None:
        """Record a stage's result and print its log in one block."""
        stage.seconds = time.monotonic() - began
        if step_began is not None:
            stage.steps[-1] = (stage.steps[-1][0], time.monotonic() - step_began)
        if rc == 0:
            stage.result = "PASS"
        elif rc == NOT_RUN:
            stage.result = f"NOT RUN ({not_run or 'no reason given'})"
        else:
            stage.result = "FAIL"
        with self.print_lock:
            print(f"\n===== {stage.name}: {' '.join(stage.argv)}", flush=True)
            sys.stdout.write(stage.log.read_text(encoding="utf-8", errors="replace"))
            print(f"===== {stage.name}: {stage.result} in {stage.seconds:.0f} s (log: {stage.log})\n", flush=True)
        self.say(f"end {stage.name}: {stage.result} in {stage.seconds:.0f} s")

    def lane(self, stages: list[Stage]) -> None:
        for stage in stages:
            self.run(stage)

    def queue(self, stages: list[Stage], slots: int, first: Iterable[Stage] = ()) -> list[threading.Thread]:
        """Workers that take the heaviest stage left until none is; with `first`, one more worker that
        runs those stages in order (the host lane) and then takes the light ones (weight <= LIGHT)."""
        pending = sorted(stages, key=lambda s: -s.weight)
        lock = threading.Lock()

        def work(before: Iterable[Stage] = (), most: int | None = None) -> None:
            for stage in before:
                self.run(stage)
            while True:
                with lock:
                    fits = [s for s in pending if most is None or s.weight <= most]
                    if not fits:
                        return
                    stage = fits[0]
                    pending.remove(stage)
                self.run(stage)

        threads = [threading.Thread(target=work, name=f"slot-{n}") for n in range(slots)]
        first = list(first)
        if first:
            threads.append(threading.Thread(target=work, args=(first, LIGHT), name="host"))
        return threads

    def stop(self, signum: int, _frame: object) -> None:
        """Ctrl-C or TERM: end every stage's process group (each stage cleans up after itself)."""
        self.stopping = True
        for child in list(self.children):
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                pass


def summary(stages: Iterable[Stage], total: float) -> str:
    stages = list(stages)
    lines = ["", "===== summary (log files in .cache/logs/)"]
    lines += [f"{s.name:<28} {s.seconds:6.0f}s  {s.lane:<10}  {s.result}" for s in stages]
    failed = any(s.failed for s in stages)
    lines.append(f"{'total (wall clock)':<28} {total:6.0f}s  {'':<10}  {'FAIL' if failed else 'PASS'}")
    with_steps = [s for s in stages if s.steps]
    if with_steps:
        lines += ["", "===== molecule steps (seconds)"]
        for s in with_steps:
            lines.append(f"{s.name:<28} " + ", ".join(f"{name} {secs:.0f}" for name, secs in s.steps))
    ran = [s for s in stages if s.seconds > 0]
    lines += ["", "===== the three slowest stages"]
    lines += [f"{s.name:<28} {s.seconds:6.0f}s" for s in sorted(ran, key=lambda s: -s.seconds)[:3]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="STAGE", help="run only these stages (setup always runs)")
    parser.add_argument("--list", action="store_true", help="print the stages and their lanes, run nothing")
    args = parser.parse_args(argv)

    stages = plan()
    if args.only:
        unknown = sorted(set(args.only) - {s.name for s in stages})
        if unknown:
            parser.error(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(s.name for s in stages)}")
        stages = [s for s in stages if s.lane == "setup" or s.name in args.only]
    if args.list:
        for s in stages:
            print(f"{s.name:<28} {s.lane:<10} {' '.join(s.argv)}")
        return 0

    slots = os.environ.get("DJANGOOPS_TEST_SLOTS", "2")
    if not slots.isdigit() or int(slots) < 1:
        parser.error(f"DJANGOOPS_TEST_SLOTS must be a whole number of 1 or more, not {slots!r}")
    slots = int(slots)
    LOGS.mkdir(parents=True, exist_ok=True)
    # The venv's tools first for every stage, whatever ran this script: a pyenv shim, for one, puts
    # its own version's bin/ in front, and molecule would then find a pytest without testinfra.
    os.environ["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    runner = Runner(time.monotonic())
    signal.signal(signal.SIGINT, runner.stop)
    signal.signal(signal.SIGTERM, runner.stop)

    setup = [s for s in stages if s.lane == "setup"]
    runner.lane(setup)
    if not any(s.failed for s in setup):
        host = [s for s in stages if s.lane == "host"]
        threads = runner.queue([s for s in stages if s.lane == "containers"], slots, first=host)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for stage in stages:
            if stage.result == "NOT STARTED":  # its lane broke off: never a silent pass
                stage.result = "FAIL"
    print(summary(stages, time.monotonic() - runner.started), flush=True)
    return 1 if any(s.failed for s in stages) or runner.stopping else 0


if __name__ == "__main__":
    sys.exit(main())
