#!/usr/bin/env python3
"""The source of a later release of the example app: ``example/`` (1.0.0) with patches applied.

    python3 tests/releases/make_source.py --version 3.0.1 --output DIR

copies ``example/`` (without ``__pycache__``) to DIR, replacing DIR if it exists, and applies, in
version order, every ``<version>.patch`` of this folder up to the requested version. The result is
what ``tools/build_release.py --source DIR --version X`` builds; the version itself comes from the
builder (its ``VERSION`` file), never from the code. The rolling-deploy test deploys them in turn:

``2.0.0``: an expand/contract column change, deployed while 1.0.0 still serves traffic.
    ``Airport.name`` is dropped and ``Airport.country`` (``CharField(max_length=2,
    db_default="ZZ")``) is added. Two migrations, each exactly what ``makemigrations`` writes:
    ``0002_airport_country`` (AddField: the *expand* step, pre-deploy: the database default lets
    1.0.0 keep inserting) and ``0003_remove_airport_name`` (RemoveField: the *contract* step, which
    the ``django_migrate`` module defers to the post-deploy phase; its pre phase makes ``name``
    nullable so that 2.0.0 can insert without it while 1.0.0 still reads it). They are two
    migrations because the module classifies whole migrations: a single one holding both
    operations would be post-deploy as a whole, and 2.0.0 would read a ``country`` column that
    does not exist yet during the rollout. The code never uses ``name``: the JSON of an airport
    (``GET /api/airports``, ``POST``'s answer, ``load_airports``) is ``{iata, country, lat,
    lon}``; ``POST`` accepts and ignores ``name`` and takes an optional ``country`` (two letters);
    the list's cache key is ``airports:list:v2``, so 1.0.0 and 2.0.0 never read each other's
    cached list from the Redis they share.

``3.0.0``: a release that fails its health gate on real hosts. It reads ``AIRPORTS_REGION``
    (``Config.region``, ``settings.AIRPORTS_REGION``) with no default, and ``/healthz`` has a
    ``region`` check that fails when it is empty: 503, ``"failed": [..., "region"]``, with the
    ``version``. It also stops using ``Distance.requested_at`` (gone from ``/api/distances``)
    and drops the column in ``0004_remove_distance_requested_at``, a post-deploy migration: as
    the deploy fails, the post phase never runs and the column stays.

``3.0.1``: the fix. ``AIRPORTS_REGION`` defaults to ``"eu"``, so the ``region`` check passes; no
    new migration (the post phase then applies 3.0.0's ``0004``).

``3.0.4``: a release the deploy's preflight refuses: ``Airport.region`` is added as a NOT NULL column
    with a Python default only (``0005_airport_region``), so every INSERT of the old code would fail
    (DM001). The refused release must leave every host.

Importable: ``make_source(version, output) -> Path``; ``versions()`` lists the known versions.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "example"
BASE_VERSION = "1.0.0"  # example/ as it is: no patch
VERSION_PATTERN = re.compile(r"\d+\.\d+\.\d+")


class SourceError(Exception):
    """An unknown version, an output that must not be replaced, or a patch that does not apply."""


def version_key(version: str) -> tuple[int, ...]:
    if not VERSION_PATTERN.fullmatch(version):
        raise SourceError(f"not a version (MAJOR.MINOR.PATCH): {version!r}")
    return tuple(int(part) for part in version.split("."))


def patches() -> dict[str, Path]:
    """{version: patch file}, in version order."""
    found = {path.name.removesuffix(".patch"): path for path in HERE.glob("*.patch")}
    return {version: found[version] for version in sorted(found, key=version_key)}


def versions() -> list[str]:
    return [BASE_VERSION, *patches()]


def _check_output(output: Path) -> None:
    """Refuse to replace the example app, a folder holding it, or one inside it."""
    if output == EXAMPLE or output in EXAMPLE.parents or EXAMPLE in output.parents:
        raise SourceError(f"refusing to replace {output}: it is, holds or is inside {EXAMPLE}")


def _apply(patch: Path, directory: Path) -> None:
    # Inside a git work tree, git apply takes the paths as relative to the work tree's top and
    # silently skips those outside the current folder: stop git from finding a repository above.
    env = os.environ | {"GIT_CEILING_DIRECTORIES": str(directory.parent)}
    proc = subprocess.run(
        ["git", "apply", "-p1", "--whitespace=nowarn", str(patch)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SourceError(f"{patch.name} does not apply in {directory}:\n{(proc.stderr or proc.stdout).strip()}")


def make_source(version: str, output: str | os.PathLike) -> Path:
    """Write the source of ``version`` into ``output`` (replaced if it exists); return its path."""
    known = versions()
    if version not in known:
        raise SourceError(f"unknown version {version!r}: known versions are {', '.join(known)}")
    output = Path(output).resolve()
    _check_output(output)
    if output.is_dir() and not output.is_symlink():
        shutil.rmtree(output)
    elif output.exists() or output.is_symlink():
        output.unlink()
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE, output, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for patch_version, patch in patches().items():
        if version_key(patch_version) <= version_key(version):
            _apply(patch, output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the source of a release of the example app.")
    parser.add_argument("--version", required=True, help=f"one of {', '.join(versions())}")
    parser.add_argument("--output", required=True, type=Path, help="the folder to write (replaced if it exists)")
    args = parser.parse_args(argv)
    try:
        path = make_source(args.version, args.output)
    except SourceError as exc:
        print(f"make_source: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
