"""tools/build_release.py compiles a requirement the index has no wheel of, in a real container of the
hosts' Debian release (Debian 12, Python 3.11): the wheel joins the release's wheelhouse and a cache
keyed by its inputs, installs offline on a clean Debian 12, and a compile error fails the build naming
the package and the compiler's error.

Needs Docker and the image debian:bookworm (made by docker/base/build, offline with debootstrap when no
registry answers). Build containers reach Debian's mirror (apt) and keep the packages they downloaded
in the machine-wide apt cache (~/.cache/djangoops/apt), so a warm run takes about a minute.
"""

import hashlib
import json
import shutil
import subprocess
import tarfile
import time

import pytest

from .conftest import ROOT
from .wheel_packages import BROKEN_C, HELLO_C, app_needing, make_sdist

IMAGE = "debian:bookworm"
PYTHON = "3.11"
WHEEL = "djangoops_cext_hello-1.0-cp311-cp311-linux_x86_64.whl"


def docker(*args, timeout=300):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def image():
    if shutil.which("docker") is None or docker("version", timeout=30).returncode != 0:
        pytest.skip("NOT RUN: no Docker engine answers (scripts/ensure-docker starts one)")
    made = subprocess.run(
        [str(ROOT / "docker" / "base" / "build"), "bookworm"], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    return IMAGE


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    make_sdist(dist, "djangoops-cext-hello", "1.0", HELLO_C)
    make_sdist(dist, "djangoops-cext-broken", "1.0", BROKEN_C)
    return dist


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A wheel cache of these tests only: the first build compiles, it does not find an older wheel."""
    return tmp_path_factory.mktemp("wheel-cache")


@pytest.fixture(scope="module")
def first_build(builder, image, packages, cache, tmp_path_factory):
    root = tmp_path_factory.mktemp("hello")
    source = app_needing(root / "shop", packages, "djangoops-cext-hello==1.0", "six==1.17.0")
    messages = []
    began = time.monotonic()
    result = builder.build(
        source,
        "1.0.0",
        root / "out",
        pythons=[PYTHON],
        wheel_cache=cache,
        wheel_builds=builder.WheelBuilds(images=((PYTHON, image),)),
        log=messages.append,
    )
    return {
        "source": source,
        "out": root / "out",
        "result": result,
        "log": messages,
        "seconds": time.monotonic() - began,
    }


def members(artifact):
    with tarfile.open(artifact) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


def test_a_requirement_without_a_wheel_is_built_in_a_container_of_the_hosts_release(first_build, cache):
    result = first_build["result"]
    assert result.status == "built"
    assert (
        f"building a wheel of djangoops-cext-hello 1.0 for Python 3.11 in a container of {IMAGE}" in first_build["log"]
    )
    files = members(result.artifact)
    assert sorted(n for n in files if n.startswith("wheels/") and files[n] is not None) == [
        f"wheels/{WHEEL}",
        "wheels/six-1.17.0-py2.py3-none-any.whl",
    ]
    assert b"djangoops-cext-hello==1.0\n" in files["src/.djangoops-requirements.txt"]
    manifest = json.loads(files["manifest.json"])
    record = manifest["built_wheels"][WHEEL]
    image_id = docker("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    assert record["built_in"] == {
        "image": IMAGE,
        "image_id": image_id,
        "packages": ["build-essential", "python3-dev", "python3-pip"],
    }
    assert record["sdist"] == "djangoops_cext_hello-1.0.tar.gz"
    assert record["python"] == "3.11"
    assert record["python_full"].startswith("3.11.")
    assert record["runtime_packages"] == []  # libc only, which every host has
    # The cache keeps it under its key, with the same record.
    cached = cache / "built" / record["key"]
    assert sorted(p.name for p in cached.iterdir()) == ["build.json", WHEEL]
    assert json.loads((cached / "build.json").read_text()) == record
    assert manifest["wheels"][WHEEL] == hashlib.sha256((cached / WHEEL).read_bytes()).hexdigest()


def test_the_built_wheel_installs_offline_on_a_clean_host_of_that_release(first_build, image, builder, tmp_path):
    with tarfile.open(first_build["result"].artifact) as tar:
        tar.extractall(tmp_path, filter="data")
    apt_cache = builder.DEFAULT_APT_CACHE / ("wheel-build-" + image.replace(":", "_"))
    script = (
        "set -e; rm -f /etc/apt/apt.conf.d/docker-clean; "
        "{ apt-get update -q && apt-get install -y -q --no-install-recommends -o APT::Keep-Downloaded-Packages=true "
        "python3-pip; } >/tmp/apt.log 2>&1 || { tail /tmp/apt.log; exit 1; }; "
        "pip install -q --no-index --find-links /release/wheels --break-system-packages "
        "-r /release/src/.djangoops-requirements.txt; "
        "cd / && python3 -c 'import djangoops_cext_hello, six; print(djangoops_cext_hello.add(2, 40))'"
    )
    proc = docker(
        "run", "--rm", "-v", f"{tmp_path}:/release:ro", "-v", f"{apt_cache}:/var/cache/apt/archives",
        "-e", "DEBIAN_FRONTEND=noninteractive", image, "bash", "-c", script,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "42"


def test_a_second_build_takes_the_wheel_from_the_cache_without_a_container(first_build, builder, image, cache):
    since = docker("system", "info", "--format", "{{.SystemTime}}").stdout.strip()
    messages = []
    result = builder.build(
        first_build["source"],
        "1.0.1",
        first_build["out"],
        pythons=[PYTHON],
        wheel_cache=cache,
        wheel_builds=builder.WheelBuilds(images=((PYTHON, image),)),
        log=messages.append,
    )
    until = docker("system", "info", "--format", "{{.SystemTime}}").stdout.strip()
    assert result.status == "built"
    assert not [m for m in messages if m.startswith("building a wheel")]
    assert any(m.startswith("wheel of djangoops-cext-hello 1.0 for Python 3.11 from the cache") for m in messages)
    events = docker(
        "events", "--since", since, "--until", until, "--filter", "event=start",
        "--filter", "label=org.djangoops.wheel-build=1", "--format", "{{.ID}}",
    )  # fmt: skip
    assert events.returncode == 0, events.stderr
    assert events.stdout.strip() == ""
    first = json.loads(members(first_build["result"].artifact)["manifest.json"])
    second = json.loads(members(result.artifact)["manifest.json"])
    assert second["built_wheels"] == first["built_wheels"]
    assert second["wheels"][WHEEL] == first["wheels"][WHEEL]


def test_a_wheel_that_does_not_compile_fails_naming_the_package_and_the_error(
    builder, image, packages, cache, tmp_path
):
    source = app_needing(tmp_path / "shop", packages, "six==1.17.0", "djangoops-cext-broken==1.0")
    with pytest.raises(builder.BuildError) as failed:
        builder.build(
            source,
            "1.0.0",
            tmp_path / "out",
            pythons=[PYTHON],
            wheel_cache=cache,
            wheel_builds=builder.WheelBuilds(images=((PYTHON, image),)),
            log=lambda message: None,
        )
    lines = str(failed.value).splitlines()
    assert lines[0] == (
        f"the wheel of djangoops-cext-broken 1.0 (djangoops_cext_broken-1.0.tar.gz) for Python 3.11 in a container "
        f"of {IMAGE} failed to build:"
    )
    assert lines[1].startswith("  djangoops_cext_broken.c:4:12: error: 'undeclared_total' undeclared"), lines
    assert "return undeclared_total + 1;" in lines[2]
    assert len(lines) <= 13  # the compiler's errors, not pip's whole log
    assert not list((tmp_path / "out").glob("*.tar.gz"))
    assert not [p for p in (cache / "built").iterdir() if "broken" in " ".join(q.name for q in p.iterdir())]
