#!/app/venv/bin/python
"""The image's entrypoint: checks the configuration, then runs gunicorn or a manage.py command.

    docker run IMAGE                       gunicorn on 0.0.0.0:8000 (the default command)
    docker run IMAGE gunicorn [ARG ...]    the same with more gunicorn arguments (or IMAGE --ARG ...)
    docker run IMAGE migrate --noinput     any manage.py command: migrate, load_airports, check --deploy, ...
    docker run IMAGE celery -A example worker
    docker run IMAGE python|sh|bash ...    as given, without the check (debugging)

The configuration comes from environment variables only. The app's settings refuse to load without
DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and CELERY_BROKER_URL (unless
DJANGO_DEBUG=true); the check loads them first, so a container missing one stops at once with
exit status 78 and a message naming every missing or invalid variable, instead of a traceback from
each gunicorn worker. gunicorn reads GUNICORN_WORKERS (default 2), GUNICORN_TIMEOUT and
GUNICORN_GRACEFUL_TIMEOUT (default 30 seconds each); gunicorn's own FORWARDED_ALLOW_IPS and
GUNICORN_CMD_ARGS work as documented by gunicorn.
"""

import importlib
import os
import sys

APP_DIR = "/app/src"
PYTHON = "/app/venv/bin/python"
WSGI_APP = "example.wsgi:application"
BIND = "0.0.0.0:8000"
EX_CONFIG = 78
UNCHECKED = frozenset({"python", "python3", "sh", "bash"})


def integer(name: str, default: int, problems: list[str]) -> str:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit() or int(value) < 1:
        problems.append(f"{name} must be a positive integer (got {value!r})")
    return value


def settings_problems() -> list[str]:
    """Load the settings module: the app's settings raise ImproperlyConfigured naming every problem."""
    from django.core.exceptions import ImproperlyConfigured

    sys.path.insert(0, APP_DIR)
    try:
        importlib.import_module(os.environ.get("DJANGO_SETTINGS_MODULE") or "example.settings")
    except ImproperlyConfigured as exc:
        lines = [line.strip() for line in str(exc).splitlines()]
        return [line.removeprefix("- ") for line in lines if line and line != "invalid environment:"]
    finally:
        sys.path.remove(APP_DIR)
    return []


def refuse(problems: list[str]) -> None:
    print("example-app: refusing to start, the environment is incomplete or invalid:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print("example-app: set the variables with docker run -e / --env-file (see docker/app/README.md)", file=sys.stderr)
    sys.exit(EX_CONFIG)


def main(args: list[str]) -> None:
    if not args or args[0].startswith("-"):
        args = ["gunicorn", *args]
    command, rest = args[0], args[1:]
    if command in UNCHECKED:
        os.execvp(command, args)  # noqa: S606 (the entrypoint's job: replace itself with the command)
    if command == "manage.py":
        command, rest = (rest[0], rest[1:]) if rest else ("help", [])

    problems = []
    if command == "gunicorn":
        workers = integer("GUNICORN_WORKERS", 2, problems)
        timeout = integer("GUNICORN_TIMEOUT", 30, problems)
        graceful = integer("GUNICORN_GRACEFUL_TIMEOUT", 30, problems)
    problems += settings_problems()
    if problems:
        refuse(problems)

    os.chdir(APP_DIR)
    if command == "gunicorn":
        argv = ["gunicorn", "--bind", BIND, "--workers", workers, "--timeout", timeout, "--graceful-timeout", graceful]
        # /dev/shm: the workers' heartbeat files stay off the container's overlay file system. No
        # control socket: its default place ($HOME/.gunicorn) is read-only here, and signals do its job.
        argv += ["--access-logfile", "-", "--worker-tmp-dir", "/dev/shm", "--no-control-socket"]  # noqa: S108
        os.execvp("gunicorn", [*argv, *rest, WSGI_APP])  # noqa: S606
    if command == "celery":
        os.execvp("celery", args)  # noqa: S606
    os.execv(PYTHON, [PYTHON, os.path.join(APP_DIR, "manage.py"), command, *rest])  # noqa: S606


if __name__ == "__main__":
    main(sys.argv[1:])
