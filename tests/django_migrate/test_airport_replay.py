"""The seeds' case end to end: an Airport column dropped while old code still runs.

The old release (airports_v1: Airport with iata and a NOT NULL name) serves traffic; the new release
(airports_v2) adds country with a database default and removes name. The deploy runs django_migrate
through ansible-playbook: pre while only old code runs, then old and new code side by side (a
rolling deploy), then only new code, then post. The same traffic against a plain `migrate` shows
what the seeds describe: `column airports_airport.name does not exist` on the old code.
"""

import json
import os
import subprocess
import time
from pathlib import Path

from .helpers import PROJECTS, PYTHON, columns, manage, module_args, run_playbook, snapshot

V1, V2 = PROJECTS / "airports_v1", PROJECTS / "airports_v2"
CLIENT = Path(__file__).resolve().parent / "airport_client.py"


class Client:
    """One release's traffic, in its own process (its own Django, its own models)."""

    def __init__(self, project, mode, env, workdir):
        self.control = workdir / f"{mode}-client"
        self.control.mkdir()
        self.process = subprocess.Popen(
            [str(PYTHON), str(CLIENT), "--project", str(project), "--mode", mode, "--control", str(self.control)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def done(self):
        progress = self.control / "progress"
        return int(progress.read_text() or 0) if progress.exists() else 0

    def wait_for(self, more, timeout=60):
        """Until this client has made `more` further requests."""
        target, deadline = self.done() + more, time.monotonic() + timeout
        while self.done() < target:
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() < deadline, f"client stuck at {self.done()} requests"
            time.sleep(0.1)

    def stop(self):
        (self.control / "stop").touch()
        out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err
        return json.loads(out)


def client_env(pg, dbname):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJM_", "DJANGO_"))}
    env.update(pg.env(dbname))
    return env


def test_airport_replay_zero_errors(postgres, db, tmp_path):
    env = client_env(postgres, db)
    manage(V1, env, "migrate", "--verbosity=0")  # the old release is live
    old = Client(V1, "old", env, tmp_path)
    new = None
    started = time.monotonic()
    try:
        old.wait_for(50)

        pre = run_playbook(tmp_path, module_args(V2, "airportsite.settings", postgres.env(db), phase="pre"))
        assert not pre.failed, pre.result
        assert pre.db()["applied"] == ["airports.0002_airport_country"]
        assert [d["migration"] for d in pre.db()["deferred"]] == ["airports.0003_remove_airport_name"]
        assert [r["column"] for r in pre.db()["relaxed"]] == ["name"]

        new = Client(V2, "new", env, tmp_path)  # hosts switch one by one: both releases serve
        new.wait_for(50)
        old.wait_for(50)
        old_result = old.stop()  # every host runs the new release

        post = run_playbook(tmp_path, module_args(V2, "airportsite.settings", postgres.env(db), phase="post"))
        assert not post.failed, post.result
        assert post.db()["applied"] == ["airports.0003_remove_airport_name"]
        new.wait_for(50)
        new_result = new.stop()
    finally:
        for client in (old, new):
            if client and client.process.poll() is None:
                client.process.kill()
                client.process.wait()
    seconds = time.monotonic() - started
    for result in (old_result, new_result):
        print(
            f"\nairport replay, {result['mode']} code: {result['requests']} requests, {result['errors']} errors"
            f" {result['by_type'] or ''}{' ' + repr(result['examples']) if result['examples'] else ''}"
        )
    print(
        f"airport replay: {old_result['requests'] + new_result['requests']} requests in {seconds:.1f}s, "
        f"{old_result['errors'] + new_result['errors']} errors"
    )
    assert old_result["errors"] == 0
    assert new_result["errors"] == 0
    assert columns(snapshot(postgres, db), "airports_airport") == {"id", "iata", "country"}


def test_plain_migrate_breaks_the_old_code(postgres, db, tmp_path):
    """The control: the same traffic against Django's plain migrate of the new release."""
    env = client_env(postgres, db)
    manage(V1, env, "migrate", "--verbosity=0")
    old = Client(V1, "old", env, tmp_path)
    try:
        old.wait_for(50)
        manage(V2, env, "migrate", "--verbosity=0")
        old.wait_for(50)
        result = old.stop()
    finally:
        if old.process.poll() is None:
            old.process.kill()
            old.process.wait()
    print(
        f"\nplain migrate, old code: {result['requests']} requests, {result['errors']} errors {result['by_type']}"
        f" {result['examples'][:1]}"
    )
    assert result["errors"] > 0
    assert any("does not exist" in example for example in result["examples"])
