#!/usr/bin/env python3
"""The source of a release of a test project: ``tests/projects/<project>/`` (its first release)
with the files of every later release folder laid over it, in version order.

    python3 tests/projects/make_source.py --project shop --version 1.2.0 --output DIR

``<project>_releases/<version>/`` holds the files a release adds or changes, whole (a release
folder is what a developer's commit would touch). The shop's releases:

``1.0.0``: ``shop/`` as it is; first install into an empty database (auth, admin, sessions tables,
    the custom user model, the catalog with three products seeded by a data migration).
``1.1.0``: expand: ``Product.stock`` (``db_default=0``: 1.0.0 keeps inserting during the rollout),
    shown by the API and the home page; the API no longer returns ``legacy_code``.
``1.2.0``: contract: ``Product.legacy_code`` removed (``0004_remove_product_legacy_code``, a
    post-deploy migration; its pre phase makes the column nullable).
``1.2.1``: the Celery worker cannot start (``CELERY_WORKER_POOL = "gevent"``, not installed)
    while the web side is fine.

The version itself comes from the release builder (its ``VERSION`` file), never from the code.
Importable: ``make_source(version, output, project="shop") -> Path``; ``versions(project)``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRST_VERSION = "1.0.0"
VERSION_PATTERN = re.compile(r"\d+\.\d+\.\d+")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "db.sqlite3", "staticfiles", "media")


class SourceError(Exception):
    """An unknown project or version."""


def version_key(version: str) -> tuple[int, ...]:
    if not VERSION_PATTERN.fullmatch(version):
        raise SourceError(f"not a version (MAJOR.MINOR.PATCH): {version!r}")
    return tuple(int(part) for part in version.split("."))


def releases(project: str) -> dict[str, Path]:
    """{version: folder of the files it changes}, in version order (the first release has none)."""
    folder = HERE / f"{project}_releases"
    found = {p.name: p for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else {}
    return {version: found[version] for version in sorted(found, key=version_key)}


def versions(project: str = "shop") -> list[str]:
    return [FIRST_VERSION, *releases(project)]


def make_source(version: str, output: Path, project: str = "shop") -> Path:
    base = HERE / project
    if not (base / "manage.py").is_file():
        raise SourceError(f"no test project {project!r} in {HERE}")
    if version not in versions(project):
        raise SourceError(f"{project} has no release {version}; known: {', '.join(versions(project))}")
    output = Path(output)
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(base, output, ignore=IGNORE)
    for release, folder in releases(project).items():
        if version_key(release) > version_key(version):
            break
        shutil.copytree(folder, output, ignore=IGNORE, dirs_exist_ok=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default="shop")
    parser.add_argument("--version", required=True)
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        print(make_source(args.version, args.output, args.project))
    except SourceError as error:
        print(f"make_source: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
