"""The lb_backends module (plugins/modules/lb_backends.py) on a directory of backend files: one file
per backend, drained ones marked down, unlisted ones removed, nothing written when nothing changes or
in check mode, bad input refused before any file changes. The reload and the wait for requests in
flight run against a real nginx in the web and rolling scenarios."""

from tests.unit.plugins.modules.run import run_module


def run(check_mode=False, **params):
    """Run the module (reload off unless asked); -> (rc, result)."""
    rc, result, _ = run_module("lb_backends", {"reload": False, **params}, check_mode=check_mode)
    return rc, result


def servers(directory):
    """{file name: its server line} of every file in the directory."""
    return {
        path.name: next(line for line in path.read_text().splitlines() if line.startswith("server "))
        for path in sorted(directory.iterdir())
    }


def test_one_file_per_backend_with_the_drained_one_down_and_then_nothing_to_do(tmp_path):
    backends = tmp_path / "lb-backends"
    rc, result = run(path=str(backends), backends=["10.0.0.11:8080", "10.0.0.12:8080"], drained=["10.0.0.12:8080"])
    assert rc == 0, result
    assert result["changed"]
    assert servers(backends) == {
        "10.0.0.11_8080.conf": "server 10.0.0.11:8080 max_fails=1 fail_timeout=5s;",
        "10.0.0.12_8080.conf": "server 10.0.0.12:8080 max_fails=1 fail_timeout=5s down;",
    }
    assert oct((backends / "10.0.0.11_8080.conf").stat().st_mode & 0o777) == "0o644"
    assert not result["reloaded"]

    rc, result = run(path=str(backends), backends=["10.0.0.11:8080", "10.0.0.12:8080"], drained=["10.0.0.12:8080"])
    assert rc == 0, result
    assert not result["changed"]
    assert result["written"] == []
    assert result["removed"] == []


def test_putting_back_rewrites_only_that_file_and_unlisted_backends_leave(tmp_path):
    backends = tmp_path / "lb-backends"
    run(path=str(backends), backends=["10.0.0.11:8080", "10.0.0.12:8080"], drained=["10.0.0.11:8080"])
    (backends / "notes.txt").write_text("not a backend file: left alone\n")

    rc, result = run(path=str(backends), backends=["10.0.0.11:8080", "10.0.0.13:8080"])
    assert rc == 0, result
    assert [p.rsplit("/", 1)[1] for p in result["written"]] == ["10.0.0.11_8080.conf", "10.0.0.13_8080.conf"]
    assert [p.rsplit("/", 1)[1] for p in result["removed"]] == ["10.0.0.12_8080.conf"]
    assert sorted(p.name for p in backends.iterdir()) == ["10.0.0.11_8080.conf", "10.0.0.13_8080.conf", "notes.txt"]
    assert not (backends / "10.0.0.12_8080.conf").exists()
    assert (backends / "notes.txt").exists()
    assert "down" not in (backends / "10.0.0.11_8080.conf").read_text()


def test_check_mode_reports_and_writes_nothing(tmp_path):
    backends = tmp_path / "lb-backends"
    run(path=str(backends), backends=["10.0.0.11:8080"])
    before = (backends / "10.0.0.11_8080.conf").read_text()

    rc, result = run(check_mode=True, path=str(backends), backends=["10.0.0.11:8080"], drained=["10.0.0.11:8080"])
    assert rc == 0, result
    assert result["changed"]
    assert (backends / "10.0.0.11_8080.conf").read_text() == before


def test_bad_input_is_refused_naming_it_before_any_file_changes(tmp_path):
    backends = tmp_path / "lb-backends"
    rc, result = run(path=str(backends), backends=["10.0.0.11:8080"], drained=["10.0.0.99:8080"])
    assert rc != 0
    assert "10.0.0.99:8080" in result["msg"]
    assert "drained" in result["msg"]
    rc, result = run(path=str(backends), backends=["10.0.0.11:8080; include /etc/passwd"])
    assert rc != 0
    assert "address:port" in result["msg"]
    assert not backends.exists()


def test_keep_down_leaves_a_backend_out_of_rotation_that_its_file_marks_down(tmp_path):
    backends = tmp_path / "lb-backends"
    run(path=str(backends), backends=["10.0.0.11:8080", "10.0.0.12:8080"], drained=["10.0.0.11:8080"])

    rc, result = run(path=str(backends), backends=["10.0.0.11:8080", "10.0.0.12:8080"], keep_down=True)
    assert rc == 0, result
    assert not result["changed"]
    assert result["kept_down"] == ["10.0.0.11:8080"]
    assert "down;" in (backends / "10.0.0.11_8080.conf").read_text()

    rc, result = run(path=str(backends), backends=["10.0.0.11:8080", "10.0.0.12:8080"])
    assert rc == 0, result
    assert result["kept_down"] == []
    assert "down;" not in (backends / "10.0.0.11_8080.conf").read_text()
