#!/usr/bin/env python3
"""Build a release artifact of a Django app, once, on the controller.

    python3 tools/build_release.py --source example --version 1.0.0 --output .cache/releases \\
        [--requirements requirements/production.txt] [--python 3.11 --python 3.13] [--force] [--json] [--dry-run]

writes ``<output>/<app>-<version>.tar.gz`` holding

- ``src/``: the app's source (no ``__pycache__``, VCS or virtualenv folders, ``.env`` files), with a
  ``VERSION`` file that holds the version, and ``.djangoops-requirements.txt``: every package the
  hosts install, pinned (``name==version``, with environment markers where a package is not needed
  everywhere), so that a host installs offline with
  ``pip install --no-index --find-links wheels -r src/.djangoops-requirements.txt``;
- ``wheels/``: one wheelhouse for every requested Python (CPython, manylinux x86_64): a wheel of
  every package of that file for every Python it applies to;
- ``manifest.json``: app, version, Pythons, platforms, the requirements and where they came from,
  the sha256 of every wheel, the source tree's hash and git commit, when and with what it was built.

The requirements come from the source, the first of:

1. ``--requirements PATH`` (relative to the source): a requirements file, e.g.
   ``requirements/production.txt`` (or ``uv.lock`` / ``poetry.lock`` to pick one);
2. ``pyproject.toml`` with ``uv.lock`` or ``poetry.lock``: the packages of the lock that the
   project's main dependencies need (no development groups, no extras of the project), with the
   lock's environment markers and hashes; no uv or poetry is needed. When the project is a package
   (a ``build-system``, and neither ``tool.uv.package = false`` nor poetry's ``package-mode = false``)
   it is built as a wheel (``pip wheel``) and installed too;
3. ``requirements.txt``.

Requirements files may include others with ``-r`` and ``-c`` (relative to the including file, inside
the source, no cycles); a local path, editable or VCS requirement is refused (wheels from the index
only). A source with none of these is refused, and so is a project whose ``requires-python`` excludes
a target Python, or a pin that needs another Python (named, with the fix, in one message).

Building a version that exists with the same inputs (source tree, Pythons, platforms) leaves the
artifact alone and reports ``unchanged``; with other inputs it is refused (exit status 3) unless
``--force``: a version names one set of bytes. Downloaded and built wheels are kept in a cache
(``--wheel-cache``, by default ``$DJANGOOPS_WHEEL_CACHE`` or ``~/.cache/djangoops/wheels``: outside the
collection, which may be read-only or replaced by an upgrade), and the wheelhouse is always assembled
from that cache with no index, so a rebuild needs no network once the cache holds the wheels (and
the project's build requirements). With ``SOURCE_DATE_EPOCH`` set, two builds of the same inputs are
identical to the byte.

pip evaluates environment markers with the interpreter that runs it, not with the target Python:
the builder evaluates the requirements' markers itself for each target Python (any micro version),
and after downloading, every wheel's own dependencies are evaluated for each target Python and a
missing one fails the build, naming the package to pin.

Exit status: 0 built or unchanged, 1 build failed (pip, source), 2 bad arguments, 3 refused.
Standard library only (``packaging`` is pip's vendored copy when it is not installed); Python 3.11
or later; pip must be importable by the running interpreter.
"""

from __future__ import annotations

import argparse
import datetime
import email.parser
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import types
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path

FORMAT = 1
DEFAULT_PYTHONS = ("3.11", "3.13")
DEFAULT_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
IMPLEMENTATION = "cp"
# Machine-wide, outside the collection: an installed collection may be read-only, and an upgrade
# replaces its directory (the cache would go with it).
DEFAULT_WHEEL_CACHE = Path(os.environ.get("DJANGOOPS_WHEEL_CACHE") or Path.home() / ".cache" / "djangoops" / "wheels")
# The flat, pinned requirements the hosts install from, written into src/ of the artifact.
FLAT_REQUIREMENTS = ".djangoops-requirements.txt"
# The Python of each Debian release the collection supports, for messages.
DEBIAN_PYTHONS = {"3.11": "Debian 12", "3.13": "Debian 13"}
LOCK_FILES = ("uv.lock", "poetry.lock")

EXCLUDED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "node_modules",
    }
)
EXCLUDED_FILE_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
EXCLUDED_FILES = frozenset({".DS_Store", ".env"})
# Written by this tool or by the app at run time, at the top of the source only.
EXCLUDED_TOP_LEVEL = frozenset({"VERSION", FLAT_REQUIREMENTS, "staticfiles", "media"})

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")
PYTHON_PATTERN = re.compile(r"^3\.[0-9]{1,2}$")
PLATFORM_PATTERN = re.compile(r"^[a-z0-9_]+$")
WHEEL_PATTERN = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)
MANYLINUX_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


class BuildError(Exception):
    """The build cannot go on; the message says why."""


class UsageError(BuildError):
    """An argument is invalid."""


class Refused(BuildError):
    """The artifact exists with other inputs and --force was not given."""


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class SourceFile:
    relpath: str  # POSIX, relative to the source root
    path: Path
    executable: bool
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def is_excluded(relparts: Sequence[str], is_dir: bool) -> bool:
    name = relparts[-1]
    if len(relparts) == 1 and name in EXCLUDED_TOP_LEVEL:
        return True
    if is_dir:
        return name in EXCLUDED_DIRS
    return name in EXCLUDED_FILES or name.endswith(EXCLUDED_FILE_SUFFIXES)


def source_files(root: Path) -> list[SourceFile]:
    """Every file of the release's source, sorted; symbolic links are refused (what would they point to on a host?)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        current = Path(dirpath)
        relbase = current.relative_to(root).parts
        for dirname in list(dirnames):
            if (current / dirname).is_symlink():
                raise BuildError(f"{current / dirname}: symbolic links are not supported in a release's source")
            if is_excluded((*relbase, dirname), is_dir=True):
                dirnames.remove(dirname)
        for filename in filenames:
            path = current / filename
            if is_excluded((*relbase, filename), is_dir=False):
                continue
            if path.is_symlink():
                raise BuildError(f"{path}: symbolic links are not supported in a release's source")
            if not path.is_file():
                raise BuildError(f"{path}: not a regular file")
            relpath = "/".join((*relbase, filename))
            found.append(SourceFile(relpath, path, bool(path.stat().st_mode & 0o100), sha256_file(path)))
    return sorted(found, key=lambda f: f.relpath)


def tree_sha256(files: Iterable[SourceFile]) -> str:
    return sha256_json([[f.relpath, f.executable, f.sha256] for f in files])


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding root, or (None, None) outside git."""
    git = shutil.which("git")
    if git is None:
        return None, None
    try:
        commit = subprocess.run(
            [git, "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        status = subprocess.run(
            [git, "-C", str(root), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


# ---------------------------------------------------------------------------------------------
# Requirements: what the hosts install, from a requirements file or a lock


def _packaging():
    """``packaging``'s modules: the installed one, else the copy inside pip."""
    try:
        from packaging import markers, requirements, specifiers, version
    except ImportError:
        from pip._vendor.packaging import markers, requirements, specifiers, version
    return types.SimpleNamespace(markers=markers, requirements=requirements, specifiers=specifiers, version=version)


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One requirement to download: ``text`` has no marker (``psycopg[binary]==3.3.9``)."""

    name: str  # normalized project name
    text: str
    marker: str | None = None  # PEP 508 environment marker; None: everywhere
    extras: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()
    origin: str = ""  # file:line or the lock file, for messages


@dataclass
class Requirements:
    """The release's requirements as the source states them."""

    kind: str  # "requirements", "uv.lock" or "poetry.lock"
    files: list[str]  # the files read (relative to the source), the one that names them all first
    pins: list[Pin]
    constraints: list[Pin]
    options: list[str]  # pip options for a download from the index (index URLs, find-links)
    flags: list[str]  # pip options for every download (--pre, --prefer-binary)
    locked: bool  # a lock lists every package: downloaded with --no-deps
    project: str | None  # the project's name when it is built as a wheel and installed
    fix: str  # where a pin is changed, for messages

    @property
    def origin(self) -> str:
        return self.files[0]


def _and(*markers: str | None) -> str | None:
    parts = []
    for marker in markers:
        if marker and marker not in parts:
            parts.append(marker)
    if len(parts) <= 1:
        return parts[0] if parts else None
    return " and ".join(f"({part})" for part in parts)


def _or(markers: Iterable[str | None]) -> str | None:
    parts = []
    for marker in markers:
        if marker is None:
            return None
        if marker not in parts:
            parts.append(marker)
    if len(parts) <= 1:
        return parts[0] if parts else None
    return " or ".join(f"({part})" for part in sorted(parts))


def normalize_marker(marker: str | None, where: str) -> str | None:
    if marker is None or not marker.strip():
        return None
    try:
        return str(_packaging().markers.Marker(marker))
    except _packaging().markers.InvalidMarker as exc:
        raise BuildError(f"{where}: invalid environment marker {marker!r}: {exc}") from None


def marker_applies(marker: str | None, python: str) -> bool:
    """Whether a marker holds for CPython ``python`` on Linux x86_64 (any micro version, no extra)."""
    if marker is None:
        return True
    parsed = _packaging().markers.Marker(marker)
    return any(parsed.evaluate(env) for env in marker_environments(python))


def simplify_marker(marker: str | None) -> str | None:
    """None for a marker that holds on every CPython 3.8 to 3.20 on Linux x86_64 (what hosts run):
    a lock's markers joined over several paths often say ``a or not a``."""
    if marker is None:
        return None
    parsed = _packaging().markers.Marker(marker)
    pythons = (f"3.{minor}" for minor in range(8, 21))
    if all(parsed.evaluate(env) for python in pythons for env in marker_environments(python)):
        return None
    return marker


def _mentions_extra(marker: str | None) -> bool:
    return bool(marker) and re.search(r"\bextra\b", marker) is not None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) of a requirements file: continuations joined, comments dropped."""
    lines, buffer, first = [], [], 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer:
            first = number
        if raw.endswith("\\") and not re.match(r"^\s*#", raw):
            buffer.append(raw[:-1])
            continue
        buffer.append(raw)
        line = re.sub(r"(^|\s+)#.*$", "", " ".join(buffer)).strip()
        buffer = []
        if line:
            lines.append((first, line))
    if buffer:
        line = re.sub(r"(^|\s+)#.*$", "", " ".join(buffer)).strip()
        if line:
            lines.append((first, line))
    return lines


SHORT_OPTIONS = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
}
VALUE_OPTIONS = frozenset(
    {*SHORT_OPTIONS.values(), "--extra-index-url", "--trusted-host", "--only-binary", "--no-binary"}
)
FLAG_OPTIONS = frozenset({"--pre", "--prefer-binary", "--require-hashes", "--no-index"})


def _option(line: str) -> tuple[str, str]:
    """(long option name, value) of an option line of a requirements file."""
    match = re.match(r"^(--[A-Za-z0-9-]+)(?:\s*=\s*|\s+|$)(.*)$", line) or re.match(r"^(-[A-Za-z])\s*(.*)$", line)
    if not match:
        return line, ""
    return SHORT_OPTIONS.get(match[1], match[1]), match[2].strip().strip("'\"")


def _not_from_an_index(text: str) -> str | None:
    """What a requirement that pip cannot download as a wheel by name is, or None."""
    lowered = text.lower()
    if re.search(r"(^|@\s*)(git|hg|svn|bzr)\+", lowered):
        return "a VCS checkout"
    if re.search(r"(^|@\s*)file:", lowered) or text.startswith((".", "/", "~")):
        return "a local path"
    if re.search(r"\.(tar\.gz|tgz|zip|tar\.bz2)$", lowered):
        return "a source archive"
    return None


def parse_pin(text: str, where: str, hashes: Sequence[str] = ()) -> Pin:
    """A requirement line (``Django==5.2.19; python_version >= "3.12"``) as a Pin."""
    packaging = _packaging()
    what = _not_from_an_index(text)
    if what is None:
        try:
            requirement = packaging.requirements.Requirement(text)
        except packaging.requirements.InvalidRequirement as exc:
            if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE) or text.endswith(".whl"):
                what = "a URL or file without a project name"
            else:
                raise BuildError(f"{where}: {text!r} is not a requirement: {exc}") from None
    if what is not None:
        raise BuildError(
            f"{where}: {text!r} is {what}: a release installs packages from the index, as wheels, by name "
            "(pin the package as name==version; building wheels of local or VCS packages is not supported yet, "
            "and the app itself ships as src/ or, as a package, from pyproject.toml with uv.lock or poetry.lock)"
        )
    extras = tuple(sorted(canonical_name(extra) for extra in requirement.extras))
    body = requirement.name + (f"[{','.join(extras)}]" if extras else "")
    body += f" @ {requirement.url}" if requirement.url else str(requirement.specifier)
    marker = str(requirement.marker) if requirement.marker else None
    return Pin(canonical_name(requirement.name), body, marker, extras, tuple(hashes), where)


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def read_requirements_file(root: Path, path: Path) -> Requirements:
    """A requirements file with its ``-r`` and ``-c`` includes, followed recursively."""
    result = Requirements("requirements", [], [], [], [], [], False, None, "")
    _read_requirements(root, path, "requirement", [], set(), result)
    result.fix = f"in {result.origin}" if len(result.files) == 1 else f"in {result.origin} or the files it includes"
    return result


def _read_requirements(root, path, kind, chain, seen, result) -> None:
    rel = _relative(root, path)
    if path in chain:
        cycle = " -> ".join([*(_relative(root, p) for p in chain[chain.index(path) :]), rel])
        raise BuildError(f"requirements files include each other: {cycle}; remove one of these -r/-c lines")
    if (path, kind) in seen:
        return
    seen.add((path, kind))
    if rel not in result.files:
        result.files.append(rel)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"{rel}: cannot be read: {exc}") from None
    for number, line in _logical_lines(text):
        where = f"{rel}:{number}"
        if not line.startswith("-"):
            requirement, _, options = re.match(r"^(.*?)(\s+(--\S.*))?$", line).group(1, 2, 3)
            hashes = re.findall(r"--hash(?:\s*=\s*|\s+)(\S+)", options or "")
            if options and re.sub(r"--hash(?:\s*=\s*|\s+)\S+", "", options).strip():
                raise BuildError(f"{where}: {line!r}: only --hash options may follow a requirement")
            pin = parse_pin(requirement, where, hashes)
            (result.constraints if kind == "constraint" else result.pins).append(pin)
            continue
        name, value = _option(line)
        if name in ("--requirement", "--constraint"):
            if not value:
                raise BuildError(f"{where}: {line!r} names no file")
            if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
                raise BuildError(
                    f"{where}: {line!r}: requirements from a URL are not supported; put the file in the source"
                )
            target = (path.parent / value).resolve()
            if not target.is_relative_to(root):
                raise BuildError(
                    f"{where}: {line!r}: {target} is outside the source {root}: a release is built from its source only"
                )
            if not target.is_file():
                raise BuildError(
                    f"{where}: {line!r}: {_relative(root, target)} does not exist (a path after {name} is relative "
                    f"to the folder of the file that names it, {_relative(root, path.parent) or '.'}/): "
                    "fix the path or add the file"
                )
            included = "constraint" if name == "--constraint" or kind == "constraint" else "requirement"
            _read_requirements(root, target, included, [*chain, path], seen, result)
        elif name == "--editable":
            raise BuildError(
                f"{where}: {line!r} is an editable install: a release installs packages from the index, as wheels "
                "(the app ships as src/; to install the project as a package, use pyproject.toml with uv.lock or "
                "poetry.lock; building wheels of other local packages is not supported yet)"
            )
        elif name in ("--index-url", "--extra-index-url", "--trusted-host"):
            result.options.append(f"{name}={value}")
        elif name == "--find-links":
            if not re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
                value = str((path.parent / value).resolve())
            result.options.append(f"--find-links={value}")
        elif name == "--no-index":
            result.options.append(name)
        elif name in FLAG_OPTIONS:
            if name not in result.flags:
                result.flags.append(name)
        elif name in ("--only-binary", "--no-binary"):
            continue  # the builder downloads wheels only, always
        else:
            raise BuildError(f"{where}: {line!r}: option {name} is not supported in a release's requirements")


def _load_toml(path: Path, rel: str) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"{rel}: cannot be read as TOML: {exc}") from None


def _walk(start, children, limit: int = 16) -> dict:
    """{node: set of markers (None: unconditional)} of every node reachable from start."""
    found: dict = {}
    stack = list(start)
    while stack:
        node, marker = stack.pop()
        markers = found.setdefault(node, set())
        if None in markers or marker in markers:
            continue
        if marker is None or len(markers) >= limit:
            markers.clear()
            marker = None
        markers.add(marker)
        stack.extend((child, _and(marker, child_marker)) for child, child_marker in children(node))
    return found


def _lock_marker(markers: set, where: str) -> str | None:
    return simplify_marker(normalize_marker(_or(markers), where))


def _check_lock_is_current(lock_rel: str, locked_names: set[str], wanted: Iterable[str], tool: str) -> None:
    missing = sorted(set(wanted) - locked_names)
    if missing:
        raise BuildError(
            f"{lock_rel} is out of date: pyproject.toml's dependencies {', '.join(missing)} are not in it; "
            f"run `{tool} lock` and commit the lock"
        )


def _pyproject_dependency_names(pyproject: dict) -> list[str]:
    names = []
    for line in pyproject.get("project", {}).get("dependencies", []) or []:
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.append(canonical_name(match[1]))
    return names


def _index_package(name: str, source: dict | None, lock_rel: str, kind: str) -> None:
    """Refuse a locked package that does not come from an index."""
    if kind == "uv.lock":
        origin = next(iter(source or {}), "registry")
        if origin != "registry":
            raise BuildError(
                f"{lock_rel}: {name} comes from a {origin} ({(source or {})[origin]}), not from an index: a release "
                "installs packages from the index, as wheels (building wheels of local, URL or VCS packages, "
                "and uv workspaces, are not supported yet)"
            )
    elif source and source.get("type") not in (None, "legacy"):
        raise BuildError(
            f"{lock_rel}: {name} comes from a {source.get('type')} source ({source.get('url')}), not from an index: "
            "a release installs packages from the index, as wheels (building wheels of local, URL or VCS packages "
            "is not supported yet)"
        )


def export_uv_lock(root: Path, pyproject: dict, lock_rel: str) -> tuple[list[Pin], dict]:
    """The pins of the packages the project's main dependencies need, from uv.lock; and the project's package."""
    lock = _load_toml(root / lock_rel, lock_rel)
    packages = [p for p in lock.get("package", []) if isinstance(p, dict) and "name" in p]
    by_name = defaultdict(list)
    for package in packages:
        by_name[canonical_name(package["name"])].append(package)

    def key(package):
        return (
            canonical_name(package["name"]),
            str(package.get("version")),
            json.dumps(package.get("source"), sort_keys=True),
        )

    index = {key(package): package for package in packages}
    name = canonical_name(pyproject.get("project", {}).get("name", ""))
    roots = [p for p in packages if p.get("source") in ({"editable": "."}, {"virtual": "."})]
    if name:
        roots = [p for p in roots if canonical_name(p["name"]) == name]
    if len(roots) != 1:
        raise BuildError(
            f'{lock_rel} has no entry for the project {name or "(unnamed)"} with source editable or virtual ".": '
            "run `uv lock` in the source and commit the lock"
        )
    project = roots[0]

    def find(dep):
        candidates = by_name.get(canonical_name(dep["name"]), [])
        if "version" in dep:
            candidates = [c for c in candidates if str(c.get("version")) == str(dep["version"])]
        if "source" in dep:
            candidates = [c for c in candidates if c.get("source") == dep["source"]]
        if len(candidates) != 1:
            raise BuildError(
                f"{lock_rel}: the dependency {dep['name']} matches {len(candidates)} packages of the lock: "
                "run `uv lock` again"
            )
        return candidates[0]

    def children(node):
        package_key, extra = node
        package = index[package_key]
        if extra is None:
            deps = package.get("dependencies", [])
        else:
            yield (package_key, None), None
            deps = package.get("optional-dependencies", {}).get(extra, [])
        for dep in deps:
            child = key(find(dep))
            marker = dep.get("marker")
            yield (child, None), marker
            for child_extra in dep.get("extra", []):
                yield (child, child_extra), marker

    found = _walk(children((key(project), None)), children)
    _check_lock_is_current(
        lock_rel, {node[0][0] for node in found} | {name}, _pyproject_dependency_names(pyproject), "uv"
    )
    pins = []
    for (package_key, extra), markers in sorted(found.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        if extra is not None or package_key == key(project):
            continue
        package = index[package_key]
        _index_package(package["name"], package.get("source"), lock_rel, "uv.lock")
        hashes = [wheel["hash"] for wheel in package.get("wheels", []) if wheel.get("hash")]
        if package.get("sdist", {}).get("hash"):
            hashes.append(package["sdist"]["hash"])
        pins.append(
            Pin(
                canonical_name(package["name"]),
                f"{canonical_name(package['name'])}=={package['version']}",
                _lock_marker(markers, lock_rel),
                (),
                tuple(hashes),
                lock_rel,
            )
        )
    return pins, project


POETRY_DEPENDENCY = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(?:\(([^)]*)\))?\s*(?:;\s*(.*))?$"
)


def poetry_specifiers(constraint: str) -> list[str]:
    """Poetry's version constraint (``^3.11``, ``>=3.11,<3.14``, ``~3.12 || ^3.13``) as PEP 440
    specifier sets, one per alternative."""
    alternatives = []
    for alternative in str(constraint).split("||"):
        alternative = re.sub(r"(>=|<=|!=|==|~=|>|<|\^|~)\s+", r"\1", alternative.strip())
        parts = []
        for token in filter(None, re.split(r"[,\s]+", alternative)):
            if token in ("*", ""):
                continue
            match = re.match(r"^(\^|~(?!=))(\d+(?:\.\d+)*)$", token)
            if match:
                numbers = [int(n) for n in match[2].split(".")]
                if match[1] == "^":
                    position = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
                else:
                    position = min(1, len(numbers) - 1) if len(numbers) > 1 else 0
                upper = [*numbers[:position], numbers[position] + 1]
                parts += [f">={match[2]}", f"<{'.'.join(map(str, upper))}"]
            elif re.match(r"^\d+(\.\d+)*(\.\*)?$", token):
                parts.append(f"=={token}" if token.endswith("*") or token.count(".") >= 2 else f"=={token}.*")
            else:
                parts.append(token)
        alternatives.append(",".join(parts))
    return alternatives or [""]


def poetry_python_marker(constraint: str | None) -> str | None:
    if not constraint or str(constraint).strip() == "*":
        return None
    ors = []
    for alternative in poetry_specifiers(constraint):
        ands = [
            f'python_full_version {op} "{version}"'
            for op, version in (
                re.match(r"^(~=|==|!=|<=|>=|<|>)(.*)$", part).groups() for part in alternative.split(",") if part
            )
        ]
        if not ands:
            return None
        ors.append(" and ".join(ands))
    return _or(ors)


def _poetry_root_dependencies(pyproject: dict, where: str) -> list[tuple[str, str | None, list[str]]]:
    """(name, marker, extras) of the project's main dependencies (PEP 621 or tool.poetry)."""
    packaging = _packaging()
    found = []
    project_dependencies = pyproject.get("project", {}).get("dependencies")
    if project_dependencies is not None:
        for line in project_dependencies:
            try:
                requirement = packaging.requirements.Requirement(line)
            except packaging.requirements.InvalidRequirement as exc:
                raise BuildError(
                    f"pyproject.toml: project.dependencies: {line!r} is not a requirement: {exc}"
                ) from None
            marker = str(requirement.marker) if requirement.marker else None
            found.append((canonical_name(requirement.name), marker, sorted(requirement.extras)))
        return found
    for name, spec in pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).items():
        if name.lower() == "python":
            continue
        for item in spec if isinstance(spec, list) else [spec]:
            if isinstance(item, str):
                found.append((canonical_name(name), None, []))
                continue
            if item.get("optional"):
                continue
            if any(k in item for k in ("path", "git", "url")):
                _index_package(
                    name,
                    {"type": "path/git/url", "url": item.get("path") or item.get("git") or item.get("url")},
                    where,
                    "poetry.lock",
                )
            platform = f'sys_platform == "{item["platform"]}"' if item.get("platform") else None
            marker = _and(item.get("markers"), poetry_python_marker(item.get("python")), platform)
            found.append((canonical_name(name), marker, list(item.get("extras", []))))
    return found


def export_poetry_lock(root: Path, pyproject: dict, lock_rel: str) -> list[Pin]:
    """The pins of the main group's packages from poetry.lock (lock-version 2.1: its groups and
    markers; older locks: the dependency graph walked from pyproject.toml's main dependencies)."""
    lock = _load_toml(root / lock_rel, lock_rel)
    packages = [p for p in lock.get("package", []) if isinstance(p, dict) and "name" in p]
    by_name = defaultdict(list)
    for package in packages:
        by_name[canonical_name(package["name"])].append(package)
    roots = _poetry_root_dependencies(pyproject, lock_rel)
    _check_lock_is_current(lock_rel, set(by_name), [name for name, _, _ in roots], "poetry")
    selected: list[tuple[dict, str | None]] = []
    if any("groups" in package for package in packages):
        for package in packages:
            if "main" not in package.get("groups", []) or package.get("optional"):
                continue
            marker = package.get("markers")
            if isinstance(marker, dict):
                marker = marker.get("main")
            selected.append((package, marker))
    else:

        def package_of(name):
            candidates = by_name.get(name, [])
            if len(candidates) != 1:
                raise BuildError(
                    f"{lock_rel} holds {len(candidates)} versions of {name}: this lock format (lock-version "
                    f"{lock.get('metadata', {}).get('lock-version')}) does not say which one the main group needs; "
                    "lock again with Poetry 2 (`poetry lock`)"
                )
            return candidates[0]

        def children(node):
            name, extra = node
            package = package_of(name)
            if extra is not None:
                yield (name, None), None
                extras = {canonical_name(k): v for k, v in package.get("extras", {}).items()}
                for item in extras.get(extra, []):
                    match = POETRY_DEPENDENCY.match(item)
                    if match:
                        yield (canonical_name(match[1]), None), match[4]
                        for child_extra in filter(None, (match[2] or "").split(",")):
                            yield (canonical_name(match[1]), canonical_name(child_extra.strip())), match[4]
                return
            for dep_name, spec in package.get("dependencies", {}).items():
                for item in spec if isinstance(spec, list) else [spec]:
                    if isinstance(item, dict) and item.get("optional"):
                        continue
                    marker = None
                    extras = []
                    if isinstance(item, dict):
                        marker = _and(item.get("markers"), poetry_python_marker(item.get("python")))
                        extras = item.get("extras", [])
                    yield (canonical_name(dep_name), None), marker
                    for child_extra in extras:
                        yield (canonical_name(dep_name), canonical_name(child_extra)), marker

        start = []
        for name, marker, extras in roots:
            start.append(((name, None), marker))
            start += [((name, canonical_name(extra)), marker) for extra in extras]
        for (name, extra), markers in sorted(_walk(start, children).items(), key=lambda i: (i[0][0], i[0][1] or "")):
            if extra is None:
                selected.append((package_of(name), _or(markers)))
    pins = []
    for package, marker in selected:
        name = canonical_name(package["name"])
        _index_package(name, package.get("source"), lock_rel, "poetry.lock")
        marker = simplify_marker(normalize_marker(marker, lock_rel))
        hashes = tuple(f["hash"] for f in package.get("files", []) if f.get("hash"))
        pins.append(Pin(name, f"{name}=={package['version']}", marker, (), hashes, lock_rel))
    return pins


def _lock_project(pyproject: dict, kind: str) -> tuple[str | None, bool]:
    """(the project's name, whether it is a package that is built and installed)."""
    tool = pyproject.get("tool", {})
    name = pyproject.get("project", {}).get("name") or tool.get("poetry", {}).get("name")
    has_build_system = bool(pyproject.get("build-system"))
    if kind == "uv.lock":
        package = tool.get("uv", {}).get("package")
        is_package = has_build_system if package is None else bool(package)
    else:
        is_package = has_build_system and tool.get("poetry", {}).get("package-mode", True) is not False
    return (canonical_name(name) if name else None), is_package


def read_lock(root: Path, lock_name: str) -> Requirements:
    pyproject_path = root / "pyproject.toml"
    if not pyproject_path.is_file():
        raise BuildError(f"{root}: {lock_name} without pyproject.toml: the lock needs its project")
    pyproject = _load_toml(pyproject_path, "pyproject.toml")
    tool = "uv" if lock_name == "uv.lock" else "poetry"
    if lock_name == "uv.lock":
        pins, _ = export_uv_lock(root, pyproject, lock_name)
    else:
        pins = export_poetry_lock(root, pyproject, lock_name)
    if any(not pin.hashes for pin in pins):
        pins = [Pin(p.name, p.text, p.marker, p.extras, (), p.origin) for p in pins]
    lock = _load_toml(root / lock_name, lock_name)
    indexes = []  # the lock's other indexes (uv registries, poetry legacy sources), for pip
    for package in lock.get("package", []):
        source = package.get("source") if isinstance(package, dict) else None
        url = (source or {}).get("registry") or ((source or {}).get("type") == "legacy" and source.get("url"))
        if url and not re.match(r"^https://pypi\.org/simple/?$", url) and url not in indexes:
            indexes.append(url)
    name, is_package = _lock_project(pyproject, lock_name)
    if is_package and not name:
        raise BuildError("pyproject.toml: the project has no name, so it cannot be built as a package")
    return Requirements(
        kind=lock_name,
        files=[lock_name, "pyproject.toml"],
        pins=pins,
        constraints=[],
        options=[f"--extra-index-url={url}" for url in indexes],
        flags=[],
        locked=True,
        project=name if is_package else None,
        fix=f"in pyproject.toml, then run `{tool} lock`",
    )


def _python_alternatives(pyproject: dict, lock: dict | None, kind: str | None) -> list[tuple[str, str, list[str]]]:
    """(where, as written, PEP 440 alternatives) of every Python requirement the project states."""
    found = []
    requires = pyproject.get("project", {}).get("requires-python")
    if requires:
        found.append(("pyproject.toml: requires-python", requires, [requires]))
    poetry_python = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    if isinstance(poetry_python, str) and not requires:
        found.append(
            ("pyproject.toml: tool.poetry.dependencies.python", poetry_python, poetry_specifiers(poetry_python))
        )
    if lock and kind == "uv.lock" and lock.get("requires-python") and not requires:
        found.append(("uv.lock: requires-python", lock["requires-python"], [lock["requires-python"]]))
    return found


def check_requires_python(root: Path, requirements: Requirements, pythons: Sequence[str]) -> None:
    """Refuse a target Python that the project's requires-python (or Poetry's python) excludes."""
    pyproject_path = root / "pyproject.toml"
    if not pyproject_path.is_file():
        return
    pyproject = _load_toml(pyproject_path, "pyproject.toml")
    lock = _load_toml(root / requirements.kind, requirements.kind) if requirements.kind == "uv.lock" else None
    specifiers = _packaging().specifiers
    problems = []
    for where, written, alternatives in _python_alternatives(pyproject, lock, requirements.kind):
        try:
            sets = [specifiers.SpecifierSet(alternative) for alternative in alternatives]
        except specifiers.InvalidSpecifier as exc:
            raise BuildError(f"{where} {written!r} is not a version specifier: {exc}") from None

        def allows(python, sets=sets):
            return any(s.contains(f"{python}.{micro}", prereleases=True) for s in sets for micro in range(50))

        excluded = [python for python in pythons if not allows(python)]
        if excluded:
            supported = [f"{debian} (Python {python})" for python, debian in DEBIAN_PYTHONS.items() if allows(python)]
            hosts = ", ".join(f"{p} ({DEBIAN_PYTHONS[p]})" if p in DEBIAN_PYTHONS else p for p in excluded)
            instead = (
                f"run the app hosts on {' or '.join(supported)} and build for that Python (--python, deploy_pythons)"
                if supported
                else "no Debian release the collection supports has such a Python"
            )
            problems.append(
                f'{where} = "{written}" excludes Python {hosts}, which the hosts run: {instead}, '
                f"or widen {where.split(': ')[1]} if the app runs on Python {excluded[0]}"
            )
    if problems:
        raise BuildError("\n".join(problems))


def find_requirements(source: Path, named: str | None, log) -> Requirements:
    """The release's requirements: --requirements, else pyproject.toml with a lock, else requirements.txt."""
    if named:
        candidate = Path(named)
        path = (candidate if candidate.is_absolute() else source / candidate).resolve()
        if not path.is_relative_to(source):
            raise UsageError(f"--requirements {named}: outside the source {source}")
        if not path.is_file():
            raise UsageError(f"--requirements {named}: no such file in {source} (the path is relative to the source)")
        if path.parent == source and path.name in LOCK_FILES:
            return read_lock(source, path.name)
        return read_requirements_file(source, path)
    has_pyproject = (source / "pyproject.toml").is_file()
    locks = [name for name in LOCK_FILES if (source / name).is_file()]
    if has_pyproject and len(locks) > 1:
        raise BuildError(
            f"{source} holds both uv.lock and poetry.lock: remove the stale one, or name the one to use with "
            "--requirements uv.lock (or poetry.lock)"
        )
    if has_pyproject and locks:
        if (source / "requirements.txt").is_file():
            log(f"using pyproject.toml and {locks[0]}; --requirements requirements.txt would use requirements.txt")
        return read_lock(source, locks[0])
    if (source / "requirements.txt").is_file():
        return read_requirements_file(source, source / "requirements.txt")
    candidates = sorted(p.relative_to(source).as_posix() for p in source.glob("requirements*/*.txt"))
    candidates += sorted(p.name for p in source.glob("requirements*.txt"))
    hint = f" (found {', '.join(candidates)}: e.g. --requirements {candidates[-1]})" if candidates else ""
    if has_pyproject:
        raise BuildError(
            f"{source}: pyproject.toml has no lock next to it: run `uv lock` or `poetry lock` and commit uv.lock or "
            f"poetry.lock (the release installs the lock's pins), or name a requirements file with --requirements{hint}"
        )
    raise BuildError(
        f"{source}: no requirements: add requirements.txt (every package pinned), or pyproject.toml with uv.lock or "
        f"poetry.lock, or name a requirements file with --requirements{hint}"
    )


# ---------------------------------------------------------------------------------------------
# Wheels


@dataclass(frozen=True)
class WheelTags:
    name: str
    version: str
    pythons: frozenset[str]
    abis: frozenset[str]
    platforms: frozenset[str]


def parse_wheel_filename(filename: str) -> WheelTags:
    match = WHEEL_PATTERN.match(filename)
    if not match:
        raise ValueError(f"not a wheel file name: {filename}")
    return WheelTags(
        name=re.sub(r"[-_.]+", "-", match["name"]).lower(),
        version=match["version"],
        pythons=frozenset(match["python"].split(".")),
        abis=frozenset(match["abi"].split(".")),
        platforms=frozenset(match["platform"].split(".")),
    )


def _glibc(platform: str) -> tuple[int, int] | None:
    """(major, minor) of glibc a manylinux x86_64 tag needs, None for any other tag."""
    match = re.match(r"^manylinux_(\d+)_(\d+)_x86_64$", platform)
    if match:
        return int(match[1]), int(match[2])
    legacy = re.match(r"^(manylinux\d+)_x86_64$", platform)
    return MANYLINUX_LEGACY.get(legacy[1]) if legacy else None


def wheel_supports(tags: WheelTags, python: str, platforms: Sequence[str] = DEFAULT_PLATFORMS) -> bool:
    """Whether pip would install this wheel on CPython ``python`` (``3.13``) on one of ``platforms``.

    ``linux_x86_64`` (a wheel compiled on a machine of the hosts' Debian release, not on the index) is
    accepted only when ``platforms`` names it: the builder adds it for the wheels it built itself.
    """
    major, minor = (int(part) for part in python.split("."))
    cp = f"cp{major}{minor}"
    built_here = BUILT_PLATFORM in tags.platforms and BUILT_PLATFORM in platforms
    if "any" not in tags.platforms and not built_here:
        newest = max((g for g in map(_glibc, platforms) if g), default=None)
        if newest is None or not any((g := _glibc(p)) and g <= newest for p in tags.platforms):
            return False
    if "none" in tags.abis and tags.pythons & {f"py{major}", f"py{major}{minor}", cp}:
        return True
    if cp in tags.abis and cp in tags.pythons:
        return True
    if "abi3" in tags.abis:
        for tag in tags.pythons:
            match = re.match(r"^cp(\d)(\d+)$", tag)
            if match and int(match[1]) == major and int(match[2]) <= minor:
                return True
    return False


def requirement_name(line: str) -> str | None:
    """The normalized project name of a requirement line without an environment marker, else None."""
    if ";" in line:
        return None
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return re.sub(r"[-_.]+", "-", match[1]).lower() if match else None


def check_wheelhouse(wheels: Sequence[Path], names: dict[str, set[str]], platforms) -> None:
    """Every package named for a Python ({python: names}) has a wheel for that Python."""
    tags = [parse_wheel_filename(wheel.name) for wheel in wheels]
    for python, wanted in names.items():
        present = {t.name for t in tags if wheel_supports(t, python, platforms)}
        missing = sorted(wanted - present)
        if missing:
            raise BuildError(f"no wheel for Python {python} of: {', '.join(missing)}")


def marker_environments(python: str) -> list[dict[str, str]]:
    """The marker environments of CPython ``python`` on Linux x86_64, one per micro version.

    A host's micro version is not known here (Debian 12 has 3.11.2), so a dependency counts when
    its marker holds for any of them (redis needs async-timeout on Python < 3.11.3).
    """
    return [
        {
            "implementation_name": "cpython",
            "implementation_version": f"{python}.{micro}",
            "os_name": "posix",
            "platform_machine": "x86_64",
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{python}.{micro}",
            "python_version": python,
            "sys_platform": "linux",
            "extra": "",
        }
        for micro in range(50)
    ]


def wheel_requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise BuildError(f"{wheel.name}: expected one .dist-info/METADATA, found {len(names)}")
        metadata = email.parser.BytesParser().parsebytes(archive.read(names[0]), headersonly=True)
    return metadata.get_all("Requires-Dist") or []


def check_dependencies(
    wheels: Sequence[Path],
    pythons: Sequence[str],
    platforms: Sequence[str],
    fix: str = "pin them, without an environment marker, in requirements.txt",
) -> None:
    """Every dependency a wheel declares for a target Python has a matching wheel for that Python.

    pip evaluates environment markers with the interpreter that runs it, not with the target Python
    it downloads for: building on Python 3.11.7 leaves out what a host's 3.11.2 or 3.13 needs. This
    reads each wheel's own dependencies and evaluates their markers for every target, so such a gap
    fails the build (pin the missing package, without a marker, in requirements.txt) instead of
    failing the offline install on a host.
    """
    packaging = _packaging()
    tags = {wheel: parse_wheel_filename(wheel.name) for wheel in wheels}
    problems = []
    for python in pythons:
        environments = marker_environments(python)
        present = {
            t.name: packaging.version.Version(t.version) for t in tags.values() if wheel_supports(t, python, platforms)
        }
        for wheel, wheel_tags in tags.items():
            if not wheel_supports(wheel_tags, python, platforms):
                continue
            for line in wheel_requirements(wheel):
                requirement = packaging.requirements.Requirement(line)
                if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
                    continue
                name = canonical_name(requirement.name)
                version = present.get(name)
                if version is None or not requirement.specifier.contains(version, prereleases=True):
                    found = f"found {version}" if version else "no wheel"
                    problems.append(f"{wheel_tags.name} {wheel_tags.version} needs {line} on Python {python}: {found}")
    if problems:
        raise BuildError(f"the wheelhouse lacks dependencies ({fix}):\n  " + "\n  ".join(sorted(set(problems))))


def _pip(offline: bool) -> tuple[list[str], dict[str, str]]:
    """The start of a pip command line and its environment; offline: no pip configuration at all."""
    command = [sys.executable, "-m", "pip", *(["--isolated"] if offline else [])]
    env = dict(os.environ)
    if offline:
        # --isolated ignores pip's configuration files and PIP_* variables; say so to be sure.
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
    return command, env


def pip_download(
    requirements: Path,
    python: str,
    platforms: Sequence[str],
    dest: Path,
    *,
    offline_from: Path | None,
    no_deps: bool = False,
    options: Sequence[str] = (),
    find_links: Sequence[Path] = (),
):
    """``pip download`` of every requirement as a wheel for CPython ``python`` on ``platforms``.

    offline_from: only that folder is searched (no index, no pip configuration); otherwise pip's
    own configuration (index, proxy, certificates) applies, with ``options`` (the requirements'
    index options), and files already in dest are kept. no_deps: the requirements are a lock.
    find_links: further folders searched in both cases (the wheels built for this Python).
    """
    command, env = _pip(offline=offline_from is not None)
    command += [
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "--only-binary=:all:",
        "--implementation",
        IMPLEMENTATION,
        "--python-version",
        python,
        *(arg for platform in platforms for arg in ("--platform", platform)),
        *(["--no-deps"] if no_deps else []),
        "--requirement",
        str(requirements),
        "--dest",
        str(dest),
    ]
    if offline_from is not None:
        command += ["--no-index", "--find-links", str(offline_from)]
    else:
        command += list(options)
    command += [arg for folder in find_links for arg in ("--find-links", str(folder))]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=1800)


def write_download_file(
    requirements: Requirements,
    pins: Sequence[Pin],
    python: str,
    folder: Path,
    built_hashes: dict[str, str] | None = None,
) -> Path:
    """The requirements for one Python, markers already evaluated: pip would evaluate them with its own.

    built_hashes: {name: sha256} of the wheels built from a pin's source; a pin that carries hashes
    (a lock) accepts its built wheel too (the source's hash was checked before the build)."""
    lines = list(requirements.flags)
    constraints = [pin for pin in requirements.constraints if marker_applies(pin.marker, python)]
    if constraints:
        constraints_file = folder / f"constraints-{python}.txt"
        constraints_file.write_text("".join(f"{pin.text}\n" for pin in constraints), encoding="utf-8")
        lines.append(f"--constraint {constraints_file}")
    built_hashes = built_hashes or {}
    for pin in pins:
        hashes = list(pin.hashes)
        if hashes and pin.name in built_hashes:
            hashes.append(f"sha256:{built_hashes[pin.name]}")
        lines.append(pin.text + "".join(f" --hash={value}" for value in hashes))
    path = folder / f"requirements-{python}.txt"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _python_name(python: str) -> str:
    debian = DEBIAN_PYTHONS.get(python)
    return f"Python {python} ({debian})" if debian else f"Python {python}"


def _allows(specifiers: Sequence[str], python: str) -> bool:
    """Whether any of these PEP 440 specifier sets admits some micro version of ``python``."""
    packaging = _packaging()
    for text in specifiers:
        try:
            specifier = packaging.specifiers.SpecifierSet(text)
        except packaging.specifiers.InvalidSpecifier:
            continue
        if any(specifier.contains(f"{python}.{micro}", prereleases=True) for micro in range(50)):
            return True
    return False


def explain_pip_failure(output: str, python: str, platforms: Sequence[str], requirements: Requirements) -> str:
    """One sentence per requirement pip could not download, or pip's own last lines."""
    packaging = _packaging()
    if re.search(r"NewConnectionError|Could not fetch URL|Temporary failure in name resolution|ProxyError", output):
        return f"pip could not reach the package index for {_python_name(python)}:\n" + _tail(output)
    skipped = []  # (version, Requires-Python) of every candidate pip skipped for this Python
    for match in re.finditer(r"Ignored the following versions that require a different python version: (.*)", output):
        for entry in match[1].split("; "):
            parts = re.match(r"^\s*(\S+) Requires-Python (.+?)\s*$", entry)
            if parts:
                skipped.append(parts.groups())
    problems = []
    for match in re.finditer(r"No matching distribution found for (\S+)", output):
        text = match[1]
        try:
            requirement = packaging.requirements.Requirement(text)
        except packaging.requirements.InvalidRequirement:
            continue
        listed = re.search(
            rf"Could not find a version that satisfies the requirement {re.escape(text)} \(from versions: ([^)]*)\)",
            output,
        )
        available = []
        for value in listed[1].split(", ") if listed and listed[1] != "none" else []:
            try:
                available.append(packaging.version.Version(value))
            except packaging.version.InvalidVersion:
                continue
        newest = max((v for v in available if not v.is_prerelease), default=None)
        needs, excluded = [], []
        for value, requires in skipped:
            try:
                version = packaging.version.Version(value)
            except packaging.version.InvalidVersion:
                continue
            if requirement.specifier.contains(version, prereleases=True):
                excluded.append(version)
                if requires not in needs:
                    needs.append(requires)
        if needs:
            pin = f"{requirement.name}<{min(excluded)}"
            newest_text = f" ({requirement.name} {newest} is the newest for Python {python})" if newest else ""
            others = [f"{debian} (Python {other})" for other, debian in DEBIAN_PYTHONS.items() if _allows(needs, other)]
            hosts = f", or run the app hosts on {' or '.join(others)} and build for that Python" if others else ""
            problems.append(
                f"{text} needs Python {' or '.join(needs)}; the hosts' Python is {python}"
                f"{' (' + DEBIAN_PYTHONS[python] + ')' if python in DEBIAN_PYTHONS else ''}: "
                f"pin {pin} {requirements.fix}{newest_text}{hosts}"
            )
        else:
            versions = (
                f"versions with one: {', '.join(map(str, available[-5:]))}"
                if available
                else "no version has one, or no such project on the index"
            )
            problems.append(
                f"{text}: no wheel for CPython {python} on {' or '.join(platforms)} ({versions}), and no source "
                f"distribution to build one from: pin a version that has a wheel {requirements.fix}, or choose "
                "another package"
            )
    if problems:
        return "\n".join(problems)
    return f"pip could not download wheels for {_python_name(python)} on {', '.join(platforms)}:\n" + _tail(output)


# ---------------------------------------------------------------------------------------------
# Wheels built from source: requirements with no wheel on the index for a hosts' Python


BUILT_PLATFORM = "linux_x86_64"  # the tag `pip wheel` gives a wheel compiled on Linux x86_64
# Installed in every build container, before the inventory's build packages.
BUILD_TOOLS = ("build-essential", "python3-dev", "python3-pip")
WHEEL_BUILD_FORMAT = 1  # part of a built wheel's cache key: raise it when the build recipe changes
MAX_BUILD_ROUNDS = 12
DEFAULT_APT_CACHE = Path(os.environ.get("DJANGOOPS_APT_CACHE") or Path.home() / ".cache" / "djangoops" / "apt")
DEBIAN_PACKAGE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
IMAGE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
SDIST_PATTERN = re.compile(r"^(?P<name>.+)-(?P<version>[0-9][^-]*)\.(?:tar\.gz|zip|tar\.bz2|tgz)$")
BUILD_EXIT = {10: "apt", 11: "python", 12: "pip", 13: "libraries"}
DEBIAN_IMAGES = {"3.11": "debian:bookworm", "3.13": "debian:trixie"}

# Prepares a build image from the hosts' image (bash and apt only, until python3 is installed): the
# build tools and the inventory's packages. Committed as a local image, reused by later builds.
PREPARE_SH = r"""set -u
rm -f /etc/apt/apt.conf.d/docker-clean
dpkg-query -W -f '${Package}\n' >/etc/djangoops-base-packages
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends \
       -o APT::Keep-Downloaded-Packages=true "$@"; } >/tmp/apt.log 2>&1; then
  cat /tmp/apt.log
  exit 10
fi
rm -rf /var/lib/apt/lists/* /tmp/apt.log
"""

# Runs in a container of the prepared image; everything it writes to /out is handed back.
BUILD_SH = r"""set -u
trap 'chown -R "$OWNER" /out 2>/dev/null || true' EXIT
python3 /job/build.py "$1"
"""

# `pip wheel` of one source distribution with its build requirements from the mounted wheel cache
# (no index in a container), then the Debian packages the built extension modules link to.
BUILD_PY = r"""import glob, json, os, platform, re, subprocess, sys, tempfile, zipfile
target, actual = os.environ["TARGET_PYTHON"], "%d.%d" % sys.version_info[:2]
if actual != target:
    print(f"the image runs Python {platform.python_version()}, not {target}")
    sys.exit(11)
with open("/out/build.log", "w") as log:
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--find-links", "/wheels",
         "--no-cache-dir", "--disable-pip-version-check", "--progress-bar", "off", "--wheel-dir", "/out/wheel",
         "/sdist/" + sys.argv[1]], stdout=log, stderr=subprocess.STDOUT)
if pip.returncode:
    sys.exit(12)
base = set(open("/etc/djangoops-base-packages").read().split())
packages, missing = set(), set()
for wheel in glob.glob("/out/wheel/*.whl"):
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as tmp:
        for name in archive.namelist():
            if re.search(r"\.so(\.|$)", name):
                path = archive.extract(name, tmp)
                ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
                missing.update(re.findall(r"^\s*(\S+) => not found", ldd, re.M))
                for library in re.findall(r"=> (/\S+)", ldd):
                    real = os.path.realpath(library)
                    for candidate in dict.fromkeys([library, real, "/usr" + library, re.sub("^/usr", "", real)]):
                        owner = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                        if owner.returncode == 0:
                            packages.add(owner.stdout.split(":")[0].strip())
                            break
json.dump({"python": platform.python_version(), "runtime_packages": sorted(packages - base),
           "missing_libraries": sorted(missing)}, open("/out/result.json", "w"))
sys.exit(13 if missing else 0)
"""


@dataclass(frozen=True)
class WheelBuilds:
    """Where wheels the index does not have are built: an image of the hosts' Debian release per
    Python ({"3.11": "debian:bookworm"}), the Debian packages they need to compile (``libpq-dev``)."""

    images: tuple[tuple[str, str], ...] = ()
    packages: tuple[str, ...] = ()
    apt_cache: Path = DEFAULT_APT_CACHE

    def image(self, python: str) -> str | None:
        return dict(self.images).get(python)


def sdist_name(filename: str) -> tuple[str, str] | None:
    """(normalized name, version) of a source distribution's file name, or None."""
    match = SDIST_PATTERN.match(filename)
    return (canonical_name(match["name"]), match["version"]) if match else None


def missing_requirement(output: str) -> str | None:
    """The requirement (name[extras] and version, no marker) pip found no distribution of, if any."""
    packaging = _packaging()
    match = re.search(r"No matching distribution found for (.+?)\s*$", output, re.MULTILINE)
    if not match:
        return None
    try:
        requirement = packaging.requirements.Requirement(match[1])
    except packaging.requirements.InvalidRequirement:
        name = re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*", match[1])
        return name[0] if name else None
    return requirement.name + str(requirement.specifier)


def compiler_errors(log: str, limit: int = 12) -> list[str]:
    """The lines of a failed build that say why: the compiler's errors with their source lines, else
    pip's and the build backend's error lines, else the end of the log."""
    lines = log.splitlines()
    found = []
    for number, line in enumerate(lines):
        if re.search(r"(^|: )(fatal )?error: ", line) and not re.match(r"^\s*(error: subprocess|ERROR: Failed)", line):
            found.append(line.rstrip())
            for context in lines[number + 1 : number + 3]:  # gcc's `  3 | int x = ;` and its caret line
                if re.match(r"^\s+\d*\s*\|", context):
                    found.append(context.rstrip())
    if not found:
        found = [line for line in lines if re.search(r"\berror\b", line, re.IGNORECASE)] or lines[-15:]
    unique = list(dict.fromkeys(found))
    indent = min((len(line) - len(line.lstrip()) for line in unique if line.strip()), default=0)
    unique = [line[indent:] for line in unique]
    return unique[:limit] + ([f"... ({len(unique) - limit} more)"] if len(unique) > limit else [])


def build_requirements_of(sdist: Path) -> list[str]:
    """The build-system requirements of a source distribution (setuptools when it states none)."""
    requires = None
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/pyproject.toml")]
                text = archive.read(names[0]).decode() if names else None
        else:
            with tarfile.open(sdist) as tar:
                member = next((m for m in tar.getmembers() if re.match(r"^[^/]+/pyproject\.toml$", m.name)), None)
                text = tar.extractfile(member).read().decode() if member else None
        if text:
            requires = tomllib.loads(text).get("build-system", {}).get("requires")
    except (OSError, KeyError, tarfile.TarError, zipfile.BadZipFile, UnicodeDecodeError, tomllib.TOMLDecodeError):
        requires = None
    # setuptools' legacy backend asks for wheel too (older setuptools)
    return list(requires) if requires is not None else ["setuptools>=40.8.0", "wheel"]


class WheelBuildFailed(BuildError):
    """pip wheel failed in the build container (log: its output), or the result links to missing libraries."""

    def __init__(self, log: str, result: str = "") -> None:
        super().__init__(log)
        self.log, self.result = log, result


class DockerBuildHost:
    """Builds a wheel in a throwaway container of an image of the hosts' Debian release.

    This is the seam for where a wheel is compiled. ``describe()`` names the place in messages,
    ``identity()`` is what, besides the source, decides the bytes of the wheel (part of its cache
    key), and ``build(sdist, find_links, out)`` compiles one source distribution with its build
    requirements from the find_links folder (no index) into ``out``, returning what the build found
    (``runtime_packages``: the Debian packages the extension modules link to) or raising BuildError.
    A build on one of the app hosts over SSH would be another class with these three methods.
    """

    def __init__(self, image: str, python: str, packages: Sequence[str], apt_cache: Path, log) -> None:
        self.image, self.python, self.packages, self.log = image, python, tuple(packages), log
        self.apt_cache = apt_cache / ("wheel-build-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", image))
        self._identity: dict | None = None

    def describe(self) -> str:
        return f"a container of {self.image}"

    def _docker(self) -> str:
        docker = shutil.which("docker")
        if docker is None:
            raise BuildError("docker is not on the controller's PATH (install Docker, e.g. Debian's docker.io)")
        return docker

    def identity(self) -> dict:
        if self._identity is None:
            docker = self._docker()

            def image_id():
                return subprocess.run(
                    [docker, "image", "inspect", "--format", "{{.Id}}", self.image],
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=60,
                )

            found = image_id()
            if found.returncode != 0:
                if "No such image" not in found.stderr:
                    raise BuildError(f"docker does not answer on the controller: {_tail(found.stderr, 3)}")
                self.log(f"pulling {self.image} to build wheels in")
                pulled = subprocess.run(
                    [docker, "pull", "-q", self.image], capture_output=True, text=True, check=False, timeout=600
                )
                found = image_id()
                if found.returncode != 0:
                    raise BuildError(
                        f"the image {self.image} is not on the controller and cannot be pulled "
                        f"({_tail(pulled.stderr, 2) or 'no answer'}): build or pull it, or name another image"
                    )
            self._identity = {
                "image": self.image,
                "image_id": found.stdout.strip(),
                "packages": sorted({*BUILD_TOOLS, *self.packages}),
            }
        return self._identity

    def _run(self, command: list[str], name: str, what: str) -> subprocess.CompletedProcess:
        """A docker command that starts the container ``name``, removed if the builder stops meanwhile."""
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)
        except BaseException as exc:
            subprocess.run([self._docker(), "rm", "-f", name], capture_output=True, check=False, timeout=60)
            if isinstance(exc, subprocess.TimeoutExpired):
                raise BuildError(f"{what} in {self.image} took more than 30 minutes") from None
            raise

    def prepared_image(self) -> str:
        """The hosts' image with the build tools and packages installed: made once, then reused."""
        docker, identity = self._docker(), self.identity()
        tag = "djangoops/wheel-build:" + sha256_json(identity)[:16]
        if subprocess.run([docker, "image", "inspect", tag], capture_output=True, check=False).returncode == 0:
            return tag
        self.log(f"preparing {tag}: {self.image} with {', '.join(identity['packages'])}")
        self.apt_cache.mkdir(parents=True, exist_ok=True)
        name = f"djangoops-wheel-prepare-{os.getpid()}-{os.urandom(4).hex()}"
        command = [
            docker, "run", "--name", name, "--label", "org.djangoops.wheel-build=1",
            "-e", "DEBIAN_FRONTEND=noninteractive", "-v", f"{self.apt_cache}:/var/cache/apt/archives",
            self.image, "bash", "-c", PREPARE_SH, "prepare", *identity["packages"],
        ]  # fmt: skip
        proc = self._run(command, name, "installing the build packages")
        try:
            if proc.returncode == 10:
                unknown = re.findall(r"E: Unable to locate package (\S+)", proc.stdout)
                why = (
                    f"no package {', '.join(dict.fromkeys(unknown))} in {self.image}'s Debian release"
                    if unknown
                    else "\n  ".join(_tail(proc.stdout, 8).splitlines())
                )
                raise BuildError(
                    f"the build packages cannot be installed in {self.image} "
                    f"(deploy_wheel_build_packages, --build-package): {why}"
                )
            if proc.returncode != 0:
                raise BuildError(
                    f"docker run {self.image} failed (exit status {proc.returncode}): "
                    + _tail(proc.stderr + proc.stdout, 5)
                )
            labels = [
                "--change",
                "LABEL org.djangoops.wheel-build=1",
                "--change",
                f"LABEL org.djangoops.from={self.image}",
            ]
            committed = subprocess.run(
                [docker, "commit", *labels, name, tag], capture_output=True, text=True, check=False, timeout=600
            )
            if committed.returncode != 0:
                raise BuildError(f"docker commit of the build image {tag} failed: {_tail(committed.stderr, 3)}")
        finally:
            subprocess.run([docker, "rm", "-f", name], capture_output=True, check=False, timeout=60)
        return tag

    def build(self, sdist: Path, find_links: Path, out: Path) -> dict:
        docker, image = self._docker(), self.prepared_image()
        job = out / "job"
        job.mkdir(parents=True)
        (job / "build.sh").write_text(BUILD_SH)
        (job / "build.py").write_text(BUILD_PY)
        result_dir = out / "out"
        result_dir.mkdir()
        name = f"djangoops-wheel-build-{os.getpid()}-{os.urandom(4).hex()}"
        command = [
            docker, "run", "--rm", "--name", name, "--label", "org.djangoops.wheel-build=1", "--network", "none",
            "-e", "LC_ALL=C", "-e", f"TARGET_PYTHON={self.python}", "-e", f"OWNER={os.getuid()}:{os.getgid()}",
            "-v", f"{job}:/job:ro", "-v", f"{sdist.parent}:/sdist:ro", "-v", f"{find_links}:/wheels:ro",
            "-v", f"{result_dir}:/out", image, "bash", "/job/build.sh", sdist.name,
        ]  # fmt: skip
        proc = self._run(command, name, f"building {sdist.name}")
        stage = BUILD_EXIT.get(proc.returncode)

        def read(name):
            path = result_dir / name
            return path.read_text(errors="replace") if path.is_file() else ""

        if proc.returncode == 0:
            wheels = sorted((result_dir / "wheel").glob("*.whl"))
            return {**json.loads(read("result.json")), "wheels": wheels, "log": read("build.log")}
        if stage == "python":
            debian = DEBIAN_IMAGES.get(self.python)
            raise BuildError(
                f"{self.image} is not an image for the hosts' Python {self.python}: {proc.stdout.strip()}; name an "
                f"image of their Debian release for {self.python}" + (f" (e.g. {debian})" if debian else "")
            )
        if stage in ("pip", "libraries"):
            raise WheelBuildFailed(read("build.log") or proc.stdout, read("result.json"))
        raise BuildError(
            f"docker run {self.image} failed (exit status {proc.returncode}): " + _tail(proc.stderr + proc.stdout, 5)
        )


class WheelBuilder:
    """The wheels built for this release, from source distributions, cached by their inputs.

    A built wheel lives in ``<cache>/built/<key>/`` with ``build.json`` (what it was built from and
    where); the key is the sha256 of the source distribution's sha256, the Python, the build host's
    identity (image id and Debian packages) and WHEEL_BUILD_FORMAT. Sources are kept in
    ``<cache>/sdists/`` so that a rebuild needs neither the index nor a container.
    """

    def __init__(self, builds: WheelBuilds, cache: Path, work: Path, log, options: Sequence[str] = ()) -> None:
        self.builds, self.cache, self.work, self.log, self.options = builds, cache, work, log, list(options)
        self.records: dict[str, dict] = {}  # wheel file name: how it was built
        self._built: dict[str, dict[str, tuple[Path, str]]] = defaultdict(dict)  # python: {name: (folder, sha256)}
        self._hosts: dict[str, DockerBuildHost] = {}

    def folders(self, python: str) -> list[Path]:
        return sorted({folder for folder, _ in self._built[python].values()})

    def hashes(self, python: str) -> dict[str, str]:
        return {name: sha256 for name, (_, sha256) in self._built[python].items()}

    def drop_copies(self, cache: Path) -> None:
        """Remove the built wheels pip copied into the cache's top folder: there they would lose their key."""
        for name in self.records:
            (cache / name).unlink(missing_ok=True)

    def host(self, python: str) -> DockerBuildHost | None:
        image = self.builds.image(python)
        if image is None:
            return None
        if python not in self._hosts:
            self._hosts[python] = DockerBuildHost(image, python, self.builds.packages, self.builds.apt_cache, self.log)
        return self._hosts[python]

    def find_sdist(self, requirement: str, python: str, fetch: bool) -> Path | None:
        """The source distribution of a requirement: the newest matching one in the cache, else (fetch)
        the one pip chooses from the index."""
        packaging = _packaging()
        wanted = packaging.requirements.Requirement(requirement)
        folder = self.cache / "sdists"
        candidates = []
        for path in folder.glob("*") if folder.is_dir() else []:
            parsed = sdist_name(path.name)
            if parsed and parsed[0] == canonical_name(wanted.name):
                try:
                    version = packaging.version.Version(parsed[1])
                except packaging.version.InvalidVersion:
                    continue
                if wanted.specifier.contains(version, prereleases=True):
                    candidates.append((version, path))
        if candidates:
            return max(candidates)[1]
        if not fetch:
            return None
        download = self.work / f"sdist-{canonical_name(wanted.name)}-{python}"
        shutil.rmtree(download, ignore_errors=True)
        command, env = _pip(offline=False)
        command += ["download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--no-deps"]
        command += ["--no-binary=:all:", "--python-version", python, "--dest", str(download), *self.options]
        command.append(requirement)
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=1800)
        found = [p for p in download.glob("*") if sdist_name(p.name)] if download.is_dir() else []
        if proc.returncode != 0 or len(found) != 1:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found[0], folder / found[0].name)
        return folder / found[0].name

    def ensure_build_requirements(self, sdist: Path, python: str, platforms: Sequence[str]) -> None:
        """The source's build requirements as wheels for the target Python, in the wheel cache."""
        requires = build_requirements_of(sdist)
        if not requires:
            return
        probe = self.work / f"build-requirements-{python}"
        for offline in (True, False):
            shutil.rmtree(probe, ignore_errors=True)
            command, env = _pip(offline)
            command += ["download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
            command += ["--only-binary=:all:", "--implementation", IMPLEMENTATION, "--python-version", python]
            command += [arg for platform in platforms for arg in ("--platform", platform)]
            if offline:
                command += ["--no-index", "--find-links", str(self.cache), "--dest", str(probe)]
            else:
                command += ["--dest", str(self.cache), *self.options]
            proc = subprocess.run(
                [*command, *requires], capture_output=True, text=True, env=env, check=False, timeout=1800
            )
            if proc.returncode == 0 and offline:
                return
            if not offline and proc.returncode != 0:
                raise BuildError(
                    f"the build requirements of {sdist.name} ({', '.join(requires)}) cannot be downloaded as wheels "
                    f"for {_python_name(python)}:\n" + _tail(proc.stdout + proc.stderr, 8)
                )

    def obtain(
        self, requirement: str, python: str, requirements: Requirements, platforms: Sequence[str], *, fetch: bool
    ) -> bool:
        """Make a wheel of ``requirement`` for ``python`` available (cached, or built now); False when
        it has no source distribution (in the cache; with fetch, on the index either)."""
        sdist = self.find_sdist(requirement, python, fetch)
        if sdist is None:
            return False
        parsed = sdist_name(sdist.name)
        name, version = parsed
        platforms_text = " or ".join(platforms)
        host = self.host(python)
        if host is None:
            example = DEBIAN_IMAGES.get(python, "IMAGE")
            raise BuildError(
                f"{requirement}: no wheel for CPython {python} on {platforms_text}, only its source {sdist.name}: "
                f"name an image of the hosts' Debian release to build it in, deploy_wheel_build_images: "
                f"{{'{python}': '{example}'}} (build_release.py --build-image {python}={example}), with the Debian "
                "packages it needs to compile in deploy_wheel_build_packages (--build-package, e.g. libpq-dev); "
                f"or pin a version that has a wheel {requirements.fix}"
            )
        sdist_sha256 = sha256_file(sdist)
        pin = next((p for p in requirements.pins if p.name == name and p.hashes), None)
        if pin is not None and not {f"sha256:{sdist_sha256}", sdist_sha256} & set(pin.hashes):
            raise BuildError(
                f"{sdist.name} (sha256 {sdist_sha256}) matches none of the hashes {pin.origin} gives for {name}: "
                "the source is not the one the lock was made with"
            )
        try:
            identity = host.identity()
        except BuildError as exc:
            raise BuildError(
                f"{requirement}: no wheel for CPython {python} on {platforms_text}, only its source {sdist.name}, "
                f"and it cannot be built in {host.describe()}: {exc}"
            ) from None
        key = sha256_json(
            {"format": WHEEL_BUILD_FORMAT, "sdist_sha256": sdist_sha256, "python": python, "host": identity}
        )[:32]
        folder = self.cache / "built" / key
        record_path = folder / "build.json"
        if record_path.is_file():
            record = json.loads(record_path.read_text())
            self.log(f"wheel of {name} {version} for Python {python} from the cache ({folder})")
        else:
            record = self._build(sdist, name, version, python, host, identity, key, platforms)
        wheel = folder / record["wheel"]
        self.records[wheel.name] = record
        self._built[python][name] = (folder, sha256_file(wheel))
        return True

    def _build(self, sdist, name, version, python, host, identity, key, platforms) -> dict:
        self.log(f"building a wheel of {name} {version} for Python {python} in {host.describe()}")
        self.ensure_build_requirements(sdist, python, platforms)
        what = f"the wheel of {name} {version} ({sdist.name}) for Python {python} in {host.describe()}"
        for attempt in range(2):
            out = self.work / f"build-{key}-{attempt}"
            shutil.rmtree(out, ignore_errors=True)
            try:
                found = host.build(sdist, self.cache, out)
                break
            except WheelBuildFailed as exc:
                dynamic = missing_requirement(exc.log)  # a build requirement the backend asked for at build time
                if attempt == 0 and dynamic and "Requires-Python" not in exc.log:
                    self.ensure_dynamic_requirement(dynamic, python, platforms)
                    continue
                if exc.result:
                    missing = json.loads(exc.result).get("missing_libraries", [])
                    raise BuildError(f"{what} links to libraries the image lacks: {', '.join(missing)}") from None
                errors = compiler_errors(exc.log)
                hint = ""
                header = next(
                    (re.search(r"fatal error: (\S+?):", line) for line in errors if "fatal error" in line), None
                )
                if header:
                    hint = (
                        f"\n  ({header[1]} is missing: add the Debian package that provides it, e.g. the library's "
                        "-dev package, to deploy_wheel_build_packages or --build-package)"
                    )
                raise BuildError(f"{what} failed to build:\n  " + "\n  ".join(errors) + hint) from None
        wheels = found["wheels"]
        if len(wheels) != 1:
            raise BuildError(f"{what} gave {len(wheels)} wheels, expected one")
        tags = parse_wheel_filename(wheels[0].name)
        if tags.name != name:
            raise BuildError(f"{what} gave {wheels[0].name}, not a wheel of {name}")
        if not wheel_supports(tags, python, [*platforms, BUILT_PLATFORM]):
            raise BuildError(
                f"{what} gave {wheels[0].name}, whose tags CPython {python} on Linux x86_64 does not accept"
            )
        record = {
            "name": name,
            "version": tags.version,
            "wheel": wheels[0].name,
            "python": python,
            "python_full": found.get("python"),
            "sdist": sdist.name,
            "sdist_sha256": sha256_file(sdist),
            "built_in": identity,
            "runtime_packages": found.get("runtime_packages", []),
            "key": key,
        }
        folder = self.cache / "built" / key
        partial = folder.with_name(f".{key}-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        shutil.copyfile(wheels[0], partial / wheels[0].name)
        (partial / "build.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        # Another build on this machine (a parallel test, a second controller process) may have put
        # the same key there meanwhile: a complete one is kept (same inputs) and used.
        if (folder / "build.json").is_file():
            shutil.rmtree(partial, ignore_errors=True)
            return json.loads((folder / "build.json").read_text())
        shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(partial, folder)
        except OSError:
            if not (folder / "build.json").is_file():
                raise
            shutil.rmtree(partial, ignore_errors=True)
            return json.loads((folder / "build.json").read_text())
        return record

    def ensure_dynamic_requirement(self, requirement: str, python: str, platforms: Sequence[str]) -> None:
        command, env = _pip(offline=False)
        command += ["download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
        command += ["--only-binary=:all:", "--implementation", IMPLEMENTATION, "--python-version", python]
        command += [arg for platform in platforms for arg in ("--platform", platform)]
        command += ["--dest", str(self.cache), *self.options, requirement]
        subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=1800)


def build_wheelhouse(
    requirements: Requirements,
    pythons: Sequence[str],
    platforms: Sequence[str],
    cache: Path,
    dest: Path,
    work: Path,
    log,
    project_files: Sequence[SourceFile] = (),
    wheel_builder: WheelBuilder | None = None,
) -> tuple[list[Path], dict[str, dict[str, str]], Path | None]:
    """Fill dest with the wheels of every requirement for every Python, from the cache (filled first if needed).

    Returns the wheels, {python: {name: version}} of what each Python installs, and the project's wheel.
    A requirement with no wheel on the index is built from its source by wheel_builder (or refused).
    """
    wheel_builder = wheel_builder or WheelBuilder(WheelBuilds(), cache, work, log, requirements.options)
    downloads: dict[str, list[Pin]] = {}
    for python in pythons:
        pins = [pin for pin in requirements.pins if marker_applies(pin.marker, python)]
        if requirements.pins and not pins:
            raise BuildError(
                f"none of the {len(requirements.pins)} requirements of {requirements.origin} applies to "
                f"{_python_name(python)}: their environment markers exclude it (a release would install nothing); "
                f"fix the markers {requirements.fix}"
            )
        if pins:
            downloads[python] = pins
    if not downloads and not requirements.project:
        log(f"warning: {requirements.origin} lists no requirements: the release installs no package")
        return [], {python: {} for python in pythons}, None
    loose = [pin.text for pin in requirements.pins if "==" not in pin.text and " @ " not in pin.text]
    if loose:
        log(f"warning: not pinned with ==, the newest wheel in the cache wins: {', '.join(loose)}")

    cache.mkdir(parents=True, exist_ok=True)
    # One builder at a time per cache: `make test` builds releases in stages that run side by side,
    # and a wheel being downloaded must not be read half-written by another build.
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folders = _fill_wheelhouse(requirements, downloads, platforms, cache, work, log, wheel_builder)
        project_wheel = (
            build_project_wheel(requirements, project_files, cache, work, log) if requirements.project else None
        )
    resolved: dict[str, dict[str, str]] = {python: {} for python in pythons}
    for python, folder in folders.items():
        for wheel in sorted(folder.iterdir()):
            if not wheel.name.endswith(".whl"):
                raise BuildError(f"pip left files that are not wheels: {wheel.name}")
            tags = parse_wheel_filename(wheel.name)
            resolved[python][tags.name] = tags.version
            if not (dest / wheel.name).exists():
                shutil.copyfile(wheel, dest / wheel.name)
        if not resolved[python]:
            raise BuildError(
                f"pip resolved no wheel for {_python_name(python)} from {requirements.origin}, which lists "
                f"requirements: check {requirements.origin}"
            )
    if project_wheel is not None:
        shutil.copyfile(project_wheel, dest / project_wheel.name)
        tags = parse_wheel_filename(project_wheel.name)
        for python in pythons:
            resolved[python][tags.name] = tags.version
    wheels = sorted(dest.iterdir())
    wanted = {
        python: {pin.name for pin in requirements.pins if marker_applies(pin.marker, python)} for python in pythons
    }
    if project_wheel is not None:
        for names in wanted.values():
            names.add(parse_wheel_filename(project_wheel.name).name)
    if wheel_builder.records:
        platforms = [*platforms, BUILT_PLATFORM]
    check_wheelhouse(wheels, wanted, platforms)
    fix = (
        f"{requirements.kind} does not list them for every target Python: add them {requirements.fix}"
        if requirements.locked
        else "pin them, without an environment marker, " + requirements.fix
    )
    check_dependencies(wheels, pythons, platforms, fix)
    return wheels, resolved, (dest / project_wheel.name if project_wheel else None)


def _fill_wheelhouse(requirements, downloads, platforms, cache, work, log, wheel_builder) -> dict[str, Path]:
    """Assemble one folder per Python from the cache; download what the cache lacks first, and build
    the wheels the index does not have (one requirement per round: pip names the first it misses)."""
    folders = {python: work / f"wheels-{python}" for python in downloads}
    said = False
    problems = []

    def download(python, folder, offline):
        built = wheel_builder.folders(python)
        return pip_download(
            write_download_file(requirements, downloads[python], python, work, wheel_builder.hashes(python)),
            python,
            [*platforms, BUILT_PLATFORM] if built else platforms,
            folder,
            offline_from=cache if offline else None,
            no_deps=requirements.locked,
            options=requirements.options,
            find_links=built,
        )

    for python in downloads:
        online_after = set()  # (missing, wheels built) after which a download from the index succeeded
        for _ in range(MAX_BUILD_ROUNDS):
            shutil.rmtree(folders[python], ignore_errors=True)
            folders[python].mkdir()
            assembled = download(python, folders[python], offline=True)
            if assembled.returncode == 0:
                break
            missing = missing_requirement(assembled.stdout + assembled.stderr)
            try:
                if missing and wheel_builder.obtain(missing, python, requirements, platforms, fetch=False):
                    continue
                state = (missing, tuple(wheel_builder.folders(python)))
                if state in online_after:
                    problems.append(
                        "the wheelhouse cannot be assembled from the cache:\n"
                        + _tail(assembled.stdout + assembled.stderr)
                    )
                    break
                if not said:
                    log(f"wheel cache {cache} lacks wheels, downloading")
                    said = True
                fetched = download(python, cache, offline=False)
                wheel_builder.drop_copies(cache)
                if fetched.returncode == 0:
                    online_after.add(state)
                    continue
                output = fetched.stdout + fetched.stderr
                missing = missing_requirement(output)
                if missing and wheel_builder.obtain(missing, python, requirements, platforms, fetch=True):
                    continue
                problems.append(explain_pip_failure(output, python, platforms, requirements))
            except BuildError as exc:
                problems.append(str(exc))
            break
        else:
            problems.append(f"more than {MAX_BUILD_ROUNDS} wheels to build for {_python_name(python)}")
    if problems:
        raise BuildError("\n".join(dict.fromkeys(problems)))
    return folders


def build_project_wheel(requirements: Requirements, files: Sequence[SourceFile], cache: Path, work: Path, log) -> Path:
    """The project built as a wheel (``pip wheel --no-deps``) from a copy of the release's source.

    Its build requirements come from the wheel cache; the first build downloads them into it, so
    that a rebuild needs no network either.
    """
    tree, out = work / "project", work / "project-wheel"
    for file in files:
        target = tree / file.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file.path, target)

    def pip_wheel(offline: bool):
        shutil.rmtree(out, ignore_errors=True)
        command, env = _pip(offline)
        command += ["wheel", "--no-deps", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
        command += ["--wheel-dir", str(out), str(tree)]
        command += ["--no-index", "--find-links", str(cache)] if offline else list(requirements.options)
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=1800)

    result = pip_wheel(offline=True)
    if result.returncode != 0:
        pyproject = _load_toml(tree / "pyproject.toml", "pyproject.toml")
        build_requires = pyproject.get("build-system", {}).get("requires", [])
        log(f"downloading the project's build requirements into the wheel cache: {', '.join(build_requires)}")
        command, env = _pip(offline=False)
        command += ["download", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
        command += ["--only-binary=:all:", "--dest", str(cache), *requirements.options, *build_requires]
        if build_requires:
            subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=1800)
        result = pip_wheel(offline=True)
        if result.returncode != 0:
            log("the project's build requirements are not all in the wheel cache; building with pip's index")
            result = pip_wheel(offline=False)
    built = sorted(out.glob("*.whl")) if out.is_dir() else []
    if result.returncode != 0 or len(built) != 1:
        raise BuildError(
            f"the project {requirements.project} (pyproject.toml) cannot be built as a wheel with pip wheel:\n"
            + _tail(result.stdout + result.stderr)
        )
    if parse_wheel_filename(built[0].name).name != requirements.project:
        raise BuildError(f"pip wheel built {built[0].name}, not a wheel of the project {requirements.project}")
    return built[0]


def flat_requirements(requirements: Requirements, resolved: dict[str, dict[str, str]]) -> list[str]:
    """One pinned line per package and version the hosts install, with a marker where it is not needed
    everywhere: the source's own marker, or the Pythons it was resolved for."""
    pythons = list(resolved)
    stated: dict[str, tuple[set[str], list[str | None]]] = {}
    for pin in requirements.pins:
        extras, markers = stated.setdefault(pin.name, (set(), []))
        extras.update(pin.extras)
        markers.append(pin.marker)
    lines = []
    for name in sorted({name for packages in resolved.values() for name in packages}):
        extras, markers = stated.get(name, (set(), [None]))
        marker = _or(markers)
        if _mentions_extra(marker):
            marker = None  # pip cannot evaluate `extra` in a requirements file
        marker = simplify_marker(marker)
        applies = [python for python in pythons if marker_applies(marker, python)]
        by_version: dict[str, list[str]] = defaultdict(list)
        for python in pythons:
            if name in resolved[python]:
                by_version[resolved[python][name]].append(python)
        for version, found in sorted(by_version.items()):
            line_marker = marker
            if found != applies:
                line_marker = _and(marker, _or(f'python_version == "{python}"' for python in found))
            text = f"{name}{'[' + ','.join(sorted(extras)) + ']' if extras else ''}=={version}"
            lines.append(text + (f" ; {line_marker}" if line_marker else ""))
    return lines


def _tail(text: str, lines: int = 25) -> str:
    noise = "is ignored: it is neither a file nor a directory"
    return "\n".join([line for line in text.strip().splitlines() if noise not in line][-lines:])


# ---------------------------------------------------------------------------------------------
# The artifact


def tar_info(name: str, *, size: int = 0, mode: int = 0o644, mtime: int, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o755 if directory else mode
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_artifact(target: Path, members: list[tuple[str, Path | bytes, int]], mtime: int):
    """A gzipped tar of members (name, file or bytes, mode) plus their folders and the ``src`` and
    ``wheels`` folders (even when empty), in a fixed order with fixed owners, times and modes, so
    that the same members and mtime give the same bytes."""
    directories = {"src", "wheels"}
    for name, _, _ in members:
        parts = name.split("/")[:-1]
        directories.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for directory in sorted(directories):
                tar.addfile(tar_info(directory, mtime=mtime, directory=True))
            for name, content, mode in sorted(members, key=lambda m: m[0]):
                if isinstance(content, bytes):
                    tar.addfile(tar_info(name, size=len(content), mode=mode, mtime=mtime), io.BytesIO(content))
                else:
                    with content.open("rb") as handle:
                        size = os.fstat(handle.fileno()).st_size
                        tar.addfile(tar_info(name, size=size, mode=mode, mtime=mtime), handle)


def read_manifest(artifact: Path) -> dict | None:
    try:
        with tarfile.open(artifact, "r:gz") as tar:
            handle = tar.extractfile("manifest.json")
            return json.loads(handle.read()) if handle else None
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError):
        return None


@dataclass
class Result:
    status: str  # built, rebuilt, unchanged, would-build, would-rebuild
    artifact: Path
    app: str
    version: str
    sha256: str | None = None
    size: int | None = None
    wheels: int | None = None

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "changed": self.status in {"built", "rebuilt"},
            "artifact": str(self.artifact),
            "app": self.app,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
            "wheels": self.wheels,
        }


def build(
    source: Path,
    version: str,
    output: Path,
    *,
    pythons: Sequence[str] = DEFAULT_PYTHONS,
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
    name: str | None = None,
    requirements_file: str | None = None,
    wheel_cache: Path = DEFAULT_WHEEL_CACHE,
    wheel_builds: WheelBuilds | None = None,
    force: bool = False,
    dry_run: bool = False,
    log=lambda message: print(message, file=sys.stderr),
) -> Result:
    source = source.resolve()
    if not source.is_dir():
        raise UsageError(f"{source}: no such directory")
    app = name or source.name
    if not NAME_PATTERN.match(app):
        raise UsageError(f"app name {app!r}: letters, digits, '.', '_' and '-' only")
    if not VERSION_PATTERN.match(version) or ".." in version:
        raise UsageError(
            f"version {version!r}: letters, digits, '.', '+', '_' and '-' only (it names a folder on hosts)"
        )
    for python in pythons:
        if not PYTHON_PATTERN.match(python):
            raise UsageError(f"Python version {python!r}: expected a major.minor version such as 3.13")
    for platform in platforms:
        if not PLATFORM_PATTERN.match(platform):
            raise UsageError(f"platform {platform!r}: expected a wheel platform tag such as manylinux_2_28_x86_64")
    wheel_builds = wheel_builds or WheelBuilds()
    for python, image in wheel_builds.images:
        if not PYTHON_PATTERN.match(python) or not IMAGE_PATTERN.match(image):
            raise UsageError(f"build image {python}={image}: expected X.Y=IMAGE, e.g. 3.11=debian:bookworm")
    for package in wheel_builds.packages:
        if not DEBIAN_PACKAGE_PATTERN.match(package):
            raise UsageError(f"build package {package!r}: expected a Debian package name such as libpq-dev")
    pythons = sorted(set(pythons), key=lambda v: tuple(map(int, v.split("."))))
    platforms = sorted(set(platforms))
    requirements = find_requirements(source, requirements_file, log)
    check_requires_python(source, requirements, pythons)

    files = source_files(source)
    inputs = {
        "format": FORMAT,
        "app": app,
        "version": version,
        "pythons": pythons,
        "platforms": platforms,
        "implementation": IMPLEMENTATION,
        "source_tree_sha256": tree_sha256(files),
    }
    if requirements_file:
        inputs["requirements_file"] = requirements_file
    inputs_sha256 = sha256_json(inputs)
    artifact = output.resolve() / f"{app}-{version}.tar.gz"
    rebuilding = False
    if artifact.exists():
        existing = read_manifest(artifact)
        stale = existing and not existing.get("wheels") and (requirements.pins or requirements.project)
        if stale and not force:
            raise Refused(
                f"{artifact} exists with no wheels although {requirements.origin} names packages (an older builder "
                "did not follow its -r includes or lock): pass --force to build it again"
            )
        if existing and existing.get("inputs_sha256") == inputs_sha256 and not stale:
            return Result(
                "unchanged",
                artifact,
                app,
                version,
                sha256_file(artifact),
                artifact.stat().st_size,
                len(existing["wheels"]),
            )
        if not force:
            raise Refused(_refusal(artifact, existing, inputs))
        rebuilding = True
    if dry_run:
        return Result("would-rebuild" if rebuilding else "would-build", artifact, app, version)

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    built = datetime.datetime.fromtimestamp(
        int(epoch) if epoch else int(datetime.datetime.now().timestamp()), datetime.UTC
    )
    commit, dirty = git_state(source)
    artifact.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{app}-{version}-", dir=artifact.parent) as tmp:
        wheels_dir, work = Path(tmp) / "wheels", Path(tmp) / "work"
        wheels_dir.mkdir()
        work.mkdir()
        log(f"collecting wheels for Python {', '.join(pythons)} from {requirements.origin}")
        wheel_builder = WheelBuilder(wheel_builds, wheel_cache, work, log, requirements.options)
        wheels, resolved, project_wheel = build_wheelhouse(
            requirements, pythons, platforms, wheel_cache, wheels_dir, work, log, files, wheel_builder
        )
        pins = flat_requirements(requirements, resolved)
        origin = " and ".join(requirements.files) if requirements.locked else ", ".join(requirements.files)
        flat = (
            f"# Every package release {version} of {app} installs, pinned: the wheels in the artifact's wheels/.\n"
            f"# Written by tools/build_release.py from {origin} for Python {', '.join(pythons)}.\n"
            f"# pip install --no-index --find-links wheels -r src/{FLAT_REQUIREMENTS}\n"
        ) + "".join(f"{line}\n" for line in pins)
        manifest = {
            **inputs,
            "inputs_sha256": inputs_sha256,
            "requirements": pins,
            "requirements_file": f"src/{FLAT_REQUIREMENTS}",
            "requirements_source": {"kind": requirements.kind, "files": requirements.files},
            "project": (
                {"name": requirements.project, "wheel": project_wheel.name} if project_wheel is not None else None
            ),
            "wheels": {wheel.name: sha256_file(wheel) for wheel in wheels},
            # Wheels compiled from source for the hosts: from what, where, and the Debian packages
            # their extension modules link to (the hosts need them installed).
            "built_wheels": {name: wheel_builder.records[name] for name in sorted(wheel_builder.records)},
            "source": {"files": len(files), "git_commit": commit, "git_dirty": dirty},
            "built_at": built.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "builder": {"python": ".".join(map(str, sys.version_info[:3])), "pip": _pip_version()},
        }
        members: list[tuple[str, Path | bytes, int]] = [
            (f"src/{f.relpath}", f.path, 0o755 if f.executable else 0o644) for f in files
        ]
        members.append(("src/VERSION", f"{version}\n".encode(), 0o644))
        members.append((f"src/{FLAT_REQUIREMENTS}", flat.encode(), 0o644))
        members += [(f"wheels/{wheel.name}", wheel, 0o644) for wheel in wheels]
        members.append(("manifest.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(), 0o644))
        partial = Path(tmp) / artifact.name
        write_artifact(partial, members, int(built.timestamp()))
        os.replace(partial, artifact)
    return Result(
        "rebuilt" if rebuilding else "built",
        artifact,
        app,
        version,
        sha256_file(artifact),
        artifact.stat().st_size,
        len(wheels),
    )


def _refusal(artifact: Path, existing: dict | None, inputs: dict) -> str:
    if existing is None:
        return f"{artifact} exists but has no readable manifest; --force replaces it"
    changed = [key for key, value in inputs.items() if existing.get(key) != value]
    what = ", ".join("source" if key == "source_tree_sha256" else key for key in changed) or "inputs"
    return (
        f"{artifact} exists with different {what}: a version names one artifact. "
        "Build a new version, or pass --force to replace it (hosts that installed the old one keep it)."
    )


def _pip_version() -> str | None:
    try:
        return package_version("pip")
    except PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="build_release.py",
        description="Build <output>/<app>-<version>.tar.gz: the app's source plus a wheelhouse of its requirements.",
    )
    parser.add_argument(
        "--source",
        required=True,
        type=Path,
        help="the app's folder (holds manage.py and requirements.txt, or pyproject.toml with uv.lock or poetry.lock)",
    )
    parser.add_argument("--version", required=True, help="the release's version, e.g. 1.4.2")
    parser.add_argument("--output", required=True, type=Path, help="folder for the artifact, e.g. .cache/releases")
    parser.add_argument(
        "--python",
        dest="pythons",
        action="append",
        metavar="X.Y",
        help=f"a CPython version the hosts run; repeat for several (default: {' and '.join(DEFAULT_PYTHONS)})",
    )
    parser.add_argument(
        "--platform",
        dest="platforms",
        action="append",
        metavar="TAG",
        help=f"a wheel platform tag; repeat for several (default: {' and '.join(DEFAULT_PLATFORMS)})",
    )
    parser.add_argument(
        "--requirements",
        metavar="PATH",
        help="the requirements file to install, relative to the source, e.g. requirements/production.txt "
        "(default: pyproject.toml with uv.lock or poetry.lock, else requirements.txt)",
    )
    parser.add_argument("--name", help="the app's name in the artifact's file name (default: the source folder's name)")
    parser.add_argument(
        "--wheel-cache", type=Path, default=DEFAULT_WHEEL_CACHE, help="downloaded wheels (default: %(default)s)"
    )
    parser.add_argument(
        "--build-image",
        dest="build_images",
        action="append",
        metavar="X.Y=IMAGE",
        default=[],
        help="a Docker image of the hosts' Debian release for Python X.Y (e.g. 3.11=debian:bookworm): a requirement "
        "with no wheel on the index is built there from its source; repeat per Python",
    )
    parser.add_argument(
        "--build-package",
        dest="build_packages",
        action="append",
        metavar="PACKAGE",
        default=[],
        help=f"a Debian package such builds need (e.g. libpq-dev), besides {', '.join(BUILD_TOOLS)}; repeat",
    )
    parser.add_argument(
        "--apt-cache",
        type=Path,
        default=DEFAULT_APT_CACHE,
        help="Debian packages the build containers downloaded, kept for the next build (default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing artifact of this version")
    parser.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    images = []
    for item in args.build_images:
        python, _, image = item.partition("=")
        if not image:
            print(f"error: --build-image {item}: expected X.Y=IMAGE, e.g. 3.11=debian:bookworm", file=sys.stderr)
            return EXIT_USAGE
        images.append((python.strip(), image.strip()))
    try:
        result = build(
            args.source,
            args.version,
            args.output,
            pythons=args.pythons or DEFAULT_PYTHONS,
            platforms=args.platforms or DEFAULT_PLATFORMS,
            name=args.name,
            requirements_file=args.requirements,
            wheel_cache=args.wheel_cache,
            wheel_builds=WheelBuilds(tuple(images), tuple(args.build_packages), args.apt_cache),
            force=args.force,
            dry_run=args.dry_run,
        )
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(result.as_dict(), sort_keys=True))
    else:
        print(f"{result.status}: {result.artifact}")
        if result.sha256:
            print(f"sha256: {result.sha256}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
