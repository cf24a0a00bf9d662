"""The deploy_history module (plugins/modules/deploy_history.py): entries appended as JSON lines,
read back newest last, the file kept to `keep` lines, a line that is not JSON kept but skipped on
read, check mode writing nothing, bad input refused."""

from tests.unit.plugins.modules.run import run_module


def run(check_mode=False, **params):
    rc, result, _ = run_module("deploy_history", params, check_mode=check_mode)
    return rc, result


def test_entries_append_and_read_back_newest_last_and_the_file_keeps_its_newest_lines(tmp_path):
    path = tmp_path / "locks" / "shop.history.jsonl"
    for number in range(5):
        rc, result = run(path=str(path), state="appended", entry={"version": f"1.0.{number}", "result": "ok"}, keep=3)
        assert rc == 0, result
        assert result["changed"]
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    rc, result = run(path=str(path), count=2)
    assert rc == 0
    assert not result["changed"]
    assert [e["version"] for e in result["entries"]] == ["1.0.3", "1.0.4"]
    assert all(isinstance(e["at"], float) for e in result["entries"])
    assert len(path.read_text().splitlines()) == 3


def test_a_line_that_is_not_json_is_kept_and_skipped_on_read(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"version": "1.0.0"}\nedited by hand\n')
    run(path=str(path), state="appended", entry={"version": "1.0.1", "at": 5})
    rc, result = run(path=str(path))
    assert rc == 0
    assert result["skipped"] == 1
    assert result["entries"] == [{"version": "1.0.0"}, {"at": 5, "version": "1.0.1"}]
    assert "edited by hand" in path.read_text()


def test_check_mode_writes_nothing_and_bad_input_is_refused(tmp_path):
    path = tmp_path / "history.jsonl"
    rc, result = run(check_mode=True, path=str(path), state="appended", entry={"version": "1.0.0"})
    assert rc == 0
    assert result["changed"]
    assert not path.exists()
    rc, result = run(path=str(path), state="appended")
    assert rc != 0
    assert "entry" in result["msg"]
    rc, result = run(path=str(path), count=0)
    assert rc != 0
    assert "count" in result["msg"]
    rc, result = run(path=str(path))
    assert rc == 0
    assert result["entries"] == []
    assert result["skipped"] == 0
