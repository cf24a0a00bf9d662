"""A real PostgreSQL for the django_migrate tests, provisioned by this collection's postgresql role.

One systemd test host (djangoops/platform:debian12, run as molecule/shared/create.yml runs it) gets
the djangoops.stack.postgresql role through the community.docker connection: listening on its own
address, scram-sha-256 for the docker network, a test role with CREATEDB. Its port 5432 is published
on 127.0.0.1 only. Every test creates its own databases. The container is named
djangoops-migrate-pg-<pid>-<random>, unique to this run, so that concurrent runs and other suites
keep their containers; the run removes only its own (labelled owner=djangoops-migrate-tests).

DJM_KEEP_PG=1 keeps the container after the session and reuses it next time (for development): it is
then named djangoops-migrate-pg-keep. A run only ever removes the container of its own name.
"""

import json
import os
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from .helpers import CASES, ROOT, Pg, ansible_env, manage, module_args, run_module, run_playbook, snapshot

KEEP = os.environ.get("DJM_KEEP_PG") == "1"
# Unique per run: the run removes (docker rm --force) only this name, never another run's container.
CONTAINER = "djangoops-migrate-pg-keep" if KEEP else f"djangoops-migrate-pg-{os.getpid()}-{secrets.token_hex(3)}"
IMAGE = "djangoops/platform:debian12"
USER = "djm_test"
LOGIN_LABEL = "djangoops.migrate-tests.login"
PROVISIONED = "/root/.djangoops-migrate-tests-provisioned"

PROVISION = """\
- name: Provision the django_migrate test database server
  hosts: all
  gather_facts: true
  roles:
    - role: djangoops.stack.postgresql
"""


def docker(*args, check=True, timeout=120):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def container_running():
    proc = docker("inspect", "--format", "{{.State.Running}}", CONTAINER, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def ensure_image():
    if docker("image", "inspect", IMAGE, check=False).returncode == 0:
        return
    # The test bed's own steps (make testbed) build it when missing.
    subprocess.run([str(ROOT / "scripts" / "ensure-docker")], check=True, cwd=ROOT)
    subprocess.run([str(ROOT / "docker" / "platform" / "build")], check=True, cwd=ROOT)


def start_container(password):
    docker("rm", "--force", CONTAINER, check=False)
    docker(
        "run",
        "--detach",
        f"--name={CONTAINER}",
        f"--hostname={CONTAINER}",
        "--cap-add=SYS_ADMIN",
        "--cgroupns=host",
        "--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--tmpfs=/run",
        "--tmpfs=/run/lock",
        "--tmpfs=/tmp",
        "--stop-signal=SIGRTMIN+3",
        "--publish=127.0.0.1::5432",
        "--label=owner=djangoops-migrate-tests",
        f"--label={LOGIN_LABEL}={password}",
        IMAGE,
        "/lib/systemd/systemd",
    )
    deadline = time.monotonic() + 180
    while True:  # systemd's bus appears a moment after the container starts
        booted = docker("exec", CONTAINER, "systemctl", "is-system-running", "--wait", check=False, timeout=180)
        if booted.stdout.strip() in ("running", "degraded") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert booted.stdout.strip() in ("running", "degraded"), booted.stdout + booted.stderr


def provision(tmp_path, password):
    """Apply djangoops.stack.postgresql to the container, as an operator would to a server."""
    playbook = tmp_path / "provision.yml"
    playbook.write_text(PROVISION)
    network = "{{ ansible_facts['default_ipv4']['network'] }}/{{ ansible_facts['default_ipv4']['prefix'] }}"
    variables = {
        "ansible_connection": "community.docker.docker",
        "ansible_python_interpreter": "/usr/bin/python3",
        "postgresql_listen_addresses": ["localhost", "{{ ansible_facts['default_ipv4']['address'] }}"],
        "postgresql_hba_entries": [
            {
                "database": "all",
                "user": USER,
                "address": network,
            }
        ],
        "postgresql_users": [{"name": USER, "password": password, "role_attr_flags": "LOGIN,CREATEDB"}],
        # Test speed, not durability: no PostGIS to install, no fsync. No TLS: the collection's CA is made
        # on the controller by tasks delegated to localhost, which the docker connection given here as an
        # extra variable (it wins over everything) would send into the container.
        "postgresql_tls": False,
        "postgresql_postgis": False,
        "postgresql_shared_buffers": "128MB",
        "postgresql_max_connections": 200,
        "postgresql_settings": {"fsync": False, "synchronous_commit": False, "full_page_writes": False},
    }
    extra = tmp_path / "provision-vars.json"
    extra.write_text(json.dumps(variables))
    proc = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ansible-playbook"),
            f"--inventory={CONTAINER},",
            f"--extra-vars=@{extra}",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=ansible_env(),
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def published_port():
    mapping = docker("port", CONTAINER, "5432/tcp").stdout.strip().splitlines()[0]
    host, _, port = mapping.rpartition(":")
    assert host == "127.0.0.1", mapping
    return int(port)


def wait_for(pg, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with psycopg.connect(pg.dsn("postgres"), connect_timeout=3):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    keep = KEEP
    started = time.monotonic()
    password = None
    if (
        keep
        and container_running()
        and docker("exec", CONTAINER, "test", "-f", PROVISIONED, check=False).returncode == 0
    ):
        label = docker("inspect", "--format", f'{{{{index .Config.Labels "{LOGIN_LABEL}"}}}}', CONTAINER)
        password = label.stdout.strip() or None
    try:
        if password is None:
            ensure_image()
            password = secrets.token_urlsafe(18)
            start_container(password)
            provision(tmp_path_factory.mktemp("provision"), password)
            docker("exec", CONTAINER, "touch", PROVISIONED)
        pg = Pg(host="127.0.0.1", port=published_port(), user=USER, password=password)
        wait_for(pg)
        print(f"\nPostgreSQL ready on 127.0.0.1:{pg.port} after {time.monotonic() - started:.1f}s")
        yield pg
    finally:
        if not keep:  # this run's own container only, also when starting or provisioning it failed
            docker("rm", "--force", CONTAINER, check=False)


@pytest.fixture
def make_db(postgres):
    """Create empty databases named test_<random>; drop them after the test."""
    created = []

    def make():
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return name

    yield make
    with psycopg.connect(postgres.dsn("postgres"), autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(make_db):
    return make_db()


@pytest.fixture
def project_root():
    return Path(__file__).resolve().parent / "projects"


class Cases:
    """One test's database(s) and the rule-case project, with the module run against them."""

    def __init__(self, pg, make_db, tmp_path):
        self.pg, self.make_db, self.tmp_path = pg, make_db, tmp_path
        self.name = make_db()
        self.warehouse = None

    def add_warehouse(self):
        self.warehouse = self.make_db()
        return self.warehouse

    def env(self, apps):
        return self.pg.env(self.name, apps=apps, warehouse=self.warehouse)

    def baseline(self, apps, *targets, database="default"):
        """Migrate as the old release did, with Django's own command: `app` or `app:migration`."""
        for target in targets:
            manage(CASES, self.env(apps), "migrate", *target.split(":"), f"--database={database}", "--verbosity=0")

    def args(self, apps, phase, **params):
        return module_args(CASES, "casesite.settings", self.env(apps), phase=phase, **params)

    def run(self, apps, phase, check_mode=False, **params):
        return run_module(self.tmp_path, self.args(apps, phase, **params), check_mode=check_mode)

    def playbook(self, apps, phase, check=False, **params):
        return run_playbook(self.tmp_path, self.args(apps, phase, **params), check=check)

    def snap(self, dbname=None):
        return snapshot(self.pg, dbname or self.name)

    def sql(self, statement, params=None, dbname=None):
        with psycopg.connect(self.pg.dsn(dbname or self.name), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None


@pytest.fixture
def cases(postgres, make_db, tmp_path):
    return Cases(postgres, make_db, tmp_path)
