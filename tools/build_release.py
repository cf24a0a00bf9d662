#!/usr/bin/env python3
"""Build a release artifact of a Django app, once, on the controller.

    python3 tools/build_release.py --source example --version 1.0.0 --output .cache/releases \\
        [--python 3.11 --python 3.13] [--force] [--json] [--dry-run]

writes ``<output>/<app>-<version>.tar.gz`` holding

- ``src/``: the app's source (no ``__pycache__``, VCS or virtualenv folders, ``.env`` files), with a
  ``VERSION`` file that holds the version;
- ``wheels/``: one wheelhouse for every requested Python (CPython, manylinux x86_64): every
  requirement of ``src/requirements.txt`` as a wheel, so that a host installs offline with
  ``pip install --no-index --find-links wheels -r src/requirements.txt``;
- ``manifest.json``: app, version, Pythons, platforms, the sha256 of every wheel, the source tree's
  hash and git commit, when and with what it was built.

Building a version that exists with the same inputs (source tree, Pythons, platforms) leaves the
artifact alone and reports ``unchanged``; with other inputs it is refused (exit status 3) unless
``--force``: a version names one set of bytes. Downloaded wheels are kept in a cache (``--wheel-cache``,
by default ``.cache/wheels`` of the checkout this tool is in), and the wheelhouse is always assembled
from that cache with no index, so a rebuild needs no network once the cache holds the wheels. With
``SOURCE_DATE_EPOCH`` set, two builds of the same inputs are identical to the byte.

pip evaluates environment markers with the interpreter that runs it, not with the target Python:
after downloading, every wheel's own dependencies are evaluated for each target Python (any micro
version) and a missing one fails the build, naming the package to pin in requirements.txt.

Exit status: 0 built or unchanged, 1 build failed (pip, source), 2 bad arguments, 3 refused.
Standard library only; Python 3.11 or later; pip must be importable by the running interpreter.
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
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path

FORMAT = 1
DEFAULT_PYTHONS = ("3.11", "3.13")
DEFAULT_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
IMPLEMENTATION = "cp"
DEFAULT_WHEEL_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "wheels"

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
EXCLUDED_TOP_LEVEL = frozenset({"VERSION", "staticfiles", "media"})

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


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file (comments, blank lines and options left out)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


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
    """Whether pip would install this wheel on CPython ``python`` (``3.13``) on one of ``platforms``."""
    major, minor = (int(part) for part in python.split("."))
    cp = f"cp{major}{minor}"
    if "any" not in tags.platforms:
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


def check_wheelhouse(wheels: Sequence[Path], requirements: Sequence[str], pythons: Sequence[str], platforms) -> None:
    """Every requirement (but those with a marker, which pip resolved) has a wheel for every Python."""
    tags = [parse_wheel_filename(wheel.name) for wheel in wheels]
    for python in pythons:
        names = {t.name for t in tags if wheel_supports(t, python, platforms)}
        missing = sorted({n for n in map(requirement_name, requirements) if n} - names)
        if missing:
            raise BuildError(f"no wheel for Python {python} of: {', '.join(missing)}")


def _packaging():
    """``packaging``'s requirements and versions: the installed one, else the copy inside pip."""
    try:
        from packaging import requirements, version
    except ImportError:
        from pip._vendor.packaging import requirements, version
    return requirements, version


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


def check_dependencies(wheels: Sequence[Path], pythons: Sequence[str], platforms: Sequence[str]) -> None:
    """Every dependency a wheel declares for a target Python has a matching wheel for that Python.

    pip evaluates environment markers with the interpreter that runs it, not with the target Python
    it downloads for: building on Python 3.11.7 leaves out what a host's 3.11.2 or 3.13 needs. This
    reads each wheel's own dependencies and evaluates their markers for every target, so such a gap
    fails the build (pin the missing package, without a marker, in requirements.txt) instead of
    failing the offline install on a host.
    """
    requirements, versions = _packaging()
    tags = {wheel: parse_wheel_filename(wheel.name) for wheel in wheels}
    problems = []
    for python in pythons:
        environments = marker_environments(python)
        present = {t.name: versions.Version(t.version) for t in tags.values() if wheel_supports(t, python, platforms)}
        for wheel, wheel_tags in tags.items():
            if not wheel_supports(wheel_tags, python, platforms):
                continue
            for line in wheel_requirements(wheel):
                requirement = requirements.Requirement(line)
                if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
                    continue
                name = re.sub(r"[-_.]+", "-", requirement.name).lower()
                version = present.get(name)
                if version is None or not requirement.specifier.contains(version, prereleases=True):
                    found = f"found {version}" if version else "no wheel"
                    problems.append(f"{wheel_tags.name} {wheel_tags.version} needs {line} on Python {python}: {found}")
    if problems:
        raise BuildError(
            "the wheelhouse lacks dependencies (pin them, without an environment marker, in requirements.txt):\n  "
            + "\n  ".join(sorted(set(problems)))
        )


def pip_download(requirements: Path, python: str, platforms: Sequence[str], dest: Path, *, offline_from: Path | None):
    """``pip download`` of every requirement as a wheel for CPython ``python`` on ``platforms``.

    offline_from: only that folder is searched (no index, no pip configuration); otherwise pip's
    own configuration (index, proxy, certificates) applies, and files already in dest are kept.
    """
    command = [sys.executable, "-m", "pip"]
    if offline_from is not None:
        command += ["--isolated"]
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
        "--requirement",
        str(requirements),
        "--dest",
        str(dest),
    ]
    if offline_from is not None:
        command += ["--no-index", "--find-links", str(offline_from)]
    env = dict(os.environ)
    if offline_from is not None:
        # --isolated ignores pip's configuration files and PIP_* variables; say so to be sure.
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=1800)


def build_wheelhouse(
    requirements: Path, pythons: Sequence[str], platforms: Sequence[str], cache: Path, dest: Path, log
) -> list[Path]:
    """Fill dest with the wheels of every requirement for every Python, from the cache (filled first if needed)."""
    lines = requirement_lines(requirements)
    if not lines:
        return []
    loose = [line for line in lines if "==" not in line]
    if loose:
        log(f"warning: not pinned with ==, the newest wheel in the cache wins: {', '.join(loose)}")

    def assemble():
        for python in pythons:
            result = pip_download(requirements, python, platforms, dest, offline_from=cache)
            if result.returncode != 0:
                return result
        return None

    cache.mkdir(parents=True, exist_ok=True)
    # One builder at a time per cache: `make test` builds releases in stages that run side by side,
    # and a wheel being downloaded must not be read half-written by another build.
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _fill_wheelhouse(pythons, platforms, requirements, cache, dest, log, assemble)
    wheels = sorted(dest.iterdir())
    strays = [w.name for w in wheels if not w.name.endswith(".whl")]
    if strays:
        raise BuildError(f"pip left files that are not wheels: {', '.join(strays)}")
    check_wheelhouse(wheels, lines, pythons, platforms)
    check_dependencies(wheels, pythons, platforms)
    return wheels


def _fill_wheelhouse(pythons, platforms, requirements, cache, dest, log, assemble) -> None:
    """Assemble dest from the cache; download what the cache lacks first."""
    failed = assemble()
    if failed is not None:
        log(f"wheel cache {cache} lacks wheels, downloading")
        for python in pythons:
            result = pip_download(requirements, python, platforms, cache, offline_from=None)
            if result.returncode != 0:
                raise BuildError(
                    f"pip could not download wheels for Python {python} on {', '.join(platforms)}:\n"
                    + _tail(result.stdout + result.stderr)
                )
        shutil.rmtree(dest)
        dest.mkdir()
        failed = assemble()
        if failed is not None:
            raise BuildError(
                "the wheelhouse cannot be assembled from the cache:\n" + _tail(failed.stdout + failed.stderr)
            )


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


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
    wheel_cache: Path = DEFAULT_WHEEL_CACHE,
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
    pythons = sorted(set(pythons), key=lambda v: tuple(map(int, v.split("."))))
    platforms = sorted(set(platforms))
    requirements = source / "requirements.txt"
    if not requirements.is_file():
        raise BuildError(f"{requirements}: missing (the release's requirements, pinned)")

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
    inputs_sha256 = sha256_json(inputs)
    artifact = output.resolve() / f"{app}-{version}.tar.gz"
    rebuilding = False
    if artifact.exists():
        existing = read_manifest(artifact)
        if existing and existing.get("inputs_sha256") == inputs_sha256:
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
        wheels_dir = Path(tmp) / "wheels"
        wheels_dir.mkdir()
        log(f"collecting wheels for Python {', '.join(pythons)}")
        wheels = build_wheelhouse(requirements, pythons, platforms, wheel_cache, wheels_dir, log)
        manifest = {
            **inputs,
            "inputs_sha256": inputs_sha256,
            "requirements": requirement_lines(requirements),
            "wheels": {wheel.name: sha256_file(wheel) for wheel in wheels},
            "source": {"files": len(files), "git_commit": commit, "git_dirty": dirty},
            "built_at": built.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "builder": {"python": ".".join(map(str, sys.version_info[:3])), "pip": _pip_version()},
        }
        members: list[tuple[str, Path | bytes, int]] = [
            (f"src/{f.relpath}", f.path, 0o755 if f.executable else 0o644) for f in files
        ]
        members.append(("src/VERSION", f"{version}\n".encode(), 0o644))
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
    parser.add_argument("--source", required=True, type=Path, help="the app's folder (holds requirements.txt)")
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
    parser.add_argument("--name", help="the app's name in the artifact's file name (default: the source folder's name)")
    parser.add_argument(
        "--wheel-cache", type=Path, default=DEFAULT_WHEEL_CACHE, help="downloaded wheels (default: %(default)s)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing artifact of this version")
    parser.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = build(
            args.source,
            args.version,
            args.output,
            pythons=args.pythons or DEFAULT_PYTHONS,
            platforms=args.platforms or DEFAULT_PLATFORMS,
            name=args.name,
            wheel_cache=args.wheel_cache,
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
