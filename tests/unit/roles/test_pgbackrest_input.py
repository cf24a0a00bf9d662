"""Bad input to the pgbackrest role fails before anything is installed, naming the variable."""

import json

import pytest

INSTALL_TASK = "Install pgBackRest"
PASSPHRASE = "unit-test-passphrase-0123456789"  # noqa: S105 - a throwaway test value


@pytest.fixture
def inventory(tmp_path):
    """localhost as a database host and as the backup host (both groups), connecting locally."""
    path = tmp_path / "inventory.json"
    local = {"hosts": {"localhost": {"ansible_connection": "local"}}}
    path.write_text(json.dumps({"all": {"children": {"postgresql": local, "backup": local}}}))
    return path


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            {"pgbackrest_repo_host": "localhost", "pgbackrest_cipher_pass": PASSPHRASE},
            "pgbackrest_repo_host: 'localhost' is a database host too: its backups would live on a machine that they"
            " protect",
            id="repository-on-the-database-host",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "backup9", "pgbackrest_cipher_pass": PASSPHRASE},
            "pgbackrest_repo_host: 'backup9' is not a host of group backup (hosts there: localhost)",
            id="repository-host-unknown",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "", "deploy_environment": "production"},
            "pgbackrest_cipher_pass is empty, and production requires an encrypted repository",
            id="production-without-passphrase",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "", "pgbackrest_cipher_required": True, "pgbackrest_cipher_pass": "short"},
            "pgbackrest_cipher_pass is shorter than 20 characters",
            id="passphrase-too-short",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "", "pgbackrest_cipher_pass": PASSPHRASE + "\nrepo1-path=/tmp"},
            "pgbackrest_cipher_pass holds a control character (a newline?)",
            id="passphrase-with-a-newline",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "", "pgbackrest_cipher_pass": "CHANGE-ME-stage-backup-passphrase-0123456789"},
            "pgbackrest_cipher_pass still holds the example's CHANGE-ME placeholder",
            id="passphrase-placeholder",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "", "pgbackrest_retention_full": 0},
            "pgbackrest_retention_full must be at least 1 (got 0): 0 would keep no backup.",
            id="retention-0",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "", "pgbackrest_stanza": "main]\n[other"},
            "pgbackrest_stanza: 'main]",
            id="stanza-injection",
        ),
        pytest.param(
            {"pgbackrest_repo_host": "", "pgbackrest_full_schedule": "every sunday"},
            "pgbackrest_full_schedule: 'every sunday' is not a systemd calendar event",
            id="schedule",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_installed(run_role, inventory, variables, message):
    run_role("pgbackrest", variables, inventory).assert_refused(message, INSTALL_TASK)


def test_the_passphrase_is_in_no_output(run_role, inventory):
    variables = {"pgbackrest_repo_host": "", "pgbackrest_cipher_pass": "short\nsecret-tail"}
    run = run_role("pgbackrest", variables, inventory)
    run.assert_refused("pgbackrest_cipher_pass holds a control character", INSTALL_TASK)
    assert "secret-tail" not in run.output
