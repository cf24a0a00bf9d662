"""Settings from environment variables: small pure functions, no Django import.

``Config.from_env(os.environ, base_dir)`` reads every variable the project knows, collects every
problem (not only the first) and raises one ``ConfigError`` that names them all, so a host with a
broken env file fails at start with a message an operator can act on, instead of answering 500 or
503 later. ``settings.py`` only copies the result into Django's names.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

DATABASE_SCHEMES = frozenset({"postgis", "postgres", "postgresql", "pgsql"})
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
BROKER_SCHEMES = frozenset({"amqp", "amqps", "pyamqp", "memory"})
MONGODB_SCHEMES = frozenset({"mongodb", "mongodb+srv"})

POSTGIS_ENGINE = "django.contrib.gis.db.backends.postgis"
DEFAULT_CONN_MAX_AGE = 60
DEFAULT_CONNECT_TIMEOUT = 5
DEFAULT_HSTS_SECONDS = 31_536_000

# Used only with DJANGO_DEBUG=true, where Django's own checks flag it as insecure.
DEBUG_SECRET_KEY = "django-insecure-debug-only-never-used-in-production"  # noqa: S105
DEBUG_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
DEBUG_DATABASE_URL = "postgis:///example"
DEBUG_REDIS_URL = "redis://localhost:6379/0"
DEBUG_BROKER_URL = "amqp://localhost:5672//"

UNKNOWN_VERSION = "unknown"


class ConfigError(ValueError):
    """One or more environment variables are missing or invalid."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("invalid environment:\n" + "\n".join(f"  - {p}" for p in self.problems))


def parse_bool(value: str, name: str) -> bool:
    """``true/false``, ``yes/no``, ``on/off``, ``1/0`` in any case; anything else is an error."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be one of true/false, yes/no, on/off, 1/0 (got {value!r})")


def parse_list(value: str) -> list[str]:
    """Items separated by commas and/or whitespace, empty items dropped, order kept."""
    return [item for item in re.split(r"[,\s]+", value) if item]


def parse_int(value: str, name: str, minimum: int = 0) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be an integer (got {value!r})") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum} (got {number})")
    return number


def _split_host_port(hostport: str, name: str) -> tuple[str, str]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` -> (host, port); the host stays percent-encoded."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            raise ValueError(f"{name}: unterminated IPv6 address in {hostport!r}")
        host, rest = hostport[1:end], hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"{name}: unexpected {rest!r} after the IPv6 address")
        return host, rest[1:]
    host, sep, port = hostport.rpartition(":")
    return (host, port) if sep else (hostport, "")


def parse_database_url(url: str, name: str = "DATABASE_URL") -> dict:
    """A PostgreSQL URL -> one entry of Django's ``DATABASES`` with the PostGIS engine.

    ``postgis://user:password@host:5432/name?sslmode=require&conn_max_age=60`` (schemes postgis,
    postgres, postgresql, pgsql: this app always needs PostGIS). User, password, host and database
    name are percent-decoded, so a password may hold any character (``%40`` for ``@``) and a unix
    socket directory is given as the host (``postgis://app@%2Frun%2Fpostgresql/app``) or as
    ``?host=/run/postgresql``. An empty host means libpq's default socket. Query parameters:
    ``conn_max_age`` (seconds, or ``none`` for unlimited; default 60), ``conn_health_checks``
    (default true), ``atomic_requests`` (default false); any other is a libpq connection parameter
    passed through ``OPTIONS`` (``sslmode``, ``application_name``, ``connect_timeout`` (default 5), ...).
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # an unterminated [IPv6 address; the URL (and its password) is not repeated
        raise ValueError(f"{name}: {exc}") from None
    if parts.scheme not in DATABASE_SCHEMES:
        raise ValueError(f"{name} scheme must be one of {', '.join(sorted(DATABASE_SCHEMES))} (got {parts.scheme!r})")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    host, port = _split_host_port(hostport, name)
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError(f"{name}: invalid port {port!r}")
    db_name = unquote(parts.path.lstrip("/"))
    if not db_name:
        raise ValueError(f"{name} must name the database in its path (postgis://user:password@host:5432/NAME)")
    config: dict = {
        "ENGINE": POSTGIS_ENGINE,
        "NAME": db_name,
        "USER": unquote(user),
        "PASSWORD": unquote(password),
        "HOST": unquote(host),
        "PORT": port,
        "CONN_MAX_AGE": DEFAULT_CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
        "OPTIONS": {"connect_timeout": DEFAULT_CONNECT_TIMEOUT},
    }
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "conn_max_age":
            config["CONN_MAX_AGE"] = None if value.lower() == "none" else parse_int(value, f"{name} conn_max_age")
        elif key == "conn_health_checks":
            config["CONN_HEALTH_CHECKS"] = parse_bool(value, f"{name} conn_health_checks")
        elif key == "atomic_requests":
            config["ATOMIC_REQUESTS"] = parse_bool(value, f"{name} atomic_requests")
        elif key == "host":
            config["HOST"] = value
        elif key == "port":
            config["PORT"] = value
        elif key == "connect_timeout":
            config["OPTIONS"][key] = parse_int(value, f"{name} connect_timeout")
        else:
            config["OPTIONS"][key] = value
    return config


def check_url_scheme(url: str, name: str, schemes: frozenset[str]) -> str:
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if scheme not in schemes:
        raise ValueError(f"{name} scheme must be one of {', '.join(sorted(schemes))} (got {scheme!r})")
    return url


def read_release_version(environ: Mapping[str, str], base_dir: Path) -> str:
    """``RELEASE_VERSION`` when set, else the ``VERSION`` file the release builder writes, else unknown."""
    version = environ.get("RELEASE_VERSION", "").strip()
    if version:
        return version
    try:
        version = (base_dir / "VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        version = ""
    return version or UNKNOWN_VERSION


@dataclass(frozen=True)
class Config:
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    database: dict
    redis_url: str
    broker_url: str
    # Celery's broker_use_ssl for an amqps:// broker: the server's name checked, its certificate
    # verified against CELERY_BROKER_CA_CERTS (a file) or the system's CAs; None for plain amqp://.
    broker_use_ssl: dict | None
    mongodb_url: str | None
    secure_ssl_redirect: bool
    hsts_seconds: int
    hsts_include_subdomains: bool
    hsts_preload: bool
    release_version: str
    static_root: Path
    media_root: Path
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str], base_dir: Path) -> Config:
        """Read the environment; raise ``ConfigError`` naming every missing or invalid variable."""
        problems: list[str] = []

        def get(name: str) -> str:
            """The stripped value; empty when unset (an empty variable counts as unset)."""
            return environ.get(name, "").strip()

        def boolean(name: str, default: bool) -> bool:
            value = get(name)
            if not value:
                return default
            try:
                return parse_bool(value, name)
            except ValueError as exc:
                problems.append(str(exc))
                return default

        def integer(name: str, default: int) -> int:
            value = get(name)
            if not value:
                return default
            try:
                return parse_int(value, name)
            except ValueError as exc:
                problems.append(str(exc))
                return default

        def required(name: str, debug_default: str) -> str:
            value = get(name)
            if value:
                return value
            if debug:
                return debug_default
            problems.append(f"{name} is required (it has a default only with DJANGO_DEBUG=true)")
            return ""

        def url(name: str, debug_default: str, schemes: frozenset[str]) -> str:
            value = required(name, debug_default)
            if not value:
                return ""
            try:
                return check_url_scheme(value, name, schemes)
            except ValueError as exc:
                problems.append(str(exc))
                return ""

        debug = boolean("DJANGO_DEBUG", False)
        secret_key = required("DJANGO_SECRET_KEY", DEBUG_SECRET_KEY)
        allowed_hosts = parse_list(get("DJANGO_ALLOWED_HOSTS")) or (list(DEBUG_ALLOWED_HOSTS) if debug else [])
        if not allowed_hosts and not debug:
            problems.append("DJANGO_ALLOWED_HOSTS is required (host names separated by commas)")

        database: dict = {}
        database_url = required("DATABASE_URL", DEBUG_DATABASE_URL)
        if database_url:
            try:
                database = parse_database_url(database_url)
            except ValueError as exc:
                problems.append(str(exc))

        redis_url = url("REDIS_URL", DEBUG_REDIS_URL, REDIS_SCHEMES)
        broker_url = url("CELERY_BROKER_URL", DEBUG_BROKER_URL, BROKER_SCHEMES)
        broker_use_ssl = None
        broker_ca_certs = get("CELERY_BROKER_CA_CERTS")
        if broker_url.startswith("amqps://"):
            broker_use_ssl = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": urlsplit(broker_url).hostname}
            if broker_ca_certs:
                broker_use_ssl["ca_certs"] = broker_ca_certs
        elif broker_ca_certs and broker_url:
            problems.append(
                "CELERY_BROKER_CA_CERTS is set but CELERY_BROKER_URL is not amqps://: the broker would not use TLS"
            )
        mongodb_url = get("MONGODB_URL") or None
        if mongodb_url:
            try:
                check_url_scheme(mongodb_url, "MONGODB_URL", MONGODB_SCHEMES)
            except ValueError as exc:
                problems.append(str(exc))

        secure_ssl_redirect = boolean("DJANGO_SECURE_SSL_REDIRECT", not debug)
        hsts_seconds = integer("DJANGO_SECURE_HSTS_SECONDS", 0 if debug else DEFAULT_HSTS_SECONDS)
        hsts_include_subdomains = boolean("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not debug)
        hsts_preload = boolean("DJANGO_SECURE_HSTS_PRELOAD", not debug)

        log_level = (get("DJANGO_LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            problems.append(f"DJANGO_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL (got {log_level!r})")
            log_level = "INFO"

        if problems:
            raise ConfigError(problems)
        return cls(
            debug=debug,
            secret_key=secret_key,
            allowed_hosts=allowed_hosts,
            csrf_trusted_origins=parse_list(get("DJANGO_CSRF_TRUSTED_ORIGINS")),
            database=database,
            redis_url=redis_url,
            broker_url=broker_url,
            broker_use_ssl=broker_use_ssl,
            mongodb_url=mongodb_url,
            secure_ssl_redirect=secure_ssl_redirect,
            hsts_seconds=hsts_seconds,
            hsts_include_subdomains=hsts_include_subdomains,
            hsts_preload=hsts_preload,
            release_version=read_release_version(environ, base_dir),
            static_root=Path(get("STATIC_ROOT") or base_dir / "staticfiles"),
            media_root=Path(get("MEDIA_ROOT") or base_dir / "media"),
            log_level=log_level,
        )
