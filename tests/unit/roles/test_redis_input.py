"""Bad input to the redis role fails before any task that changes a host, naming the variable."""

import pytest

PASSWORD = {"redis_app_password": "unit-test-password"}
INSTALL_TASK = "Install the Redis packages"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            {},
            "missing required arguments: redis_app_password",
            id="password-missing",
        ),
        pytest.param(
            {"redis_app_password": ""},
            "redis_app_password is empty",
            id="password-empty",
        ),
        pytest.param(
            {**PASSWORD, "redis_port": "six-three-seven-nine"},
            "argument 'redis_port' is of type",
            id="port-wrong-type",
        ),
        pytest.param(
            {**PASSWORD, "redis_port": 70000},
            "redis_port is 70000; it must be between 1 and 65535",
            id="port-out-of-range",
        ),
        pytest.param(
            {**PASSWORD, "redis_maxmemory_policy": "allkeys-fifo"},
            "value of redis_maxmemory_policy must be one of",
            id="policy-not-in-choices",
        ),
        pytest.param(
            {**PASSWORD, "redis_maxmemory": "lots"},
            "redis_maxmemory is 'lots'",
            id="maxmemory-not-a-size",
        ),
        pytest.param(
            {**PASSWORD, "redis_app_user": "default"},
            "redis_app_user is 'default'",
            id="app-user-default",
        ),
        pytest.param(
            {**PASSWORD, "redis_app_acl": "on nopass ~* +@all"},
            "redis_app_acl 'on nopass ~* +@all': not key (~), channel (&) or command (+/-) rules: on nopass",
            id="acl-nopass",
        ),
        pytest.param(
            {**PASSWORD, "redis_bind_addresses": []},
            "redis_bind_addresses is []",
            id="bind-empty",
        ),
        pytest.param(
            {**PASSWORD, "redis_bind_addresses": ["0.0.0.0"]},  # noqa: S104 - the bad input under test
            "no wildcard",
            id="bind-wildcard",
        ),
        pytest.param(
            # Checked against the controller's own addresses (the role gathers facts here).
            {**PASSWORD, "redis_bind_addresses": ["127.0.0.1", "192.0.2.1"]},
            "redis_bind_addresses: 192.0.2.1 is not an address of this host",
            id="bind-foreign-address",
        ),
        pytest.param(
            {**PASSWORD, "redis_save": ["every hour"]},
            "redis_save: every hour is not '<seconds> <changes>'",
            id="save-point-malformed",
        ),
        pytest.param(
            {**PASSWORD, "redis_settings": {"requirepass": "secret"}},
            "redis_settings sets requirepass, which the role owns (set redis_admin_password instead).",
            id="settings-clash",
        ),
        pytest.param(
            {**PASSWORD, "redis_settings": {"TLS-PORT": 0}},
            "redis_settings sets tls-port, which the role owns (set redis_tls and redis_port instead).",
            id="settings-clash-tls",
        ),
        pytest.param(
            {**PASSWORD, "redis_tls": True, "redis_tls_names": ["db1", "db1 tls-auth-clients no"]},
            "redis_tls_names must name the server's host names and addresses",
            id="tls-name-with-space",
        ),
        pytest.param(
            {**PASSWORD, "redis_settings": {"notify-keyspace-events": "Ex\nuser evil on nopass +@all"}},
            "redis_settings: the value of notify-keyspace-events spans lines",
            id="settings-multiline",
        ),
    ],
)
def test_bad_input_is_refused_before_any_change(run_role, variables, message):
    run_role("redis", variables).assert_refused(message, INSTALL_TASK)
