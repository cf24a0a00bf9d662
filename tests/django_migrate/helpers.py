"""Helpers of the django_migrate tests: run the module (directly and through ansible-playbook), run a
project's manage.py, and take a snapshot of a database's schema."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.ansible_env import ansible_env as base_ansible_env

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)  # the "release interpreter": the venv that has Django
MODULE = ROOT / "plugins" / "modules" / "django_migrate.py"
PROJECTS = Path(__file__).resolve().parent / "projects"
CASES = PROJECTS / "cases"


@dataclass(frozen=True)
class Pg:
    host: str
    port: int
    user: str
    password: str

    def dsn(self, dbname):
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={dbname}"

    def env(self, dbname, apps=None, warehouse=None):
        """The variables the test projects' settings read."""
        env = {
            "DJM_DB_HOST": self.host,
            "DJM_DB_PORT": str(self.port),
            "DJM_DB_USER": self.user,
            "DJM_DB_PASSWORD": self.password,
            "DJM_DB_NAME": dbname,
        }
        if apps is not None:
            env["DJM_APPS"] = ",".join(apps)
        if warehouse is not None:
            env["DJM_WAREHOUSE_NAME"] = warehouse
        return env


def ansible_env(**extra):
    """tests.ansible_env with the venv's bin first on PATH and no host key checks."""
    return base_ansible_env(
        ANSIBLE_HOST_KEY_CHECKING="false", PATH=f"{PYTHON.parent}:{os.environ.get('PATH', '')}", **extra
    )


@dataclass
class ModuleRun:
    rc: int
    result: dict
    seconds: float = 0.0

    @property
    def failed(self):
        return self.rc != 0 or bool(self.result.get("failed"))

    def db(self, alias="default"):
        return self.result["databases"][alias]


def module_args(project, settings, environment, **params):
    args = {"project_path": str(project), "settings": settings, "environment": environment}
    args.update(params)
    return args


def run_module(tmp_path, args, check_mode=False, module=MODULE):
    """Run a module file (django_migrate by default) as Ansible would run it on the host: its args in a JSON file."""
    payload = dict(args)
    if check_mode:
        payload["_ansible_check_mode"] = True
    argfile = tmp_path / f"args-{os.urandom(4).hex()}.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJM_", "DJANGO_"))}
    env["PYTHONPATH"] = str(ROOT / ".collections")
    started = time.monotonic()
    proc = subprocess.run(
        [str(PYTHON), str(module), str(argfile)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    seconds = time.monotonic() - started
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"module printed no JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from exc
    return ModuleRun(proc.returncode, result, seconds)


def run_playbook(tmp_path, args, check=False):
    """Run the module through ansible-playbook on localhost with the release interpreter; return its result."""
    playbook = tmp_path / f"migrate-{os.urandom(4).hex()}.yml"
    task = {"name": "Run django_migrate", "djangoops.stack.django_migrate": args}
    play = [{"name": "django_migrate", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]
    playbook.write_text(json.dumps(play))
    command = [
        str(PYTHON.parent / "ansible-playbook"),
        "--inventory=localhost,",
        "--connection=local",
        f"--extra-vars=ansible_python_interpreter={PYTHON}",
        str(playbook),
    ]
    if check:
        command.insert(1, "--check")
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=ansible_env(ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1"),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
        result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (json.JSONDecodeError, KeyError, IndexError) as exc:
        raise AssertionError(f"ansible-playbook rc {proc.returncode}:\n{proc.stdout}\n{proc.stderr}") from exc
    return ModuleRun(proc.returncode, result)


def manage(project, env, *args):
    """The project's own manage.py (how the old release was migrated before this deploy)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJM_", "DJANGO_"))}
    full_env.update(env)
    proc = subprocess.run(
        [str(PYTHON), "manage.py", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=project,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"manage.py {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def snapshot(pg, dbname):
    """Tables, their columns (nullable, default) and the recorded migrations of one database."""
    with psycopg.connect(pg.dsn(dbname)) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, column_name"
        ).fetchall()
        tables = {}
        for table, column, nullable, default in rows:
            tables.setdefault(table, {})[column] = (nullable == "YES", default)
        comments = dict(
            conn.execute(
                "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            ).fetchall()
        )
        migrations = []
        if "django_migrations" in tables:
            migrations = [
                f"{app}.{name}"
                for app, name in conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()
            ]
    return {"tables": tables, "comments": comments, "migrations": migrations}


def columns(snap, table):
    return set(snap["tables"].get(table, {}))


def nullable(snap, table, column):
    return snap["tables"][table][column][0]
