"""What the integration suites share: one timer of their steps.

A suite times a step with ``with steps.step("build the image") as notes:`` (``notes.append(...)``
adds a remark to its line) or records one with ``steps.add(title, seconds)``; after the tests, also
with ``-q``, every suite's steps are printed with their seconds, the suite's total, the step it was
in when it was interrupted, and the lines a suite added with ``steps.after(...)`` (its cleanup).
"""

import contextlib
import time
from dataclasses import dataclass, field

import pytest

PLUGIN = "djangoops-integration-steps"


@dataclass
class Suite:
    name: str
    started: float = field(default_factory=time.monotonic)
    rows: list = field(default_factory=list)
    current: str | None = None
    trailer: list = field(default_factory=list)
    total_note: str = ""


class Steps:
    """The pytest plugin behind the ``steps`` fixture: rows per suite, printed in the terminal summary."""

    def __init__(self):
        self.suites = {}

    def suite(self, name):
        return self.suites.setdefault(name, Suite(name))

    def pytest_terminal_summary(self, terminalreporter, exitstatus):
        for suite in self.suites.values():
            if not suite.rows and not suite.trailer:
                continue
            write = terminalreporter.write_line
            terminalreporter.write_sep("-", f"{suite.name}: seconds of each step")
            rows = [*suite.rows, ("in total", time.monotonic() - suite.started, suite.total_note)]
            for title, seconds, note in rows:
                write(f"{suite.name}: {title:<66} {seconds:7.1f} s{'  (' + note + ')' if note else ''}")
            if exitstatus == pytest.ExitCode.INTERRUPTED and suite.current:
                write(f"{suite.name}: stopped during: {suite.current}")
            for line in suite.trailer:
                write(f"{suite.name}: {line}")


class SuiteSteps:
    """One suite's view of the timer."""

    def __init__(self, suite):
        self._suite = suite

    @contextlib.contextmanager
    def step(self, title):
        """Time a step; the yielded list takes notes for its line."""
        self._suite.current = title
        notes = []
        started = time.monotonic()
        try:
            yield notes
        finally:
            self._suite.rows.append((title, time.monotonic() - started, ", ".join(notes)))

    def add(self, title, seconds, note=""):
        self._suite.rows.append((title, seconds, note))

    def after(self, line):
        self._suite.trailer.append(line)

    def total_note(self, note):
        self._suite.total_note = note


def steps_for(config, name):
    """The timer of suite ``name`` (the plugin is registered on first use)."""
    plugin = config.pluginmanager.get_plugin(PLUGIN)
    if plugin is None:
        plugin = Steps()
        config.pluginmanager.register(plugin, PLUGIN)
    return SuiteSteps(plugin.suite(name))
