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
            {"postgresql_settings": {"Archive_Command": "cp %p /tmp/%f"}},
            "postgresql_settings sets archive_command, which role pgbackrest sets",
            id="settings-archiving",
        ),
        pytest.param(
            {"postgresql_settings": {"SSL": "off"}},
            "postgresql_settings sets ssl, which the role sets from its own variables",
            id="settings-clash-any-case",
        ),
        pytest.param(
            {
                "postgresql_hba_entries": [
                    {"database": "app", "user": "app\nhost all all 0.0.0.0/0 trust", "address": "10.0.0.0/24"}
                ]
            },
            "has a field pg_hba.conf would not read as one column",
            id="hba-newline-adds-a-line",
        ),
        pytest.param(
            {"postgresql_hba_entries": [{"database": "app", "user": "app", "address": "10.0.0.0/24 trust"}]},
            "has a field pg_hba.conf would not read as one column",
            id="hba-address-adds-a-column",
        ),
        pytest.param(
            {"postgresql_tls_names": ["db.example.com", "bad name"]},
            "postgresql_tls_names must name the server's host names and addresses",
            id="tls-name-with-space",
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
