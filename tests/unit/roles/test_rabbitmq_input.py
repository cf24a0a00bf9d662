"""Bad input to the rabbitmq role fails before any task that changes a host, naming the variable."""

import pytest

COOKIE = "unit-test-erlang-cookie-0123456789"
APP_VHOST = {"name": "app"}
APP_USER = {"name": "app", "password": "unit-test-password", "permissions": [{"vhost": "app"}]}
FIRST_CHANGE = "Install the tools the role"
INSTALL_TASK = "Install the RabbitMQ server"


def good(**overrides):
    variables = {"rabbitmq_erlang_cookie": COOKIE, "rabbitmq_vhosts": [APP_VHOST], "rabbitmq_users": [APP_USER]}
    variables.update(overrides)
    return {name: value for name, value in variables.items() if value is not None}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            good(rabbitmq_erlang_cookie=None),
            "missing required arguments: rabbitmq_erlang_cookie",
            id="no-erlang-cookie",
        ),
        pytest.param(
            good(rabbitmq_definitions_dir="/var/backups/rabbit mq"),
            "rabbitmq_definitions_dir: '/var/backups/rabbit mq' must be an absolute path",
            id="definitions-dir-with-a-blank",
        ),
        pytest.param(
            good(rabbitmq_definitions_keep=0),
            "rabbitmq_definitions_keep must be at least 1 (got 0)",
            id="definitions-keep-0",
        ),
        pytest.param(
            good(rabbitmq_definitions_schedule="nightly at one"),
            "rabbitmq_definitions_schedule: 'nightly at one' is not a systemd calendar event",
            id="definitions-schedule",
        ),
        pytest.param(
            good(rabbitmq_erlang_cookie="short"),
            "rabbitmq_erlang_cookie must be 20 to 255 printable ASCII characters without spaces",
            id="short-erlang-cookie",
        ),
        pytest.param(
            good(rabbitmq_erlang_cookie="ABCDEFGHIJKLMNOPQRST"),
            "not exactly 20 capital letters (Debian's package replaces such a cookie on upgrade)",
            id="erlang-generated-cookie",
        ),
        pytest.param(
            good(rabbitmq_users=[{"name": "app", "permissions": [{"vhost": "app"}]}]),
            "rabbitmq_users: user 'app' has no password",
            id="user-without-password",
        ),
        pytest.param(
            good(rabbitmq_users=[{**APP_USER, "password": "unit-test-password "}]),
            "rabbitmq_users: user 'app' has a password with white space at an end or a line break",
            id="password-trailing-space",
        ),
        pytest.param(
            good(rabbitmq_users=[{**APP_USER, "password": "two\rlines"}]),
            "rabbitmq_users: user 'app' has a password with white space at an end or a line break",
            id="password-line-break",
        ),
        pytest.param(
            good(rabbitmq_users=[{"name": "app", "password": "x", "permissions": [{"vhost": "ghost"}]}]),
            "rabbitmq_users: user 'app' has permissions on ghost, which is not declared in rabbitmq_vhosts",
            id="permissions-on-undeclared-vhost",
        ),
        pytest.param(
            good(rabbitmq_users=[{"name": "app", "password": "x"}]),
            "rabbitmq_users: user 'app' has no permissions",
            id="user-without-permissions",
        ),
        pytest.param(
            good(rabbitmq_users=[{"name": "app", "password": "x", "permissions": [{"vhost": "app", "read": "^a b$"}]}]),
            "rabbitmq_users: user 'app' has a permission regexp with white space",
            id="regexp-with-space",
        ),
        pytest.param(
            good(rabbitmq_users=[APP_USER, {"name": "guest", "password": "guest", "permissions": [{"vhost": "/"}]}]),
            "rabbitmq_users declares 'guest', the package's default user, which the role always removes",
            id="guest-declared",
        ),
        pytest.param(
            good(rabbitmq_users=[{"password": "x", "permissions": [{"vhost": "app"}]}]),
            "missing required arguments: name found in rabbitmq_users",
            id="user-without-name",
        ),
        pytest.param(
            good(rabbitmq_listen_addresses=["10.0.0.5", "rabbit.example.com"]),
            "rabbitmq_listen_addresses must list IP addresses",
            id="listen-on-host-name",
        ),
        pytest.param(
            good(rabbitmq_settings={"listeners.tcp.default": 5672}),
            "rabbitmq_settings sets listeners.tcp.default, which the role sets itself",
            id="settings-clash",
        ),
        pytest.param(
            good(rabbitmq_settings={"heartbeat": "60\nlisteners.tcp.9 = 10.0.0.9:5672"}),
            "rabbitmq_settings: heartbeat: keys must be words without spaces and values one line",
            id="settings-line-injection",
        ),
        pytest.param(
            good(rabbitmq_vhosts=[APP_VHOST, APP_VHOST]),
            "rabbitmq_vhosts: vhost names appear more than once: app",
            id="duplicate-vhost",
        ),
        pytest.param(
            good(rabbitmq_port="five-six-seven-two"),
            "argument 'rabbitmq_port' is of type",
            id="port-wrong-type",
        ),
    ],
)
def test_bad_input_is_refused_before_any_change(run_role, variables, message):
    run_role("rabbitmq", variables).assert_refused(message, FIRST_CHANGE, INSTALL_TASK)


def test_no_password_or_cookie_shows_in_the_output(run_role):
    secret_user = {"name": "app", "password": "do-not-show-this-password", "permissions": [{"vhost": "ghost"}]}
    result = run_role("rabbitmq", good(rabbitmq_erlang_cookie="do-not-show-this-cookie", rabbitmq_users=[secret_user]))
    assert result.rc != 0
    assert "do-not-show-this" not in result.output


def test_good_input_passes_the_checks(run_role):
    """Passwords with inner spaces and punctuation are fine: only ends and line breaks are refused."""
    user = {**APP_USER, "password": "in ner spaces, r and n: $`\\"}
    result = run_role("rabbitmq", good(rabbitmq_users=[user]))
    assert "rabbitmq_users:" not in result.output
    assert FIRST_CHANGE in result.output
