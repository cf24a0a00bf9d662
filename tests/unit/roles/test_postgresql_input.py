"""Bad input to the postgresql role fails before any task that changes a host, naming the variable."""

import pytest

GOOD_USER = {"name": "app", "password": "unit-test-password"}
INSTALL_TASK = "Install the PostgreSQL packages"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            {"postgresql_users": [GOOD_USER], "postgresql_databases": [{"name": "app", "owner": "ghost"}]},
            "postgresql_databases: database 'app' is owned by 'ghost', which is not declared in postgresql_users",
            id="owner-not-declared",
        ),
        pytest.param(
            {"postgresql_users": [{"password": "x"}]},
            "missing required arguments: name found in postgresql_users",
            id="user-without-name",
        ),
        pytest.param(
            {"postgresql_port": "five-four-three-two"},
            "argument 'postgresql_port' is of type",
            id="port-wrong-type",
        ),
        pytest.param(
            {"postgresql_hba_entries": [{"database": "all", "user": "all", "address": "0.0.0.0/0", "method": "trust"}]},
            "value of method must be one of: scram-sha-256, reject, got: trust found in postgresql_hba_entries",
            id="hba-trust",
        ),
        pytest.param(
            {"postgresql_settings": {"listen_addresses": "*"}},
            "postgresql_settings sets listen_addresses, which the role sets from its own variables",
            id="settings-clash",
        ),
        pytest.param(
            {"postgresql_users": [GOOD_USER, GOOD_USER]},
            "postgresql_users: role names appear more than once: app",
            id="duplicate-user",
        ),
    ],
)
def test_bad_input_is_refused_before_any_change(run_role, variables, message):
    run_role("postgresql", variables).assert_refused(message, INSTALL_TASK)
