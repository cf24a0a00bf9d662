"""The later releases of the example app (tests/releases): their sources, Django's checks, their API.

``tests/releases/make_source.py`` writes each version's source (``example/`` plus patches). Every
version must apply, compile and pass ruff with the example's settings; with a Python that has the
app's requirements and GDAL, ``manage.py check`` and ``makemigrations --check`` pass, and a probe
run inside the project (no database, cache or broker: their URLs point at a closed port) checks
what the rolling-deploy test relies on: the load generator's POST body is valid in every version,
the JSON shape of an airport, the loader writing no ``name`` from 2.0.0 on, and ``/healthz``
answering 503 with ``"failed": ["region"]`` and the version in 3.0.0 without ``AIRPORTS_REGION``,
200 in 3.0.1; 3.0.4 adds a NOT NULL column with a Python default only, which the
deploy's preflight refuses (DM001).

That Python is the one running the tests when it can import the requirements, else a virtualenv
made once per session from the release builder's wheel cache (``~/.cache/djangoops/wheels``, filled by the
builder: the earlier tests of tests/example), offline; without either, those tests are skipped
with the reason.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.build_release import DEFAULT_WHEEL_CACHE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example"
RELEASES = ROOT / "tests" / "releases"
# The release builder's wheel cache (filled by its tests before these).
WHEEL_CACHE = DEFAULT_WHEEL_CACHE
VERSIONS = ("1.0.0", "2.0.0", "3.0.0", "3.0.1", "3.0.4")
MIGRATIONS = {
    "1.0.0": ["0001_initial"],
    "2.0.0": ["0001_initial", "0002_airport_country", "0003_remove_airport_name"],
    "3.0.0": [
        "0001_initial",
        "0002_airport_country",
        "0003_remove_airport_name",
        "0004_remove_distance_requested_at",
    ],
}
MIGRATIONS["3.0.1"] = MIGRATIONS["3.0.0"]
MIGRATIONS["3.0.4"] = [*MIGRATIONS["3.0.0"], "0005_airport_region"]
CLOSED = "127.0.0.1:9"  # the discard port: nothing listens there on a test machine
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "example.settings",
    "DJANGO_SECRET_KEY": "k7#Vq2!xR9@mZ4$wL8%nT3^bY6&cH1*dF5(gJ0)sP-eU_aQ+iO=lK~",
    "DJANGO_ALLOWED_HOSTS": "app.example.org,testserver",
    "DATABASE_URL": f"postgis://app:secret@{CLOSED}/app?connect_timeout=2",
    "REDIS_URL": f"redis://:secret@{CLOSED}/0",
    "CELERY_BROKER_URL": f"amqp://app:secret@{CLOSED}/app",
}
# What bench/loadgen.py POSTs: every version must accept it.
LOADGEN_BODY = {"iata": "L01", "name": "Load 1", "lat": 0.0, "lon": 0.0}
REQUIREMENTS_PROBE = """
import celery, django, kombu, psycopg, redis
from django.contrib.gis.gdal import libgdal
from django.contrib.gis.geos import Point
Point(0, 0).wkt
print(django.get_version(), libgdal.gdal_full_version().decode())
"""

# Runs in a release's source folder with its settings, and prints one JSON object. The services
# are unreachable, so the database, cache and broker health checks are replaced by ones that
# pass: the region check (3.0.0 on) is then the only one that can fail.
PROBE = r"""
import contextlib
import io
import json
import sys
from unittest import mock

import django

django.setup()

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.test import RequestFactory

from airports import dataset, health, views
from airports.management.commands import load_airports
from airports.models import Airport, Distance

payloads = json.loads(sys.argv[1])
facts = {
    "airport_fields": sorted(f.name for f in Airport._meta.get_fields() if f.concrete),
    "distance_fields": sorted(f.name for f in Distance._meta.get_fields() if f.concrete),
    "cache_key": views.AIRPORT_LIST_CACHE_KEY,
    "validated": [list(views.validate_airport(payload)) for payload in payloads],
    "region_setting": getattr(settings, "AIRPORTS_REGION", None),
}

# The row of a saved airport (the API's JSON), with every field the model has.
values = {"iata": "CDG", "name": "Paris Charles de Gaulle", "country": "FR"}
values = {key: value for key, value in values.items() if key in facts["airport_fields"]}
airport = Airport(location=Point(2.55, 49.0097, srid=4326), **values)
facts["row"] = views.airport_row(airport)

# The loader against a stand-in manager: what it would insert, and whether a second run would
# find those rows unchanged (the row of each created airport equals the data set's row).
created = []


class Manager:
    def filter(self, **kwargs):
        return []

    def bulk_create(self, objs, batch_size=None):
        created.extend(objs)

    def bulk_update(self, objs, fields, batch_size=None):
        assert not objs


with (
    mock.patch.object(Airport, "objects", Manager()),
    mock.patch.object(load_airports.transaction, "atomic", contextlib.nullcontext),
    mock.patch.object(load_airports, "forget_airport_list"),
):
    call_command("load_airports", target_bytes=20_000, stdout=io.StringIO())
wanted = dataset.dataset(20_000)
facts["loader"] = {
    "created": len(created),
    "wanted": len(wanted),
    "unchanged_on_rerun": [views.airport_row(a) for a in created] == wanted,
    "sets_name": any("name" in vars(a) for a in created),
    "first": views.airport_row(created[0]),
}

# /healthz and the region check called directly.
for name in ("check_database", "check_cache", "check_broker"):
    setattr(health, name, lambda: None)
facts["checks"] = list(health.checks())
if hasattr(health, "check_region"):
    try:
        health.check_region()
    except Exception as exc:
        facts["check_region"] = f"{type(exc).__name__}: {exc}"
    else:
        facts["check_region"] = "ok"
response = views.healthz(RequestFactory().get("/healthz"))
facts["healthz"] = {"status": response.status_code, "body": json.loads(response.content)}
print(json.dumps(facts))
"""


def load_make_source():
    spec = importlib.util.spec_from_file_location("djangoops_make_source", RELEASES / "make_source.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


make_source_module = load_make_source()


def clean_env(**extra):
    """This environment without Django, service or region variables, plus extra (None: left unset)."""
    names = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MONGODB_URL", "RELEASE_VERSION", "AIRPORTS_REGION")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PIP_", "PYTHON")) and k not in names}
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def run(command, cwd=None, timeout=120, **env):
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """{version: source folder}, each made once for this module, side by side with the collection's
    pyproject.toml (the example's ruff.toml extends ``../pyproject.toml``)."""
    made = {}
    for version in VERSIONS:
        parent = tmp_path_factory.mktemp(f"release-{version}")
        shutil.copy(ROOT / "pyproject.toml", parent / "pyproject.toml")
        made[version] = make_source_module.make_source(version, parent / "src")
    return made


def ruff():
    found = shutil.which("ruff", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        pytest.skip("ruff is not installed (make venv)")
    return found


@pytest.fixture(scope="session")
def django_python(tmp_path_factory):
    """A Python that can run the example app (its requirements and GDAL), or skip with the reason."""
    proc = run([sys.executable, "-c", REQUIREMENTS_PROBE])
    if proc.returncode == 0:
        return sys.executable
    missing = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "unknown error"
    if not any(WHEEL_CACHE.glob("celery-*.whl")):
        pytest.skip(f"{sys.executable} cannot run the example app ({missing}) and {WHEEL_CACHE} has no wheels")
    venv = tmp_path_factory.mktemp("example-venv")
    proc = run([sys.executable, "-m", "venv", venv], timeout=300)
    assert proc.returncode == 0, proc.stderr
    python = venv / "bin" / "python"
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index"]
    install += ["--find-links", WHEEL_CACHE, "-r", EXAMPLE / "requirements.txt"]
    proc = run(install, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"{sys.executable} lacks {missing}; the wheel cache cannot fill a venv: {proc.stderr[-500:]}")
    proc = run([python, "-c", REQUIREMENTS_PROBE])
    if proc.returncode != 0:
        pytest.skip(f"the example app cannot run here (GDAL or GEOS missing?): {proc.stderr.strip()[-500:]}")
    return str(python)


def manage(python, source, *args, **env):
    return run([python, "manage.py", *args], cwd=source, **(PRODUCTION_ENV | env))


def probe(python, source, **env):
    payloads = [
        LOADGEN_BODY,
        {"iata": "ab1", "lat": 1, "lon": 2},
        {"iata": "AB2", "country": "fr", "lat": 1, "lon": 2},
        {"iata": "AB3", "country": "FRA", "lat": 1, "lon": 2},
    ]
    proc = run([python, "-c", PROBE, json.dumps(payloads)], cwd=source, **(PRODUCTION_ENV | env))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# make_source ------------------------------------------------------------------------------------


def test_versions():
    assert make_source_module.versions() == list(VERSIONS)
    assert sorted(path.stem for path in RELEASES.glob("*.patch")) == list(VERSIONS[1:])


@pytest.mark.parametrize("version", VERSIONS)
def test_patches_apply(tmp_path, version):
    """The CLI copies example/ and applies the patches up to the version; the output is replaced."""
    output = tmp_path / "src"
    output.mkdir()
    (output / "stale.txt").write_text("from an earlier run")
    proc = run([sys.executable, RELEASES / "make_source.py", "--version", version, "--output", output])
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == output
    assert not (output / "stale.txt").exists()
    assert not list(output.rglob("__pycache__"))
    assert not list(output.rglob("*.rej"))
    assert not list(output.rglob("*.orig"))
    migrations = sorted(p.stem for p in (output / "airports" / "migrations").glob("0*.py"))
    assert migrations == MIGRATIONS[version]
    unpatched = sorted(p.relative_to(EXAMPLE) for p in EXAMPLE.rglob("*") if "__pycache__" not in p.parts)
    assert all((output / path).exists() for path in unpatched)


def test_output_inside_a_git_work_tree(tmp_path):
    """git apply in a subfolder of a repository would skip every path silently: not here."""
    repo = tmp_path / "repo"
    repo.mkdir()
    assert run(["git", "init", "-q", repo]).returncode == 0
    source = make_source_module.make_source("3.0.1", repo / "build" / "src")
    assert (source / "airports" / "migrations" / "0004_remove_distance_requested_at.py").exists()
    assert 'DEFAULT_REGION = "eu"' in (source / "example" / "config.py").read_text()


def test_unknown_version_fails(tmp_path):
    proc = run([sys.executable, RELEASES / "make_source.py", "--version", "2.1.0", "--output", tmp_path / "src"])
    assert proc.returncode == 2
    assert "unknown version '2.1.0'" in proc.stderr
    assert "1.0.0, 2.0.0, 3.0.0, 3.0.1, 3.0.4" in proc.stderr
    assert not (tmp_path / "src").exists()
    with pytest.raises(make_source_module.SourceError, match="unknown version 'latest'"):
        make_source_module.make_source("latest", tmp_path / "src")


def test_never_replaces_the_example_app():
    for output in (EXAMPLE, ROOT, EXAMPLE / "airports"):
        with pytest.raises(make_source_module.SourceError, match="refusing to replace"):
            make_source_module.make_source("2.0.0", output)
    assert (EXAMPLE / "manage.py").exists()
    assert not (EXAMPLE / "airports" / "migrations" / "0002_airport_country.py").exists()


# the sources -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_compiles(sources, version):
    proc = run([sys.executable, "-m", "compileall", "-q", sources[version]])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_ruff(sources, version):
    """The example's own ruff settings (example/ruff.toml), lint and format."""
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        proc = run([ruff(), *command, "."], cwd=sources[version])
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("version", VERSIONS[1:])
def test_code_no_longer_uses_name(sources, version):
    code = "\n".join(
        (sources[version] / "airports" / path).read_text()
        for path in ("models.py", "views.py", "dataset.py", "tasks.py", "management/commands/load_airports.py")
    )
    assert not re.search(r"\.name\b|\[\"name\"\]|\bname=", code)
    assert '"airports:list:v2"' in code


@pytest.mark.parametrize("version", VERSIONS[1:])
def test_dataset_rows_have_a_country(sources, version):
    spec = importlib.util.spec_from_file_location(f"dataset_{version}", sources[version] / "airports" / "dataset.py")
    dataset = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dataset)
    rows = dataset.dataset()
    assert {tuple(row) for row in rows} == {("iata", "country", "lat", "lon")}
    assert {row["country"] for row in rows} == {"ZZ"}
    assert len(dataset.render(rows)) > dataset.TARGET_BYTES >= len(dataset.render(rows[:-1]))
    assert len({row["iata"] for row in rows}) == len(rows)


# Django --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_django_check(django_python, sources, version):
    proc = manage(django_python, sources[version], "check", "--fail-level", "WARNING")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_no_missing_migrations(django_python, sources, version):
    proc = manage(django_python, sources[version], "makemigrations", "--check", "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No changes detected" in proc.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_models_and_api(django_python, sources, version):
    facts = probe(django_python, sources[version], RELEASE_VERSION=version)
    loadgen, lower, with_country, bad_country = facts["validated"]
    assert loadgen[1] == {}, "the load generator's POST must be accepted"
    assert facts["loader"]["unchanged_on_rerun"], facts["loader"]
    assert facts["loader"]["created"] == facts["loader"]["wanted"] > 0
    if version == "1.0.0":
        assert set(lower[1]) == {"name"}  # required in 1.0.0 only
        assert facts["airport_fields"] == ["iata", "id", "location", "name"]
        assert set(facts["row"]) == {"iata", "name", "lat", "lon"}
        assert facts["cache_key"] == "airports:list:v1"
        return
    added = ["region"] if version == "3.0.4" else []  # 3.0.4: the column the preflight refuses
    assert facts["airport_fields"] == sorted(["country", "iata", "id", "location", *added])
    assert loadgen[0] == {"iata": "L01", "lat": 0.0, "lon": 0.0}  # name ignored, country left to the database
    assert lower[0] == {"iata": "AB1", "lat": 1.0, "lon": 2.0}
    assert with_country == [{"iata": "AB2", "lat": 1.0, "lon": 2.0, "country": "FR"}, {}]
    assert bad_country[0] is None
    assert set(bad_country[1]) == {"country"}
    assert facts["row"] == {"iata": "CDG", "country": "FR", "lat": 49.0097, "lon": 2.55}
    assert facts["cache_key"] == "airports:list:v2"
    assert not facts["loader"]["sets_name"]
    assert facts["loader"]["first"]["country"] == "ZZ"
    has_requested_at = version == "2.0.0"
    assert ("requested_at" in facts["distance_fields"]) is has_requested_at


@pytest.mark.parametrize(
    ("version", "region", "healthy"),
    [
        ("1.0.0", None, True),
        ("2.0.0", None, True),
        ("3.0.0", None, False),  # the broken release: no default for AIRPORTS_REGION
        ("3.0.0", "eu", True),
        ("3.0.1", None, True),  # the fix: "eu" by default
        ("3.0.1", "us", True),
    ],
)
def test_health(django_python, sources, version, region, healthy):
    facts = probe(django_python, sources[version], RELEASE_VERSION=version, AIRPORTS_REGION=region)
    body = facts["healthz"]["body"]
    assert body["version"] == version
    if version in ("1.0.0", "2.0.0"):
        assert "region" not in facts["checks"]
        assert facts["healthz"]["status"] == 200
        return
    assert "region" in facts["checks"]
    if healthy:
        assert facts["check_region"] == "ok"
        assert facts["healthz"]["status"] == 200
        assert body["status"] == "ok"
        assert body["checks"]["region"] == "ok"
        assert facts["region_setting"] == (region or "eu")
    else:
        assert facts["check_region"] == "RuntimeError: AIRPORTS_REGION is not set"
        assert facts["healthz"]["status"] == 503
        assert body["status"] == "fail"
        assert body["failed"] == ["region"]
        assert facts["region_setting"] == ""
