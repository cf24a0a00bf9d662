"""The example app's real release: its wheelhouse, an offline install, and Django's checks in it.

One artifact is built for Python 3.11 and 3.13 (conftest.py). Its wheels are checked against the
tags each Python accepts (with ``packaging``, independently of the builder), then it is installed
the way a host does (a fresh venv, ``pip install --no-index --find-links wheels``, no pip
configuration) with every interpreter of those versions this machine has, and the installed app
runs ``manage.py check`` (and ``--deploy``), ``makemigrations --check``, ``collectstatic`` and
requests through Django's whole stack. No database, cache or broker is involved: their URLs point
at closed ports, and the health check must say so.
"""

import ctypes.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from .conftest import PYTHONS, VERSION, clean_env

HERE = Path(__file__).resolve().parent
# The wheel platforms the hosts accept: manylinux up to glibc 2.28 (Debian 12 has 2.36, Debian 13 2.41).
HOST_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
CLOSED = "127.0.0.1:9"  # the discard port: nothing listens there on a test machine
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "k7#Vq2!xR9@mZ4$wL8%nT3^bY6&cH1*dF5(gJ0)sP-eU_aQ+iO=lK~",
    "DJANGO_ALLOWED_HOSTS": "app.example.org,testserver",
    "DATABASE_URL": f"postgis://app:secret@{CLOSED}/app?connect_timeout=2",
    "REDIS_URL": f"redis://:secret@{CLOSED}/0",
    "CELERY_BROKER_URL": f"amqp://app:secret@{CLOSED}/app",
}


def requirements(release):
    """{normalized name: version} of the release's pinned requirements."""
    pins = {}
    for line in (release["root"] / "src" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[[^\]]+\])?==([^\s;]+)", line)
            assert match, f"not pinned exactly: {line}"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def supported_tags(python):
    version = tuple(int(part) for part in python.split("."))
    interpreter = f"cp{version[0]}{version[1]}"
    return set(cpython_tags(version, platforms=HOST_PLATFORMS)) | set(
        compatible_tags(version, interpreter=interpreter, platforms=HOST_PLATFORMS)
    )


# The artifact ---------------------------------------------------------------------------------------


def test_artifact_layout(release):
    root = release["root"]
    assert sorted(p.name for p in root.iterdir()) == ["manifest.json", "src", "wheels"]
    assert (root / "src" / "VERSION").read_text() == f"{VERSION}\n"
    assert (root / "src" / "manage.py").stat().st_mode & 0o111
    assert (root / "src" / "airports" / "migrations" / "0001_initial.py").is_file()
    assert not list(root.rglob("__pycache__"))
    assert not list(root.rglob("*.pyc"))
    assert release["result"]["status"] == "built"
    assert release["result"]["wheels"] == len(list((root / "wheels").iterdir()))


def test_manifest(release, builder):
    manifest = release["manifest"]
    assert (manifest["app"], manifest["version"], manifest["pythons"]) == ("example", VERSION, list(PYTHONS))
    wheels = sorted((release["root"] / "wheels").iterdir())
    assert manifest["wheels"] == {wheel.name: builder.sha256_file(wheel) for wheel in wheels}
    assert re.fullmatch(r"[0-9a-f]{40}", manifest["source"]["git_commit"] or "0" * 40)


@pytest.mark.parametrize("python", PYTHONS)
def test_wheelhouse_has_a_wheel_of_every_requirement(release, python):
    """Every pin has a wheel of exactly its version that the Python accepts on a manylinux x86_64 host."""
    tags = supported_tags(python)
    available = {}
    for wheel in (release["root"] / "wheels").iterdir():
        name, version, _, wheel_tags = parse_wheel_filename(wheel.name)
        if wheel_tags & tags:
            available[name] = str(version)
    pins = requirements(release)
    assert {name: available.get(name) for name in pins} == pins


def test_requirements_are_a_complete_lock(release):
    """No wheel that is not pinned: pip needed nothing beyond requirements.txt."""
    names = {parse_wheel_filename(wheel.name)[0] for wheel in (release["root"] / "wheels").iterdir()}
    assert names == set(requirements(release))


def test_rebuild_is_unchanged(release):
    before = release["artifact"].stat().st_mtime_ns
    proc = subprocess.run([*release["command"], "--json"], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["status"], result["changed"]) == ("unchanged", False)
    assert result["sha256"] == release["result"]["sha256"]
    assert release["artifact"].stat().st_mtime_ns == before


# An offline install ---------------------------------------------------------------------------------


def find_python(version):
    """An interpreter of this major.minor version on this machine, or None."""
    candidates = [sys.executable] if f"{sys.version_info[0]}.{sys.version_info[1]}" == version else []
    candidates += [shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))]
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in filter(None, candidates):
        try:
            proc = subprocess.run(
                [candidate, "-c", "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
                env=clean_env(),
            )
        except OSError:
            continue
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return candidate
    return None


@pytest.fixture(scope="module", params=PYTHONS)
def installed(request, release, tmp_path_factory):
    """The release installed like on a host: fresh venv, wheels only, no index, no pip configuration."""
    python = find_python(request.param)
    if python is None:
        pytest.skip(f"no Python {request.param} with venv and ensurepip on this machine")
    for library in ("gdal", "geos_c"):
        if ctypes.util.find_library(library) is None:
            pytest.skip(f"GeoDjango needs lib{library} (Debian: apt-get install gdal-bin libgeos-c1v5)")
    venv = tmp_path_factory.mktemp(f"venv{request.param}")
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300, env=clean_env())
    root = release["root"]
    install = [str(venv / "bin" / "python"), "-m", "pip", "--isolated", "install", "--no-index", "--no-input"]
    install += ["--disable-pip-version-check", "--find-links", str(root / "wheels")]
    install += ["--requirement", str(root / "src" / "requirements.txt")]
    proc = subprocess.run(install, capture_output=True, text=True, check=False, timeout=600, env=clean_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"python": request.param, "venv": venv, "src": root / "src"}


def run_in(installed, *args, **env):
    return subprocess.run(
        [str(installed["venv"] / "bin" / "python"), *args],
        cwd=installed["src"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=clean_env(**env),
    )


def manage(installed, *args, **env):
    return run_in(installed, "manage.py", *args, **env)


def test_installed_versions(installed):
    code = "import sys, django, celery; print(f'{sys.version_info[0]}.{sys.version_info[1]}', django.__version__)"
    proc = run_in(installed, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [installed["python"], "5.2.19"]
    check = run_in(installed, "-m", "pip", "check")
    assert check.returncode == 0, check.stdout


def test_check(installed):
    proc = manage(installed, "check", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_deploy_is_clean_with_production_settings(installed):
    proc = manage(installed, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_check_deploy_flags_the_plain_http_test_settings(installed):
    """The test inventory's DJANGO_SECURE_SSL_REDIRECT=false is caught by check --deploy (stage/production gate)."""
    env = PRODUCTION_ENV | {"DJANGO_SECURE_SSL_REDIRECT": "false"}
    proc = manage(installed, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert proc.returncode != 0
    assert "security.W008" in proc.stderr


def test_check_deploy_flags_a_weak_secret_key(installed):
    env = PRODUCTION_ENV | {"DJANGO_SECRET_KEY": "short"}
    proc = manage(installed, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert proc.returncode != 0
    assert "security.W009" in proc.stderr


def test_missing_environment_stops_at_start(installed):
    proc = manage(installed, "check", DJANGO_ALLOWED_HOSTS="app.example.org")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        assert f"{name} is required" in proc.stderr
    assert "secret@" not in proc.stderr


def test_migrations_are_complete(installed):
    proc = manage(installed, "makemigrations", "--check", "--dry-run", **PRODUCTION_ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No changes detected" in proc.stdout


def test_collectstatic(installed, tmp_path):
    static = tmp_path / "static"
    proc = manage(installed, "collectstatic", "--noinput", STATIC_ROOT=str(static), **PRODUCTION_ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((static / "staticfiles.json").read_text())["paths"]
    assert re.fullmatch(r"airports/app\.[0-9a-f]{12}\.css", manifest["airports/app.css"])
    assert re.fullmatch(r"airports/app\.[0-9a-f]{12}\.js", manifest["airports/app.js"])
    assert (static / manifest["airports/app.css"]).is_file()


def test_requests_through_the_django_stack(installed):
    proc = run_in(installed, str(HERE / "probe.py"), **PRODUCTION_ENV)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])

    # the health gate answers over plain HTTP (exempt from the SSL redirect) and names every failed check
    assert r["healthz"]["status"] == 503
    health = r["healthz"]["json"]
    assert (health["status"], health["version"]) == ("fail", VERSION)
    assert health["checks"] == {"database": "fail", "cache": "fail", "broker": "fail"}
    assert health["failed"] == ["database", "cache", "broker"]
    assert "secret" not in json.dumps(health)

    # anything else over plain HTTP is redirected to HTTPS
    assert r["whoami_http"]["status"] == 301
    assert r["whoami_http"]["location"] == "https://testserver/whoami"

    # behind nginx on the unix socket: the client from X-Real-IP, the scheme from X-Forwarded-Proto
    who = r["whoami_socket"]["json"]
    assert (who["remote_addr"], who["is_secure"], who["scheme"]) == ("203.0.113.7", True, "https")
    # a TCP peer keeps its own address
    assert r["whoami_tcp"]["json"]["remote_addr"] == "192.0.2.10"

    assert r["airports_put"]["status"] == 405
    assert r["airport_invalid"]["status"] == 400
    assert set(r["airport_invalid"]["json"]["fields"]) == {"iata", "name", "lat", "lon"}
    assert r["airport_not_json"]["status"] == 400
    assert "not valid JSON" in r["airport_not_json"]["json"]["error"]
    assert r["airport_not_object"]["status"] == 400
    assert r["distance_invalid"]["status"] == 400
    assert set(r["distance_invalid"]["json"]["fields"]) == {"origin", "destination"}
