"""tools/run_stages.py: the suite's stages, their lanes, the molecule step timer and the summary."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))

import run_stages


def stage(name, seconds, result="PASS", lane="containers", steps=()):
    s = run_stages.Stage(name, ("true",), lane)
    s.seconds, s.result, s.steps = seconds, result, list(steps)
    return s


def test_every_molecule_scenario_is_a_container_stage_and_setup_comes_first():
    stages = run_stages.plan()
    assert stages[0].name == "setup"
    scenarios = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
    assert {f"molecule-{s}" for s in scenarios} <= {s.name for s in stages if s.lane == "containers"}
    assert {s.name for s in stages if s.lane == "host"} == {"lint", "unit", "package", "example"}


def test_the_container_queue_starts_the_heaviest_stage_first(monkeypatch):
    order = []
    runner = run_stages.Runner(0.0)
    monkeypatch.setattr(runner, "run", lambda s: order.append(s.name))
    stages = [stage("short", 0), stage("long", 0), stage("middle", 0)]
    for s, weight in zip(stages, (10, 1000, 300), strict=True):
        s.weight = weight
    (thread,) = runner.queue(stages, slots=1)
    thread.start()
    thread.join()
    assert order == ["long", "middle", "short"]


def test_the_host_lane_takes_only_light_container_stages_after_its_own(monkeypatch):
    order = []
    runner = run_stages.Runner(0.0)
    monkeypatch.setattr(runner, "run", lambda s: order.append(s.name))
    containers = [stage("rolling", 0), stage("wheels", 0), stage("image", 0)]
    for s, weight in zip(containers, (2800, 120, 60), strict=True):
        s.weight = weight
    threads = runner.queue(containers, slots=0, first=[stage("lint", 0, lane="host"), stage("unit", 0, lane="host")])
    assert [thread.name for thread in threads] == ["host"]
    threads[0].start()
    threads[0].join()
    # A scenario of several containers is left to the container slots.
    assert order == ["lint", "unit", "wheels", "image"]


@pytest.mark.parametrize(
    ("line", "step"),
    [
        ("INFO     [rolling > converge] Executing\n", "converge"),
        ("INFO     [web > side_effect] Executing", "side_effect"),
        ("\x1b[36mINFO    \x1b[0m \x1b[32mweb\x1b[0m ➜ \x1b[33mdestroy\x1b[0m: \x1b[36mExecuting\x1b[0m\n", "destroy"),
    ],
)
def test_a_molecule_step_line_is_recognised_with_or_without_colours(line, step):
    assert run_stages.molecule_step(line) == step


@pytest.mark.parametrize(
    "line",
    [
        "INFO     [web > converge] Executed: Successful",
        "INFO     [web > verify] Executing Testinfra tests found in /x/molecule/web/tests/...",
    ],
)
def test_other_lines_of_a_step_are_not_a_new_step(line):
    assert run_stages.molecule_step(line) is None


def test_the_summary_names_each_stage_the_steps_and_the_three_slowest():
    stages = [
        stage("setup", 50, lane="setup"),
        stage("lint", 70, lane="host"),
        stage("molecule-web", 600, steps=[("create", 20.4), ("converge", 300.2)]),
        stage("molecule-rolling", 1200, result="FAIL"),
        stage("molecule-mongodb", 3, result="NOT RUN (repository unreachable)"),
    ]
    text = run_stages.summary(stages, 1300)
    lines = text.splitlines()
    assert next(line for line in lines if line.startswith("molecule-rolling")).endswith("FAIL")
    assert next(line for line in lines if line.startswith("total")).endswith("FAIL")
    assert "molecule-web                 create 20, converge 300" in text
    slowest = text.split("===== the three slowest stages")[1].split()
    assert slowest[0::2] == ["molecule-rolling", "molecule-web", "lint"]
    assert "NOT RUN (repository unreachable)" in text


def test_a_stage_that_exits_77_is_not_run_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(run_stages, "LOGS", tmp_path)
    s = run_stages.Stage("skip", ("bash", "-c", "echo 'NOT RUN: no mirror'; exit 77"), "containers")
    run_stages.Runner(0.0).run(s)
    assert s.result == "NOT RUN (no mirror)"
    assert not s.failed
    assert (tmp_path / "skip.log").read_text() == "NOT RUN: no mirror\n"


def test_an_unknown_stage_is_refused():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_stages.py"), "--only", "nonesuch"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown stage(s) nonesuch" in result.stderr


def test_a_bad_number_of_slots_is_refused_naming_the_variable():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_stages.py"), "--only", "unit"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DJANGOOPS_TEST_SLOTS": "two"},
    )
    assert result.returncode == 2
    assert "DJANGOOPS_TEST_SLOTS must be a whole number of 1 or more, not 'two'" in result.stderr


def test_a_stage_that_cannot_start_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(run_stages, "LOGS", tmp_path)
    s = run_stages.Stage("missing", (str(tmp_path / "no-such-command"),), "containers")
    run_stages.Runner(0.0).run(s)
    assert s.failed
    assert "cannot start" in (tmp_path / "missing.log").read_text()
