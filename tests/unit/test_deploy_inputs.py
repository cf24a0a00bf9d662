# ruff: noqa: S105, S106 - lock tokens are run identifiers, not passwords
"""deploy.yml and rollback.yml refuse bad input on the controller, naming the variable, before any
host is reached (the inventory's hosts do not even exist), and deploy_lock behaves as documented."""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, PlaybookRun, ansible_env

UNREACHABLE = """\
all:
  vars:
    ansible_connection: community.docker.docker
    deploy_environment: test
    deploy_source: {source}
  children:
    app: {{hosts: {{djangoops-no-such-app: }}}}
    lb: {{hosts: {{djangoops-no-such-lb: }}}}
"""


@pytest.fixture
def playbook(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(UNREACHABLE.format(source=ROOT / "example"))

    def run(name, variables):
        extra = tmp_path / "vars.json"
        extra.write_text(json.dumps(variables))
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                f"--inventory={inventory}",
                f"--extra-vars=@{extra}",
                str(ROOT / "playbooks" / name),
            ],
            capture_output=True,
            text=True,
            env=ansible_env(),
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
        return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)

    return run


REACHING_HOSTS = "Deploy | reach every app"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "deploy_version"),
        ({"deploy_version": "2.0 beta"}, "deploy_version must start with a letter or digit"),
        (
            {"deploy_version": "2.0.0", "deploy_source": "/nonexistent"},
            "deploy_source: /nonexistent holds no manage.py",
        ),
        ({"deploy_version": "2.0.0", "deploy_environment": "prod"}, "deploy_environment"),
        (
            {"deploy_version": "2.0.0", "deploy_health_timeout": 0},
            "deploy_health_timeout and deploy_health_interval must be positive",
        ),
        ({"deploy_version": "2.0.0", "deploy_lock_host": "elsewhere"}, "deploy_lock_host must be an inventory host"),
        ({"deploy_version": "2.0.0", "deploy_pythons": ["python3"]}, "deploy_pythons must list versions like 3.11"),
    ],
)
def test_deploy_refuses_bad_input_before_reaching_a_host(playbook, variables, message):
    run = playbook("deploy.yml", variables)
    run.assert_refused(message)
    assert REACHING_HOSTS not in run.output, "the deploy went past its input checks"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"deploy_rollback_migrations": ["airports 0002"]},
            "deploy_rollback_migrations must list 'app_label:migration'",
        ),
        ({"deploy_rollback_version": "../1.0.0"}, "deploy_rollback_version must be empty"),
        ({"deploy_environment": "qa"}, "deploy_environment"),
    ],
)
def test_rollback_refuses_bad_input_before_reaching_a_host(playbook, variables, message):
    run = playbook("rollback.yml", variables)
    run.assert_refused(message)
    assert "Rollback | reach every host" not in run.output


def lock(path, **params):
    """Run the deploy_lock module as Ansible would (arguments in a JSON file); -> (rc, result)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as args:
        json.dump({"ANSIBLE_MODULE_ARGS": {"path": str(path), **params}}, args)
        args.flush()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "plugins" / "modules" / "deploy_lock.py"), args.name],
            capture_output=True,
            text=True,
            check=False,
        )
    return proc.returncode, json.loads(proc.stdout)


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
