"""Fixtures of the example app's tests: its pure modules loaded by path, and one real release.

The release is built once per session with tools/build_release.py into a temporary folder; its
wheels come from the release builder's wheel cache (~/.cache/djangoops/wheels), filled from PyPI on the first run.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example"
BUILDER = ROOT / "tools" / "build_release.py"
VERSION = "1.0.0"
PYTHONS = ("3.11", "3.13")


def load_module(name, path):
    """Import one file as a module without importing its package (no Django or Celery needed)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def builder():
    return load_module("djangoops_build_release", BUILDER)


@pytest.fixture(scope="session")
def config_module():
    return load_module("djangoops_example_config", EXAMPLE / "example" / "config.py")


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """The example app built for Python 3.11 and 3.13 with the builder's CLI, and extracted."""
    output = tmp_path_factory.mktemp("releases")
    command = [sys.executable, str(BUILDER), "--source", str(EXAMPLE), "--version", VERSION, "--output", str(output)]
    command += [arg for python in PYTHONS for arg in ("--python", python)]
    proc = subprocess.run([*command, "--json"], capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    extracted = tmp_path_factory.mktemp("release")
    with tarfile.open(result["artifact"]) as tar:
        tar.extractall(extracted, filter="data")
    return {
        "command": command,
        "result": result,
        "artifact": Path(result["artifact"]),
        "root": extracted,
        "manifest": json.loads((extracted / "manifest.json").read_text()),
    }


def clean_env(**extra):
    """The environment for a subprocess with no pip configuration (no PIP_* variable) and no Django settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "DJANGO_", "VIRTUAL_ENV"))}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MONGODB_URL", "RELEASE_VERSION"):
        env.pop(name, None)
    env.update(extra)
    return env
