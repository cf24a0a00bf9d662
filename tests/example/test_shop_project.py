"""The shop test project (tests/projects/shop) and its releases, before any host sees them.

``tests/projects/make_source.py`` writes each version's source (``shop/`` with the files of every
later release folder laid over it). Each version is built by the release builder from
``requirements/production.txt`` (its includes resolved, every pin with a wheel for the hosts'
Pythons), and, in a virtualenv made offline from the release builder's wheel cache with the project's
``requirements/local.txt``, passes ``manage.py check``, has no missing migration, migrates an empty
SQLite database with its local settings and serves what the ``project`` molecule scenario loads.
1.2.1's Celery worker exits at start (its pool, gevent, is not installed). Without the wheels in
the cache (the builder's test fills it), the virtualenv tests are skipped with the reason.
"""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.projects.make_source import SourceError, make_source, versions  # noqa: E402
from tools.build_release import DEFAULT_WHEEL_CACHE  # noqa: E402

BUILDER = ROOT / "tools" / "build_release.py"
# The release builder's wheel cache (filled by its tests before these).
WHEEL_CACHE = DEFAULT_WHEEL_CACHE
MIGRATIONS = {
    "1.0.0": ["0001_initial", "0002_seed_products"],
    "1.1.0": ["0001_initial", "0002_seed_products", "0003_product_stock"],
    "1.2.0": ["0001_initial", "0002_seed_products", "0003_product_stock", "0004_remove_product_legacy_code"],
    "1.2.1": ["0001_initial", "0002_seed_products", "0003_product_stock", "0004_remove_product_legacy_code"],
}
PROBE = """
import json
from django.test import Client
from catalog.models import Order
client = Client(HTTP_HOST="localhost")
out = {}
for path in ("/", "/api/products/", "/admin/login/"):
    response = client.get(path)
    out[path] = [response.status_code, response.content.decode()[:2000]]
response = client.post("/orders/", '{"sku": "MUG-001", "reference": "probe"}', content_type="application/json")
out["/orders/"] = [response.status_code, Order.objects.filter(reference="probe").count()]
print("PROBE" + json.dumps(out))
"""


def test_versions_in_order():
    assert versions() == ["1.0.0", "1.1.0", "1.2.0", "1.2.1"]


def test_an_unknown_version_is_refused(tmp_path):
    with pytest.raises(SourceError, match=r"no release 9\.9\.9"):
        make_source("9.9.9", tmp_path / "src")


@pytest.mark.parametrize("version", list(MIGRATIONS))
def test_each_source_has_its_migrations(tmp_path, version):
    source = make_source(version, tmp_path / "src")
    found = sorted(p.stem for p in (source / "catalog" / "migrations").glob("0*.py"))
    assert found == MIGRATIONS[version]
    assert not list(source.rglob("__pycache__"))


def test_the_builder_builds_the_production_requirements_with_their_include(tmp_path):
    source = make_source("1.0.0", tmp_path / "src")
    build = [sys.executable, BUILDER, "--json", "--source", source, "--version", "1.0.0", "--output", tmp_path / "out"]
    options = ["--name", "shop", "--requirements", "requirements/production.txt", "--python=3.11", "--python=3.13"]
    # psycopg[c] has no wheel: compiled in containers of the hosts' Debian releases.
    options += ["--build-image=3.11=debian:bookworm", "--build-image=3.13=debian:trixie", "--build-package=libpq-dev"]
    out = subprocess.run(
        [*build, *options],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    with tarfile.open(json.loads(out.stdout)["artifact"]) as tar:
        pinned = tar.extractfile("src/.djangoops-requirements.txt").read().decode()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = tar.getnames()
    for pin in ("django==5.2.19", "djangorestframework==3.18.3", "django-environ==0.14.0", "gunicorn==27.0.1"):
        assert pin in pinned.lower(), pinned
    assert any(n.startswith("wheels/") and "cp313" in n for n in names)
    built = {record["python"]: record for record in manifest["built_wheels"].values()}
    assert sorted(built) == ["3.11", "3.13"], manifest["built_wheels"]
    for python, record in built.items():
        assert any(package.startswith("libpq5") for package in record["runtime_packages"]), (python, record)


@pytest.fixture(scope="module")
def python(tmp_path_factory):
    """A virtualenv with the project's local requirements, offline from the wheel cache."""
    venv = tmp_path_factory.mktemp("shop-venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    requirements = ROOT / "tests" / "projects" / "shop" / "requirements" / "local.txt"
    install = subprocess.run(
        [venv / "bin" / "pip", "install", "--no-index", "-q", "--find-links", WHEEL_CACHE, "-r", requirements],
        capture_output=True,
        text=True,
        check=False,
    )
    if install.returncode != 0:
        pytest.skip(f"the shop's requirements are not all in {WHEEL_CACHE}: {install.stderr.strip()[-300:]}")
    return venv / "bin" / "python"


def manage(python, source, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [python, "manage.py", *args], cwd=source, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0", "1.2.0"])
def test_each_release_checks_migrates_and_serves_with_local_settings(tmp_path, python, version):
    source = make_source(version, tmp_path / "src")
    for args in (["check"], ["makemigrations", "--check", "--dry-run"], ["migrate", "--noinput"]):
        done = manage(python, source, *args)
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    done = manage(python, source, "shell", "-c", PROBE)
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.split("PROBE", 1)[1])
    assert probe["/"][0] == 200
    assert "Teapot" in probe["/"][1]
    assert probe["/admin/login/"][0] == 200
    assert probe["/api/products/"][0] == 200
    products = json.loads(probe["/api/products/"][1])
    assert ("legacy_code" in products[0]) == (version == "1.0.0")
    assert ("stock" in products[0]) == (version != "1.0.0")
    # The local settings run tasks eagerly: the order is written by the task itself.
    assert probe["/orders/"] == [202, 1]


def test_1_2_1s_worker_cannot_start(tmp_path, python):
    source = make_source("1.2.1", tmp_path / "src")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [python.with_name("celery"), "--app", "config", "worker", "--loglevel", "ERROR"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "gevent" in done.stdout + done.stderr
