"""The example app's settings parsing (example/example/config.py): pure functions, no Django."""

import pytest

SECRET = "s" * 30 + "ecret-key-with-enough-different-characters-0123456789"

PRODUCTION = {
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "app.example.org, www.example.org",
    "DATABASE_URL": "postgis://app:pw@db.internal:5432/app",
    "REDIS_URL": "redis://:pw@cache.internal:6379/0",
    "CELERY_BROKER_URL": "amqp://app:pw@mq.internal:5672/app",
}


@pytest.fixture
def config(config_module):
    return config_module


# DATABASE_URL ----------------------------------------------------------------------------------


def test_database_url_full(config):
    db = config.parse_database_url("postgis://app:p%40ss%3Aw%2Fd@db.internal:6432/app_db?sslmode=require")
    assert db == {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": "app_db",
        "USER": "app",
        "PASSWORD": "p@ss:w/d",
        "HOST": "db.internal",
        "PORT": "6432",
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
        "OPTIONS": {"connect_timeout": 5, "sslmode": "require"},
    }


@pytest.mark.parametrize("scheme", ["postgis", "postgres", "postgresql", "pgsql"])
def test_database_url_schemes_all_use_postgis(config, scheme):
    db = config.parse_database_url(f"{scheme}://u@h/n")
    assert db["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == ("u", "", "h", "", "n")


def test_database_url_unix_socket_in_host(config):
    db = config.parse_database_url("postgis://app@%2Frun%2FPostgreSQL/app")
    assert db["HOST"] == "/run/PostgreSQL"  # decoded, case kept
    assert db["PASSWORD"] == ""


def test_database_url_unix_socket_as_query_and_default_socket(config):
    assert config.parse_database_url("postgis:///app?host=/run/postgresql")["HOST"] == "/run/postgresql"
    db = config.parse_database_url("postgis:///app")
    assert (db["HOST"], db["PORT"], db["USER"], db["NAME"]) == ("", "", "", "app")


def test_database_url_ipv6(config):
    db = config.parse_database_url("postgis://u:p@[fd00::5]:5433/app")
    assert (db["HOST"], db["PORT"]) == ("fd00::5", "5433")
    assert config.parse_database_url("postgis://u@[::1]/app")["HOST"] == "::1"


def test_database_url_options(config):
    db = config.parse_database_url(
        "postgis://u@h/app?conn_max_age=none&conn_health_checks=false&atomic_requests=yes"
        "&connect_timeout=2&application_name=web&target_session_attrs=read-write"
    )
    assert db["CONN_MAX_AGE"] is None
    assert db["CONN_HEALTH_CHECKS"] is False
    assert db["ATOMIC_REQUESTS"] is True
    assert db["OPTIONS"] == {"connect_timeout": 2, "application_name": "web", "target_session_attrs": "read-write"}
    assert config.parse_database_url("postgis://u@h/app?conn_max_age=0")["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/app", "scheme must be one of"),
        ("app", "scheme must be one of"),
        ("postgis://u@h", "must name the database"),
        ("postgis://u@h/", "must name the database"),
        ("postgis://u@h:port/app", "invalid port"),
        ("postgis://u@h:70000/app", "invalid port"),
        ("postgis://u@[::1/app", "Invalid IPv6"),
        ("postgis://u@[::1]x/app", "after the IPv6 address"),
        ("postgis://u@h/app?conn_max_age=soon", "conn_max_age must be an integer"),
        ("postgis://u@h/app?conn_health_checks=maybe", "conn_health_checks must be one of"),
    ],
)
def test_database_url_errors(config, url, message):
    with pytest.raises(ValueError, match=message):
        config.parse_database_url(url)


# Booleans and lists ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("TRUE", True), (" yes ", True), ("On", True)])
def test_bool_true(config, value, expected):
    assert config.parse_bool(value, "X") is expected


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF"])
def test_bool_false(config, value):
    assert config.parse_bool(value, "X") is False


@pytest.mark.parametrize("value", ["", "maybe", "2", "enabled"])
def test_bool_invalid(config, value):
    with pytest.raises(ValueError, match="X must be one of"):
        config.parse_bool(value, "X")


def test_list(config):
    assert config.parse_list("a.example.org, b.example.org  c.example.org,,") == [
        "a.example.org",
        "b.example.org",
        "c.example.org",
    ]
    assert config.parse_list(" , ") == []


# The whole environment ---------------------------------------------------------------------------


def test_production(config, tmp_path):
    cfg = config.Config.from_env(PRODUCTION, tmp_path)
    assert cfg.debug is False
    assert cfg.secret_key == SECRET
    assert cfg.allowed_hosts == ["app.example.org", "www.example.org"]
    assert cfg.database["HOST"] == "db.internal"
    assert cfg.redis_url == PRODUCTION["REDIS_URL"]
    assert cfg.broker_url == PRODUCTION["CELERY_BROKER_URL"]
    assert cfg.broker_use_ssl is None
    assert cfg.mongodb_url is None
    assert cfg.secure_ssl_redirect is True
    assert (cfg.hsts_seconds, cfg.hsts_include_subdomains, cfg.hsts_preload) == (31_536_000, True, True)
    assert cfg.release_version == "unknown"
    assert cfg.static_root == tmp_path / "staticfiles"
    assert cfg.media_root == tmp_path / "media"
    assert cfg.log_level == "INFO"


def test_production_requires_every_service_and_names_them_all(config, tmp_path):
    with pytest.raises(config.ConfigError) as caught:
        config.Config.from_env({}, tmp_path)
    problems = "\n".join(caught.value.problems)
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        assert name in problems
    assert len(caught.value.problems) == 5


def test_empty_variables_count_as_unset(config, tmp_path):
    with pytest.raises(config.ConfigError, match="DJANGO_SECRET_KEY is required"):
        config.Config.from_env(PRODUCTION | {"DJANGO_SECRET_KEY": "  "}, tmp_path)


def test_debug_has_local_defaults(config, tmp_path):
    cfg = config.Config.from_env({"DJANGO_DEBUG": "true"}, tmp_path)
    assert cfg.debug is True
    assert cfg.secret_key.startswith("django-insecure")
    assert cfg.allowed_hosts == ["localhost", "127.0.0.1", "[::1]"]
    assert cfg.database["NAME"] == "example"
    assert cfg.redis_url.startswith("redis://localhost")
    assert cfg.broker_url.startswith("amqp://localhost")
    assert (cfg.secure_ssl_redirect, cfg.hsts_seconds, cfg.hsts_preload) == (False, 0, False)


def test_ssl_redirect_can_be_turned_off(config, tmp_path):
    cfg = config.Config.from_env(PRODUCTION | {"DJANGO_SECURE_SSL_REDIRECT": "false"}, tmp_path)
    assert cfg.secure_ssl_redirect is False
    assert cfg.hsts_seconds == 31_536_000


def test_invalid_values_are_collected(config, tmp_path):
    env = PRODUCTION | {
        "DJANGO_DEBUG": "sometimes",
        "DJANGO_SECURE_SSL_REDIRECT": "perhaps",
        "DJANGO_SECURE_HSTS_SECONDS": "-1",
        "DATABASE_URL": "mysql://u@h/app",
        "REDIS_URL": "http://cache",
        "CELERY_BROKER_URL": "sqs://queue",
        "MONGODB_URL": "http://mongo",
        "DJANGO_LOG_LEVEL": "loud",
    }
    with pytest.raises(config.ConfigError) as caught:
        config.Config.from_env(env, tmp_path)
    message = str(caught.value)
    for name in (
        "DJANGO_DEBUG",
        "DJANGO_SECURE_SSL_REDIRECT",
        "DJANGO_SECURE_HSTS_SECONDS",
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "MONGODB_URL",
        "DJANGO_LOG_LEVEL",
    ):
        assert name in message
    assert len(caught.value.problems) == 8


def test_optional_mongodb(config, tmp_path):
    cfg = config.Config.from_env(PRODUCTION | {"MONGODB_URL": "mongodb://app:pw@mongo.internal:27017/app"}, tmp_path)
    assert cfg.mongodb_url == "mongodb://app:pw@mongo.internal:27017/app"


def test_release_version_env_wins_over_file(config, tmp_path):
    (tmp_path / "VERSION").write_text("1.2.3\n")
    assert config.Config.from_env(PRODUCTION, tmp_path).release_version == "1.2.3"
    assert config.Config.from_env(PRODUCTION | {"RELEASE_VERSION": "2.0.0"}, tmp_path).release_version == "2.0.0"


def test_paths_from_env(config, tmp_path):
    paths = {"STATIC_ROOT": "/srv/app/static", "MEDIA_ROOT": "/srv/app/media"}
    cfg = config.Config.from_env(PRODUCTION | paths, tmp_path)
    assert (str(cfg.static_root), str(cfg.media_root)) == ("/srv/app/static", "/srv/app/media")


def test_csrf_trusted_origins(config, tmp_path):
    cfg = config.Config.from_env(PRODUCTION | {"DJANGO_CSRF_TRUSTED_ORIGINS": "https://app.example.org"}, tmp_path)
    assert cfg.csrf_trusted_origins == ["https://app.example.org"]


def test_an_amqps_broker_is_verified_against_the_given_ca_and_its_name(config, tmp_path):
    import ssl

    environ = {**PRODUCTION, "CELERY_BROKER_URL": "amqps://app:pw@mq.internal:5671/app"}
    cfg = config.Config.from_env(environ, tmp_path)
    assert cfg.broker_use_ssl == {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": "mq.internal"}
    cfg = config.Config.from_env({**environ, "CELERY_BROKER_CA_CERTS": "/etc/djangoops/ca.crt"}, tmp_path)
    assert cfg.broker_use_ssl == {
        "cert_reqs": ssl.CERT_REQUIRED,
        "server_hostname": "mq.internal",
        "ca_certs": "/etc/djangoops/ca.crt",
    }


def test_a_broker_ca_without_amqps_is_refused(config, tmp_path):
    with pytest.raises(config.ConfigError, match="CELERY_BROKER_CA_CERTS is set but CELERY_BROKER_URL is not amqps"):
        config.Config.from_env({**PRODUCTION, "CELERY_BROKER_CA_CERTS": "/etc/djangoops/ca.crt"}, tmp_path)
