"""scripts/check-inventory-secrets: the example inventories pass; a plaintext secret fails, named."""

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "check-inventory-secrets"
INVENTORIES = ("stage", "production")


def check(*inventories):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, inventories)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def stage(tmp_path):
    """A copy of the stage inventory to break."""
    copy = tmp_path / "stage"
    shutil.copytree(ROOT / "inventories" / "stage", copy)
    return copy


def edit(path, old, new):
    """Replace the first old in path with new; return the number of the line that changed."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


def test_example_inventories_pass():
    rc, output = check()
    assert rc == 0, output
    assert "OK" in output
    assert "inventories/stage, inventories/production" in output


@pytest.mark.parametrize("name", INVENTORIES)
def test_example_vault_is_encrypted_with_its_label(name):
    vault = ROOT / "inventories" / name / "group_vars" / "all" / "vault.yml"
    assert vault.read_text().startswith(f"$ANSIBLE_VAULT;1.2;AES256;{name}\n")


def test_test_inventory_fails_its_plaintext_secrets_are_on_purpose():
    rc, output = check(ROOT / "inventories" / "test")
    assert rc == 1
    assert "inventories/test/group_vars/all/secrets.yml:5: vault_db_password: plaintext secret" in output


def test_unencrypted_vault_file_fails(stage):
    vault = stage / "group_vars" / "all" / "vault.yml"
    vault.write_text("---\nvault_db_password: CHANGE-ME-stage-db-password\n")
    rc, output = check(stage)
    assert rc == 1
    assert f"{vault}:1: (file): vault file not encrypted" in output
    assert f"ansible-vault encrypt --vault-id stage@prompt {vault}" in output
    assert "CHANGE-ME-stage-db-password" not in output


def test_plaintext_password_key_fails(stage):
    postgresql = stage / "group_vars" / "postgresql.yml"
    line = edit(postgresql, 'password: "{{ vault_db_password }}"', "password: hunter2-literal")
    main = stage / "group_vars" / "all" / "main.yml"
    main.write_text(main.read_text() + "vault_db_password: hunter2-literal\n")
    last_line = len(main.read_text().splitlines())
    rc, output = check(stage)
    assert rc == 1
    assert f"{postgresql}:{line}: postgresql_users[0].password: plaintext secret (the key names a secret)" in output
    assert f"{main}:{last_line}: vault_db_password: plaintext secret (the key names a secret)" in output
    assert "put it in group_vars/all/vault.yml (ansible-vault) and reference it as {{ vault_... }}" in output
    assert "hunter2" not in output


def test_literal_password_in_url_fails(stage):
    main = stage / "group_vars" / "all" / "main.yml"
    line = edit(main, "postgis://app:{{ vault_db_password }}@", "postgis://app:hunter2-literal@")
    rc, output = check(stage)
    assert rc == 1
    assert f"{main}:{line}: django_app_env.DATABASE_URL: plaintext secret (a password in a URL)" in output
    assert "hunter2" not in output


def test_password_from_another_variable_in_url_fails(stage):
    main = stage / "group_vars" / "all" / "main.yml"
    edit(main, "{{ vault_redis_password }}", "{{ redis_password_from_elsewhere }}")
    rc, output = check(stage)
    assert rc == 1
    assert "django_app_env.REDIS_URL: plaintext secret (a password in a URL)" in output


@pytest.mark.parametrize(
    "line",
    [
        "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162636465\n",
        "ansible_ssh_private_key_file: ~/.ssh/id_ed25519\n",
        "mongodb_users: [{name: app, password: '{{ vault_mongodb_password }}', update_password: always}]\n",
        "BROKER: 'amqp://app:{{ vault_amqp_password | urlencode }}@{{ groups[\"rabbitmq\"][0] }}:5672/app'\n",
        "GIT_URL: ssh://git@git.example.com/org/app.git\n",
    ],
    ids=["inline-vault", "key-file-path", "update-password-setting", "vault-in-url", "url-without-password"],
)
def test_accepted_values(stage, line):
    (stage / "group_vars" / "all" / "extra.yml").write_text("---\n" + line)
    rc, output = check(stage)
    assert rc == 0, output


def test_ini_inventory_is_checked(stage):
    (stage / "hosts.yml").unlink()
    (stage / "hosts").write_text("[app]\nstage-app1 ansible_host=192.0.2.11 ansible_become_password=hunter2\n")
    rc, output = check(stage)
    assert rc == 1
    assert f"{stage / 'hosts'}:2: [app] stage-app1 ansible_become_password: plaintext secret" in output


def test_missing_inventory_is_a_usage_error(tmp_path):
    rc, output = check(tmp_path / "nowhere")
    assert rc == 2
    assert "no such inventory directory" in output
