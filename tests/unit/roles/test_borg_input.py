"""Bad input to the borg role fails before anything is installed, naming the variable."""

import json

import pytest

INSTALL_TASK = "Install BorgBackup"
PASSPHRASE = "unit-test-passphrase-0123456789"  # noqa: S105 - a throwaway test value


@pytest.fixture
def inventory(tmp_path):
    """localhost as a Redis host (a host with files to back up) and as the backup host, connecting locally."""
    path = tmp_path / "inventory.json"
    local = {"hosts": {"localhost": {"ansible_connection": "local"}}}
    path.write_text(json.dumps({"all": {"children": {"redis": local, "backup": local}}}))
    return path


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            {"borg_repo_host": "localhost", "borg_passphrase": PASSPHRASE},
            "borg_repo_host: 'localhost' is this host: its copies would live on the machine they protect",
            id="repository-on-the-host-it-protects",
        ),
        pytest.param(
            {"borg_repo_host": "backup9", "borg_passphrase": PASSPHRASE},
            "borg_repo_host: 'backup9' is not a host of group backup (hosts there: localhost)",
            id="repository-host-unknown",
        ),
        pytest.param(
            {"borg_repo_host": "", "deploy_environment": "stage"},
            "borg_passphrase is empty, and stage requires encrypted repositories",
            id="stage-without-passphrase",
        ),
        pytest.param(
            {"borg_repo_host": "", "borg_passphrase_required": True, "borg_passphrase": "short"},
            "borg_passphrase is shorter than 20 characters",
            id="passphrase-too-short",
        ),
        pytest.param(
            {"borg_repo_host": "", "borg_passphrase": "CHANGE-ME-stage-files-passphrase-0123456789"},
            "borg_passphrase still holds the example's CHANGE-ME placeholder",
            id="passphrase-placeholder",
        ),
        pytest.param(
            {"borg_repo_host": "", "borg_keep_daily": 0},
            "borg_keep_daily must be at least 1 (got 0): 0 would keep no daily archive.",
            id="retention-0",
        ),
        pytest.param(
            {"borg_repo_host": "", "borg_keep_weekly": -1},
            "borg_keep_hourly, borg_keep_weekly and borg_keep_monthly must be 0 or more (got 24, -1, 6)",
            id="retention-negative",
        ),
        pytest.param(
            {"borg_repo_host": "", "borg_extra_paths": ["srv/uploads"]},
            "borg_extra_paths: srv/uploads must be absolute paths on one line each.",
            id="relative-path",
        ),
        pytest.param(
            {"borg_repo_host": "", "borg_schedule": "every hour"},
            "borg_schedule: 'every hour' is not a systemd calendar event",
            id="schedule",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_installed(run_role, inventory, variables, message):
    run_role("borg", variables, inventory).assert_refused(message, INSTALL_TASK)


def test_the_passphrase_is_in_no_output(run_role, inventory):
    variables = {"borg_repo_host": "", "borg_passphrase": "short\nsecret-tail"}
    run = run_role("borg", variables, inventory)
    run.assert_refused("borg_passphrase holds a control character", INSTALL_TASK)
    assert "secret-tail" not in run.output
