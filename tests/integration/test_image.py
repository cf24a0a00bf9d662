"""The example app's image (docker/app) tested for real: built from the release artifact, run against
PostGIS and Redis in containers on a private network, its port published on 127.0.0.1 only.

    make image-test      (pytest -q tests/integration/test_image.py)

The tests are ordered steps; module-scoped fixtures do the work once (the artifact, the images, the
services, the running app) and each test asserts one thing of it. Needs a Docker engine (started by
scripts/ensure-docker when none answers) and debian:bookworm (docker/base/build). Builds the
artifact into .cache/image-test/ (wheels from ~/.cache/djangoops/wheels), the app image
djangoops/example-app:<version> and the test-only images of docker/test-services (in parallel); the
images stay as layer cache, so a second run is quick. Every container and network this run makes
carries the label org.djangoops.image-test=<run id> and is removed at the end, also on failure,
Ctrl-C or SIGTERM. The seconds of each step are printed after the tests.

Secrets are generated for the run and written to 0600 files in a 0700 temporary directory, passed
with --env-file: never on a command line.

Environment: IMAGE_TEST_VERSION (1.0.0), IMAGE_TEST_KEEP_LOGS=1 (keep the step logs and env files),
the bounds in seconds IMAGE_TEST_SERVICE_TIMEOUT (90), IMAGE_TEST_APP_TIMEOUT (90),
IMAGE_TEST_COMMAND_TIMEOUT (300), IMAGE_TEST_BUILD_TIMEOUT (1200).
"""

import collections
import contextlib
import csv
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.conftest import steps_for

ROOT = Path(__file__).resolve().parents[2]
VERSION = os.environ.get("IMAGE_TEST_VERSION", "1.0.0")
IMAGE = "djangoops/example-app"
REF = f"{IMAGE}:{VERSION}"
SERVICE_IMAGES = {"postgis": "djangoops/test-postgis:15", "redis": "djangoops/test-redis:7"}
OUT = ROOT / ".cache" / "image-test"
ARTIFACT = OUT / f"example-{VERSION}.tar.gz"
AIRPORTS_CSV = ROOT / "example" / "airports" / "data" / "airports.csv"
LABEL = "org.djangoops.image-test"
APP_UID = 10001  # docker/app/Dockerfile: USER 10001:10001
EX_CONFIG = 78  # docker/app/entrypoint.py: the environment is incomplete or invalid

# Bounds (seconds) of every wait.
WAIT_SERVICES = int(os.environ.get("IMAGE_TEST_SERVICE_TIMEOUT", "90"))
WAIT_APP = int(os.environ.get("IMAGE_TEST_APP_TIMEOUT", "90"))
COMMAND_TIMEOUT = int(os.environ.get("IMAGE_TEST_COMMAND_TIMEOUT", "300"))
BUILD_TIMEOUT = int(os.environ.get("IMAGE_TEST_BUILD_TIMEOUT", "1200"))
DOCKER_TIMEOUT = 120  # one docker CLI call that starts, inspects or removes something
STOP_TIMEOUT = 60  # docker stop --time 30


# ---------------------------------------------------------------------------------------------
# The run: its label, temporary directory, commands, step times and cleanup


@dataclass
class Result:
    rc: int
    output: str

    def tail(self, lines=40):
        return "\n".join("    " + line for line in self.output.splitlines()[-lines:])


@dataclass
class ImageTestRun:
    run_id: str
    prefix: str
    tmp: Path
    steps: object  # tests/integration/conftest.py: SuiteSteps
    commands: list = field(default_factory=list)
    background: list = field(default_factory=list)
    generated: list = field(default_factory=list)
    removed: collections.Counter = field(default_factory=collections.Counter)

    @property
    def label(self):
        return f"--label={LABEL}={self.run_id}"

    @property
    def network(self):
        return f"{self.prefix}-net"

    def name(self, what):
        return f"{self.prefix}-{what}"

    def step(self, title):
        """Time a step (tests/integration/conftest.py); the yielded list takes notes for its line."""
        return self.steps.step(title)

    def secret(self, nbytes):
        value = secrets.token_hex(nbytes)
        self.generated.append(value)
        return value

    def write_private(self, name, text):
        """A file of this run's temporary directory (0700), readable by its owner only."""
        path = self.tmp / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def start(self, log, argv):
        """Start argv in the background, its output in <tmp>/<log>.log, in a process group of its own."""
        self.commands.append(list(argv))
        with (self.tmp / f"{log}.log").open("w") as out:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )
        self.background.append(proc)
        return proc

    def finish(self, log, proc, timeout):
        """Wait for a command of start() at most timeout seconds; on timeout or interrupt stop its group."""
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            pytest.fail(f"{' '.join(proc.args)} did not finish within {timeout} s", pytrace=False)
        except BaseException:
            stop_group(proc)
            raise
        return Result(rc, (self.tmp / f"{log}.log").read_text(errors="replace"))

    def run(self, log, argv, timeout, check=True):
        result = self.finish(log, self.start(log, argv), timeout)
        if check and result.rc != 0:
            pytest.fail(f"command failed (exit {result.rc}): {' '.join(argv)}\n{result.tail()}", pytrace=False)
        return result

    def docker(self, *args, timeout=DOCKER_TIMEOUT):
        """A quick docker CLI call, output captured."""
        argv = ["docker", *args]
        self.commands.append(argv)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
        return Result(proc.returncode, proc.stdout + proc.stderr)

    def app_once(self, log, env_file, *args):
        """One throw-away container of the image on the run's network."""
        argv = ["docker", "run", "--rm", self.label, f"--network={self.network}", f"--env-file={env_file}", REF, *args]
        return self.run(log, argv, COMMAND_TIMEOUT, check=False)

    def diagnostics(self, container):
        """The last lines of a container's log and of its health checks, for failure messages."""
        logs = self.docker("logs", "--tail=30", container).output
        health = self.docker(
            "inspect",
            "--format={{if .State.Health}}{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}{{end}}",
            container,
        ).output
        return f"\n--- {container}: last lines of its log ---\n{logs}\n--- its last health checks ---\n{health[-2000:]}"

    def wait_healthy(self, container, seconds):
        """Docker's own health status of container becomes healthy within seconds; returns the state."""
        deadline = time.monotonic() + seconds
        fmt = "--format={{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"
        while True:
            inspected = self.docker("inspect", fmt, container)
            state = inspected.output.strip() if inspected.rc == 0 else "missing missing"
            if state == "running healthy":
                return state
            if state == "running none":
                pytest.fail(f"{container} has no HEALTHCHECK", pytrace=False)
            if not state.startswith("running "):
                pytest.fail(f"{container} is {state}, not running{self.diagnostics(container)}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{container} not healthy within {seconds} s (status: {state}){self.diagnostics(container)}",
                    pytrace=False,
                )
            time.sleep(0.5)

    def remove_labelled(self):
        """Remove every container, network and volume carrying this run's label; say how many."""
        for proc in self.background:
            stop_group(proc)
        found = {}
        for kind, listing in (
            ("container", ["ps", "-aq"]),
            ("network", ["network", "ls", "-q"]),
            ("volume", ["volume", "ls", "-q"]),
        ):
            listed = self.docker(*listing, f"--filter=label={LABEL}={self.run_id}")
            found[kind] = listed.output.split() if listed.rc == 0 else []
        self.removed.update({kind: len(ids) for kind, ids in found.items()})
        if found["container"]:
            self.docker("rm", "--force", "--volumes", *found["container"])
        if found["network"]:
            self.docker("network", "rm", *found["network"])
        if found["volume"]:
            self.docker("volume", "rm", *found["volume"])
        return found


def stop_group(proc):
    """Stop a command of ImageTestRun.start() and what it started (its own process group)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


@pytest.fixture(scope="session")
def image_test_run(request):
    """The run: a label and names of its own, a 0700 temporary directory, and the cleanup of both.

    Its teardown removes everything carrying the label and the temporary directory, also after a
    failure or Ctrl-C; SIGTERM is turned into the same interrupt meanwhile.
    """
    steps = steps_for(request.config, "image-test")
    steps.total_note(REF)
    tmp = Path(tempfile.mkdtemp(prefix="djangoops-image-test."))
    tmp.chmod(0o700)
    run = ImageTestRun(
        run_id=f"{int(time.time())}-{os.getpid()}", prefix=f"djangoops-imagetest-{os.getpid()}", tmp=tmp, steps=steps
    )
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        yield run
    finally:
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not stop the cleanup
        try:
            run.remove_labelled()
            steps.after(
                f"cleaned up {run.removed['container']} container(s), {run.removed['network']} network(s), "
                f"{run.removed['volume']} volume(s) of run {run.run_id}"
            )
            if os.environ.get("IMAGE_TEST_KEEP_LOGS") == "1":
                steps.after(f"step logs kept in {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, interrupt)
            signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------------------
# Module fixtures: each does one step of the work once; the tests assert on what it made


@pytest.fixture(scope="module")
def docker_engine(image_test_run):
    """A Docker engine that answers and debian:bookworm, made so as the test bed does when missing."""
    run = image_test_run
    with run.step("Docker engine answers, debian:bookworm present") as notes:
        if run.docker("info").rc != 0:
            run.run("ensure-docker", [str(ROOT / "scripts" / "ensure-docker")], timeout=600)
        if run.docker("image", "inspect", "debian:bookworm").rc != 0:
            run.run("base-image", [str(ROOT / "docker" / "base" / "build"), "bookworm"], timeout=BUILD_TIMEOUT)
        version = run.docker("version", "--format={{.Server.Version}}").output.strip()
        notes.append(f"engine {version}")
    return version


@pytest.fixture(scope="module")
def release_artifact(image_test_run, docker_engine):
    """tools/build_release.py --python 3.11 into .cache/image-test; its JSON result."""
    run = image_test_run
    OUT.mkdir(parents=True, exist_ok=True)
    with run.step(f"release artifact {VERSION} (tools/build_release.py --python 3.11)") as notes:
        # --force: a changed source tree replaces the test's artifact (same inputs leave it alone).
        argv = [
            sys.executable,
            str(ROOT / "tools" / "build_release.py"),
            "--source",
            str(ROOT / "example"),
            "--version",
            VERSION,
            "--output",
            str(OUT),
            "--python",
            "3.11",
            "--force",
            "--json",
        ]
        built = run.run("build-release", argv, timeout=BUILD_TIMEOUT)
        try:
            result = json.loads(built.output.splitlines()[-1])
        except (IndexError, ValueError):
            pytest.fail(f"no JSON result from build_release.py:\n{built.tail()}", pytrace=False)
        notes.append(f"{result.get('status')}, {result.get('size', 0) // 1000000} MB")
    return result


@pytest.fixture(scope="module")
def manifest(release_artifact):
    with tarfile.open(ARTIFACT) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None, f"{ARTIFACT} has no manifest.json"
        return json.load(member)


@pytest.fixture(scope="module")
def images(image_test_run, release_artifact):
    """The app image (docker/app/build) and, meanwhile, the test-only postgis and redis images."""
    run = image_test_run
    built = {}
    with run.step("images: the app and, in parallel, the test-only postgis, redis") as notes:
        started = time.monotonic()
        services = {
            service: run.start(
                f"image-{service}", ["docker", "build", "-q", "-t", ref, f"docker/test-services/{service}"]
            )
            for service, ref in SERVICE_IMAGES.items()
        }
        try:
            built["app"] = run.run("app-image", [str(ROOT / "docker" / "app" / "build"), str(ARTIFACT)], BUILD_TIMEOUT)
            for service, proc in services.items():
                remaining = max(1.0, BUILD_TIMEOUT - (time.monotonic() - started))
                built[service] = run.finish(f"image-{service}", proc, remaining)
        except BaseException:
            for proc in services.values():
                stop_group(proc)
            raise
        size = run.docker("image", "inspect", "--format={{.Size}}", REF).output.strip()
        notes.append(f"app image {int(size) // 1000000 if size.isdigit() else '?'} MB")
    return built


@pytest.fixture(scope="module")
def image_config(image_test_run, images):
    """The app image's configuration (docker image inspect .Config)."""
    inspected = image_test_run.docker("image", "inspect", "--format={{json .Config}}", REF)
    assert inspected.rc == 0, inspected.output
    return json.loads(inspected.output)


@dataclass
class EnvFiles:
    app: Path
    no_secret_key: Path
    no_database_url: Path


@pytest.fixture(scope="module")
def services(image_test_run, images):
    """A private network with PostGIS (alias db) and Redis (alias redis), both healthy; the app's env files.

    The app's configuration is environment only, its secrets generated for this run. RabbitMQ is not
    part of this test: the broker is kombu's in-memory transport.
    """
    run = image_test_run
    for service in SERVICE_IMAGES:
        result = images[service]
        if result.rc != 0:
            lines = [
                line for line in result.output.splitlines() if not re.search("DEPRECATED|legacy builder|buildx", line)
            ]
            pytest.fail(f"the test image {service} did not build:\n" + "\n".join(lines[-30:]), pytrace=False)
    with run.step("private network, PostGIS and Redis healthy"):
        db_password = run.secret(24)
        redis_password = run.secret(24)
        postgis_env = run.write_private(
            "postgis.env", f"POSTGRES_PASSWORD={db_password}\nPOSTGRES_USER=example\nPOSTGRES_DB=example\n"
        )
        redis_env = run.write_private("redis.env", f"REDIS_PASSWORD={redis_password}\n")
        run.run("network", ["docker", "network", "create", run.label, run.network], DOCKER_TIMEOUT)
        for service, alias, env in (("postgis", "db", postgis_env), ("redis", "redis", redis_env)):
            argv = [
                "docker",
                "run",
                "-d",
                f"--name={run.name(service)}",
                run.label,
                f"--network={run.network}",
                f"--network-alias={alias}",
                f"--env-file={env}",
                "--health-interval=1s",
                SERVICE_IMAGES[service],
            ]
            run.run(f"start-{service}", argv, DOCKER_TIMEOUT)
        states = {service: run.wait_healthy(run.name(service), WAIT_SERVICES) for service in SERVICE_IMAGES}
    app_env = run.write_private(
        "app.env",
        f"DJANGO_SECRET_KEY={run.secret(32)}\n"
        "DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1\n"
        f"DATABASE_URL=postgis://example:{db_password}@db:5432/example\n"
        f"REDIS_URL=redis://:{redis_password}@redis:6379/0\n"
        "CELERY_BROKER_URL=memory://\n"
        "GUNICORN_WORKERS=2\n",
    )
    lines = app_env.read_text().splitlines(keepends=True)
    env_files = EnvFiles(
        app=app_env,
        no_secret_key=run.write_private(
            "nokey.env", "".join(x for x in lines if not x.startswith("DJANGO_SECRET_KEY="))
        ),
        no_database_url=run.write_private("nodb.env", "".join(x for x in lines if not x.startswith("DATABASE_URL="))),
    )
    yield states, env_files
    run.remove_labelled()  # the containers and the network; the session's finalizer is the safety net


@pytest.fixture(scope="module")
def env_files(services):
    return services[1]


@pytest.fixture(scope="module")
def migrated(image_test_run, env_files):
    with image_test_run.step("migrate through the image") as notes:
        result = image_test_run.app_once("migrate", env_files.app, "migrate", "--noinput")
        notes.append(f"exit {result.rc}, {len(re.findall(r'Applying .* OK', result.output))} migrations applied")
    return result


@pytest.fixture(scope="module")
def loaded(image_test_run, env_files, migrated):
    assert migrated.rc == 0, f"migrate exited {migrated.rc}:\n{migrated.tail(30)}"
    with image_test_run.step("load_airports through the image") as notes:
        result = image_test_run.app_once("load-airports", env_files.app, "load_airports")
        found = re.search(r"^airports: (\d+) created.*$", result.output, re.MULTILINE)
        notes.append(found.group(0) if found else f"exit {result.rc}")
    return result, int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def app(image_test_run, env_files, loaded):
    """The app container, hardened as the README suggests (read-only root, no capabilities, no new
    privileges), its port 8000 published on 127.0.0.1; healthy by the image's own HEALTHCHECK."""
    run = image_test_run
    result, created = loaded
    assert result.rc == 0, f"load_airports exited {result.rc}:\n{result.tail(30)}"
    assert created > 0, f"load_airports created no airport:\n{result.tail(30)}"
    name = run.name("app")
    with run.step("app healthy by the image's HEALTHCHECK (read-only, no caps)") as notes:
        argv = [
            "docker",
            "run",
            "-d",
            f"--name={name}",
            run.label,
            f"--network={run.network}",
            f"--env-file={env_files.app}",
            "--read-only",
            "--tmpfs=/tmp",
            "--cap-drop=ALL",
            "--security-opt=no-new-privileges",
            "--publish=127.0.0.1::8000",
            "--health-interval=2s",
            "--health-start-period=60s",
            REF,
        ]
        run.run("start-app", argv, DOCKER_TIMEOUT)
        state = run.wait_healthy(name, WAIT_APP)
        bindings = run.docker("port", name, "8000/tcp").output.split()
        notes.append(" ".join(bindings))
    return name, state, bindings


@pytest.fixture(scope="module")
def base_url(app):
    _, _, bindings = app
    ports = [b.removeprefix("127.0.0.1:") for b in bindings if re.fullmatch(r"127\.0\.0\.1:\d+", b)]
    assert ports, f"no port published on 127.0.0.1: {bindings}"
    return f"http://127.0.0.1:{ports[0]}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_get(url, headers=None, timeout=10):
    """GET url without proxies and without following redirects: (status, headers, body)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - http://127.0.0.1 only
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture(scope="module")
def airports(image_test_run, base_url):
    """GET /api/airports as the TLS-terminating proxy forwards it."""
    with image_test_run.step("GET /api/airports") as notes:
        status, headers, body = http_get(f"{base_url}/api/airports", {"X-Forwarded-Proto": "https"}, timeout=20)
        notes.append(f"{status}, {len(body) // 1024} KiB")
    return status, headers, body


# ---------------------------------------------------------------------------------------------
# The checks, in order


def test_docker_engine_answers_and_debian_bookworm_is_present(image_test_run, docker_engine):
    assert docker_engine, "docker version names no engine"
    assert image_test_run.docker("image", "inspect", "debian:bookworm").rc == 0


def test_release_artifact_is_built_for_python_3_11(release_artifact, manifest):
    assert release_artifact["status"] in {"built", "rebuilt", "unchanged"}, release_artifact
    assert ARTIFACT.is_file(), f"{ARTIFACT} was not written"
    assert Path(release_artifact["artifact"]) == ARTIFACT.resolve()
    assert manifest["version"] == VERSION
    assert manifest["pythons"] == ["3.11"]


def test_app_image_and_test_only_postgis_redis_images_build_in_parallel(image_test_run, images):
    for service, ref in SERVICE_IMAGES.items():
        assert images[service].rc == 0, f"the test image {service} did not build:\n{images[service].tail(30)}"
        assert image_test_run.docker("image", "inspect", ref).rc == 0, f"{ref} is missing"
    assert image_test_run.docker("image", "inspect", REF).rc == 0, f"{REF} is missing"


def test_image_version_label_matches_the_manifest(image_config, manifest):
    labels = image_config.get("Labels") or {}
    assert labels.get("org.opencontainers.image.version") == manifest["version"], labels


def test_image_runs_as_a_non_root_user(image_config):
    user = image_config.get("User") or ""
    assert user.split(":")[0] not in {"", "0", "root"}, f"the image runs as {user or 'root'!r}"
    assert user.split(":")[0] == str(APP_UID), user


def test_image_has_a_healthcheck(image_config):
    test = (image_config.get("Healthcheck") or {}).get("Test") or []
    assert len(test) > 1, f"the image has no HEALTHCHECK: {test}"
    assert test[0] != "NONE", test


def test_postgis_and_redis_are_healthy_on_a_private_network(image_test_run, services):
    states, _ = services
    assert states == {"postgis": "running healthy", "redis": "running healthy"}
    run = image_test_run
    network = json.loads(run.docker("network", "inspect", "--format={{json .}}", run.network).output)
    assert network["Labels"].get(LABEL) == run.run_id, network["Labels"]
    attached = {c["Name"] for c in network["Containers"].values()}
    assert attached == {run.name("postgis"), run.name("redis")}, attached


def test_generated_secrets_are_in_0600_files_of_a_0700_directory(image_test_run, env_files):
    run = image_test_run
    assert run.tmp.stat().st_mode & 0o777 == 0o700
    files = [env_files.app, env_files.no_secret_key, env_files.no_database_url]
    files += [run.tmp / "postgis.env", run.tmp / "redis.env"]
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert len(run.generated) == 3, run.generated  # db, redis, DJANGO_SECRET_KEY
    assert len(set(run.generated)) == 3
    assert all(value in env_files.app.read_text() for value in run.generated)


def test_refuses_to_start_without_django_secret_key_exit_78(image_test_run, env_files):
    result = image_test_run.app_once("no-secret-key", env_files.no_secret_key)
    assert result.rc == EX_CONFIG, f"exit {result.rc} without DJANGO_SECRET_KEY:\n{result.tail()}"
    assert "DJANGO_SECRET_KEY is required" in result.output, result.output
    assert "DATABASE_URL" not in result.output, f"DATABASE_URL was set but is named as a problem:\n{result.output}"


def test_refuses_a_command_without_database_url_exit_78(image_test_run, env_files):
    result = image_test_run.app_once("no-database-url", env_files.no_database_url, "migrate", "--noinput")
    assert result.rc == EX_CONFIG, f"exit {result.rc} without DATABASE_URL:\n{result.tail()}"
    assert "DATABASE_URL is required" in result.output, result.output


def test_migrate_through_the_image_applies_the_airports_migrations(migrated):
    assert migrated.rc == 0, f"migrate exited {migrated.rc}:\n{migrated.tail(30)}"
    assert re.search(r"Applying airports\..* OK", migrated.output), migrated.output


def test_load_airports_through_the_image_creates_airports(loaded):
    result, created = loaded
    assert result.rc == 0, f"load_airports exited {result.rc}:\n{result.tail(30)}"
    with AIRPORTS_CSV.open(encoding="utf-8") as f:
        real = sum(1 for _ in csv.DictReader(f))
    assert created >= real, f"{created} airports created, airports.csv has {real}:\n{result.output}"


def test_app_is_healthy_by_docker_read_only_without_capabilities(image_test_run, app):
    name, state, _ = app
    assert state == "running healthy"
    host = json.loads(image_test_run.docker("inspect", "--format={{json .HostConfig}}", name).output)
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]


def test_port_8000_is_published_on_127_0_0_1_only(app, base_url):
    _, _, bindings = app
    beyond = [b for b in bindings if not b.startswith("127.0.0.1:")]
    assert not beyond, f"published beyond 127.0.0.1: {bindings}"


def test_healthz_answers_200_with_the_version_and_every_check_ok(image_test_run, app, base_url):
    status, _, body = http_get(f"{base_url}/healthz")
    assert status == 200, f"{status} {body[:500]!r}{image_test_run.diagnostics(app[0])}"
    health = json.loads(body)
    assert health["status"] == "ok", health
    assert health["version"] == VERSION, health
    assert health["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}, health


def test_plain_http_api_is_redirected_to_https(base_url):
    # Production settings: plain HTTP is redirected to https, as behind a TLS-terminating proxy.
    status, headers, _ = http_get(f"{base_url}/api/airports")
    assert status == 301, status
    assert headers["Location"].startswith("https://"), headers["Location"]


def test_api_airports_answers_json_with_one_entry_per_loaded_airport(image_test_run, app, airports, loaded):
    status, headers, body = airports
    assert status == 200, f"{status} {body[:500]!r}{image_test_run.diagnostics(app[0])}"
    assert headers["Content-Type"] == "application/json"
    listed = json.loads(body)
    assert isinstance(listed, list), type(listed)
    _, created = loaded
    assert len(listed) == created, f"{len(listed)} airports listed, load_airports created {created}"
    assert len({a["iata"] for a in listed}) == len(listed), "duplicate IATA codes"
    for airport in listed:
        assert set(airport) == {"iata", "name", "lat", "lon"}, airport
        assert -90 <= airport["lat"] <= 90, airport
        assert -180 <= airport["lon"] <= 180, airport


def test_api_airports_lists_the_real_airports_as_in_airports_csv(airports):
    by_code = {a["iata"]: a for a in json.loads(airports[2])}
    with AIRPORTS_CSV.open(encoding="utf-8") as f:
        real = list(csv.DictReader(f))
    assert len(real) == 123, f"airports.csv has {len(real)} airports"
    for row in real:
        listed = by_code.get(row["iata"])
        assert listed, f"{row['iata']} ({row['name']}) is not listed"
        assert listed["name"] == row["name"], (listed, row)
        assert abs(listed["lat"] - float(row["latitude"])) < 1e-3, (listed, row)
        assert abs(listed["lon"] - float(row["longitude"])) < 1e-3, (listed, row)


def test_every_process_of_the_app_container_runs_as_uid_10001(image_test_run, app):
    name = app[0]
    run = image_test_run
    exec_uid = run.docker("exec", name, "id", "-u")
    assert exec_uid.rc == 0, exec_uid.output
    assert exec_uid.output.strip() == str(APP_UID), f"docker exec runs as uid {exec_uid.output.strip()}"
    # Real, effective, saved and file-system uid of every process, read inside the container.
    code = (
        "import glob\n"
        "for path in glob.glob('/proc/[0-9]*/status'):\n"
        "    try:\n"
        "        lines = open(path).read().splitlines()\n"
        "    except OSError:\n"
        "        continue\n"
        "    print(path.split('/')[2], *next(x for x in lines if x.startswith('Uid:')).split()[1:])\n"
    )
    listed = run.docker("exec", name, "/usr/bin/python3", "-c", code)
    assert listed.rc == 0, listed.output
    processes = [line.split() for line in listed.output.splitlines()]
    assert len(processes) >= 3, f"gunicorn, 2 workers and this check expected: {processes}"  # GUNICORN_WORKERS=2
    for pid, *uids in processes:
        assert uids == [str(APP_UID)] * 4, f"process {pid} runs with uids {uids}"


def test_pid_1_of_the_app_container_is_gunicorn(image_test_run, app):
    cmdline = image_test_run.docker("exec", app[0], "cat", "/proc/1/cmdline")
    assert cmdline.rc == 0, cmdline.output
    assert "gunicorn" in cmdline.output.replace("\0", " "), f"PID 1 is not gunicorn: {cmdline.output!r}"


def test_docker_stop_stops_gunicorn_gracefully_with_exit_0(image_test_run, app):
    run = image_test_run
    name = app[0]
    with run.step("docker stop: gunicorn stops gracefully"):
        run.run("stop-app", ["docker", "stop", "--time=30", name], STOP_TIMEOUT)
    exit_code = run.docker("inspect", "--format={{.State.ExitCode}}", name).output.strip()
    assert exit_code == "0", f"exit status {exit_code} after docker stop{run.diagnostics(name)}"


def test_no_secret_was_ever_on_a_command_line(image_test_run):
    run = image_test_run
    assert run.generated, "no secret was generated"
    assert run.commands, "no command was recorded"
    for argv in run.commands:
        for value in run.generated:
            assert not any(value in arg for arg in argv), f"a generated secret is on a command line: {argv[:3]}..."
