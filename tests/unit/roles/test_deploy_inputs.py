"""deploy.yml and rollback.yml refuse bad input on the controller, naming the variable, before any
host is reached (the inventory's hosts do not even exist): the deploy role's input checks.
(The deploy_lock module's own tests: tests/unit/plugins/modules/test_deploy_lock.py.)"""

import json
import subprocess
import sys
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


REACHING_HOSTS = "reach every app, worker and lb host"


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
        ({"deploy_version": "2.0.0", "deploy_smoke_urls": ["healthz"]}, "deploy_smoke_urls must be paths starting"),
        (
            {"deploy_version": "2.0.0", "deploy_smoke_urls": [], "deploy_health_path": ""},
            "cannot both be empty",
        ),
        ({"deploy_version": "2.0.0", "deploy_worker_gate_timeout": 0}, "deploy_worker_gate_timeout must be positive"),
        (
            {"deploy_version": "2.0.0", "deploy_migrate_host": "djangoops-no-such-ap"},
            "the one that runs the migrations (got 'djangoops-no-such-ap', which names no host)",
        ),
        (
            {"deploy_version": "2.0.0", "deploy_migrate_host": "lb"},
            "the one that runs the migrations (got 'lb', which names djangoops-no-such-lb)",
        ),
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
        ({"deploy_migrate_host": "all"}, "deploy_migrate_host must name exactly one host of the app group"),
    ],
)
def test_rollback_refuses_bad_input_before_reaching_a_host(playbook, variables, message):
    run = playbook("rollback.yml", variables)
    run.assert_refused(message)
    assert "Rollback | reach every host" not in run.output
