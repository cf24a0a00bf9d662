# ruff: noqa: S105, S106 - lock tokens are run identifiers, not passwords
"""The deploy_lock module (plugins/modules/deploy_lock.py) behaves as documented: one holder at a
time, a stale lock reported and broken only when asked, replace by token, release of our own lock."""

import json
import time

from tests.unit.plugins.modules.run import run_module


def lock(path, **params):
    """Run the deploy_lock module; -> (rc, result)."""
    rc, result, _ = run_module("deploy_lock", {"path": str(path), **params})
    return rc, result


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    path = tmp_path / "locks" / "app.json"
    rc, first = lock(path, token="a", holder={"user": "ana", "controller": "ci-1", "version": "2.0.0", "pid": 42})
    assert rc == 0
    assert first["changed"]
    rc, again = lock(path, token="a")
    assert rc == 0
    assert not again["changed"], "taking a lock one holds again changes nothing"
    rc, second = lock(path, token="b", holder={"user": "bob"})
    assert rc != 0
    assert "is held by ana@ci-1 (version 2.0.0, pid 42) since" in second["msg"]
    assert not second["stale"]
    assert json.loads(path.read_text())["token"] == "a"


def test_a_stale_lock_is_reported_and_broken_only_when_asked(tmp_path):
    path = tmp_path / "app.json"
    path.write_text(json.dumps({"user": "ana", "controller": "ci-1", "since": time.time() - 7200, "token": "a"}))
    rc, refused = lock(path, token="b", stale_after=3600)
    assert rc != 0
    assert refused["stale"]
    assert "STALE (older than 3600 s)" in refused["msg"]
    assert "deploy_lock_break=true" in refused["msg"]
    rc, broken = lock(path, token="b", break_lock=True, holder={"user": "bob"})
    assert rc == 0
    assert broken["replaced"]["user"] == "ana"
    assert json.loads(path.read_text())["user"] == "bob"
    assert json.loads((tmp_path / "app.json.broken").read_text())["user"] == "ana"


def test_a_lock_is_replaced_by_token_only_when_the_token_matches(tmp_path):
    path = tmp_path / "app.json"
    lock(path, token="a")
    rc, _ = lock(path, token="c", replace_token="wrong")
    assert rc != 0
    rc, taken = lock(path, token="c", replace_token="a")
    assert rc == 0
    assert taken["replaced"]["token"] == "a"


def test_release_removes_only_our_own_lock(tmp_path):
    path = tmp_path / "app.json"
    lock(path, token="a")
    rc, other = lock(path, state="released", token="b")
    assert rc == 0
    assert not other["changed"]
    assert path.exists()
    rc, ours = lock(path, state="released", token="a")
    assert rc == 0
    assert ours["changed"]
    assert not path.exists()
    rc, free = lock(path, state="query")
    assert rc == 0
    assert free["holder"] == {}


def test_the_holder_records_progress_and_a_replacing_run_of_the_same_version_inherits_it(tmp_path):
    path = tmp_path / "app.json"
    lock(path, token="a", holder={"user": "ana", "version": "3.0.0"})
    rc, first = lock(path, token="a", progress={"hosts": {"app1": {"from": "2.0.0", "previous": "1.0.0"}}})
    assert rc == 0
    assert first["changed"]
    rc, second = lock(path, token="a", progress={"hosts": {"app2": {"from": "2.0.0", "previous": ""}}})
    assert second["holder"]["progress"]["hosts"] == {
        "app1": {"from": "2.0.0", "previous": "1.0.0"},
        "app2": {"from": "2.0.0", "previous": ""},
    }
    rc, same = lock(path, token="a", progress={"hosts": {"app1": {"from": "2.0.0", "previous": "1.0.0"}}})
    assert not same["changed"], "recording what the lock holds already changes nothing"
    rc, _ = lock(path, token="b", progress={"hosts": {"app1": {"from": "9"}}})
    assert rc != 0, "only the holder records progress"
    assert json.loads(path.read_text())["progress"]["hosts"]["app1"]["from"] == "2.0.0"
    # The run that replaces a dead holder of the same version carries its progress on.
    rc, taken = lock(path, token="c", replace_token="a", holder={"user": "ana", "version": "3.0.0"})
    assert rc == 0
    assert taken["holder"]["progress"]["hosts"]["app2"] == {"from": "2.0.0", "previous": ""}
    assert json.loads(path.read_text())["progress"] == taken["holder"]["progress"]
    # Another version starts with none.
    rc, other_version = lock(path, token="d", replace_token="c", holder={"user": "ana", "version": "3.0.1"})
    assert rc == 0
    assert "progress" not in other_version["holder"]
