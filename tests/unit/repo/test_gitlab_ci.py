"""The pipeline's shape (.gitlab-ci.yml): what runs where and when. Its jobs themselves run in
make test through gitlab-ci-local (the lint stage; the rolling scenario's deploy_stage job)."""

import re

import yaml

from tests.conftest import ROOT

PIPELINE = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())


def job(name: str) -> dict:
    """A job with its `extends` merged in (one level, as this pipeline uses it)."""
    body = dict(PIPELINE[name])
    base = body.pop("extends", None)
    return {**PIPELINE[base], **body} if base else body


def script(name: str) -> str:
    return "\n".join(job(name)["script"])


def test_the_stages_in_order():
    assert PIPELINE["stages"] == ["lint", "test", "deploy_stage", "deploy_production"]


def test_every_job_runs_on_the_shell_runners():
    assert PIPELINE["default"]["tags"] == ["shell", "djangoops"]
    for name in ("lint", "test", "deploy_stage", "deploy_production"):
        assert "image" not in job(name), f"{name} must run in shell mode"


def test_lint_and_test_call_the_make_targets():
    assert job("lint")["stage"] == "lint"
    assert script("lint") == "make lint"
    assert job("test")["stage"] == "test"
    assert script("test") == "make test"


def test_stage_deploys_on_the_default_branch_and_production_by_hand():
    stage, production = job("deploy_stage"), job("deploy_production")
    assert stage["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert production["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "when": "manual"}]
    assert stage["variables"]["DEPLOY_INVENTORY"] == "inventories/stage"
    assert production["variables"]["DEPLOY_INVENTORY"] == "inventories/production"
    assert stage["environment"]["name"] == "stage"
    assert production["environment"]["name"] == "production"
    assert stage["resource_group"] != production["resource_group"]


def test_the_deploy_job_runs_deploy_yml_and_never_prints_the_vault_password():
    text = script("deploy_stage")
    assert re.search(r"ansible-playbook -i \"\$DEPLOY_INVENTORY\" playbooks/deploy\.yml", text)
    # The File variable's path goes to ansible-playbook through the environment, never its content.
    assert not re.search(r"(cat|echo|printf)[^\n]*\$\{?ANSIBLE_VAULT_PASSWORD_FILE", text)
    assert "--vault-password" not in text
    assert "set -x" not in text
