"""Bad input to the mongodb role fails before any task that changes a host, naming the variable."""

import pytest

ADMIN = {"mongodb_admin_password": "unit-test-password"}
INSTALL_TASK = "Add MongoDB's apt repository"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param({}, "missing required arguments: mongodb_admin_password", id="no-admin-password"),
        pytest.param(
            {**ADMIN, "mongodb_users": [{"name": "app", "password": "x"}]},
            "missing required arguments: database found in mongodb_users",
            id="user-without-database",
        ),
        pytest.param(
            {**ADMIN, "mongodb_users": [{"name": "admin", "password": "x", "database": "admin"}]},
            "mongodb_users: 'admin' in database admin is the administrator (mongodb_admin_user)",
            id="user-takes-admin-name",
        ),
        pytest.param(
            {**ADMIN, "mongodb_port": "mongo"},
            "argument 'mongodb_port' is of type",
            id="port-wrong-type",
        ),
        pytest.param(
            {**ADMIN, "mongodb_bind_addresses": []},
            "mongodb_bind_addresses is empty",
            id="no-bind-address",
        ),
    ],
)
def test_bad_input_is_refused_before_any_change(run_role, variables, message):
    run_role("mongodb", variables).assert_refused(message, INSTALL_TASK)
