"""tools/build_release.py on sources as projects have them: requirements files with -r/-c includes, a
named requirements file, pyproject.toml with uv.lock or poetry.lock; and what it refuses, in one message.

Builds are real: wheels come from the builder's wheel cache (~/.cache/djangoops/wheels), filled from PyPI on the
first run; the dependencies are small pure-Python wheels (six, idna, asgiref, typing-extensions).
The locks in sources/ were written by uv 0.13 and Poetry 2.5 (`uv lock`, `poetry lock`).
"""

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from .conftest import BUILDER, clean_env

SOURCES = Path(__file__).resolve().parent / "sources"


def quiet(message):
    pass


def app(root, **files):
    """A Django-like source at root: manage.py plus files ({relative path: text})."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "manage.py").write_text("print('manage')\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def locked_app(tmp_path, name):
    """A copy of sources/<name> (pyproject.toml and its lock) with a package folder and manage.py."""
    root = tmp_path / name
    shutil.copytree(SOURCES / name, root)
    return app(root, **{"shop/__init__.py": "VERSION = '0.3.0'\n"})


def read(artifact, name):
    with tarfile.open(artifact) as tar:
        return tar.extractfile(name).read().decode()


def pins(artifact):
    """The flat requirements the hosts install, without the comments."""
    text = read(artifact, "src/.djangoops-requirements.txt")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def wheels(artifact):
    with tarfile.open(artifact) as tar:
        return sorted(Path(m.name).name for m in tar.getmembers() if m.name.startswith("wheels/") and m.isfile())


def run_builder(*args):
    command = [sys.executable, str(BUILDER), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


# Requirements files --------------------------------------------------------------------------------


def test_includes_are_followed_relative_to_the_including_file(builder, tmp_path):
    source = app(
        tmp_path / "shop",
        **{
            "requirements.txt": "-r requirements/production.txt\n",
            "requirements/production.txt": "-r base.txt\n-c ../constraints.txt\nidna  # pinned by the constraints\n",
            "requirements/base.txt": "--prefer-binary\nsix==1.17.0 ; python_version < '3.12'\n",
            "constraints.txt": "idna==3.20\n",
        },
    )
    result = builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    assert (result.status, result.wheels) == ("built", 2)
    assert pins(result.artifact) == ["idna==3.20", 'six==1.17.0 ; python_version < "3.12"']
    assert wheels(result.artifact) == ["idna-3.20-py3-none-any.whl", "six-1.17.0-py2.py3-none-any.whl"]
    manifest = json.loads(read(result.artifact, "manifest.json"))
    assert manifest["requirements_source"] == {
        "kind": "requirements",
        "files": ["requirements.txt", "requirements/production.txt", "requirements/base.txt", "constraints.txt"],
    }
    assert manifest["requirements_file"] == "src/.djangoops-requirements.txt"
    assert manifest["requirements"] == pins(result.artifact)
    assert read(result.artifact, "src/requirements.txt") == "-r requirements/production.txt\n"  # the source, as is


def test_a_named_requirements_file(tmp_path):
    source = app(
        tmp_path / "shop",
        **{"requirements/base.txt": "six==1.17.0\n", "requirements/production.txt": "-r base.txt\nidna==3.20\n"},
    )
    refused = run_builder("--source", source, "--version", "1.0.0", "--output", tmp_path / "out")
    assert refused.returncode == 1
    assert "no requirements" in refused.stderr
    assert "--requirements requirements/production.txt" in refused.stderr  # the fix, with the file found

    named = ["--requirements", "requirements/production.txt"]
    built = run_builder("--source", source, "--version", "1.0.0", "--output", tmp_path / "out", *named, "--json")
    assert built.returncode == 0, built.stderr
    artifact = json.loads(built.stdout)["artifact"]
    assert pins(artifact) == ["idna==3.20", "six==1.17.0"]
    manifest = json.loads(read(artifact, "manifest.json"))
    assert manifest["requirements_file"] == "src/.djangoops-requirements.txt"
    assert manifest["requirements_source"]["files"] == ["requirements/production.txt", "requirements/base.txt"]
    # The file named is an input: the same version from another requirements file is another artifact.
    base = ["--requirements", "requirements/base.txt"]
    other = run_builder("--source", source, "--version", "1.0.0", "--output", tmp_path / "out", *base)
    assert other.returncode == 3
    assert "different requirements_file" in other.stderr
    missing = run_builder("--source", source, "--version", "1.0.1", "--output", tmp_path / "out", "--requirements", "x")
    assert missing.returncode == 2
    assert "--requirements x: no such file" in missing.stderr


def test_an_include_of_a_missing_file_is_refused(builder, tmp_path):
    source = app(tmp_path / "shop", **{"requirements.txt": "six==1.17.0\n-r requirements/prod.txt\n"})
    with pytest.raises(builder.BuildError) as refused:
        builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    message = str(refused.value)
    assert message.startswith("requirements.txt:2: '-r requirements/prod.txt': requirements/prod.txt does not exist")
    assert "relative to the folder of the file that names it" in message
    assert not (tmp_path / "out").exists()


def test_cycles_and_requirements_that_are_no_wheel_from_an_index_are_refused(builder, tmp_path):
    source = app(
        tmp_path / "shop", **{"requirements.txt": "-r more.txt\n", "more.txt": "six==1.17.0\n-r requirements.txt\n"}
    )
    with pytest.raises(
        builder.BuildError, match=r"include each other: requirements\.txt -> more\.txt -> requirements\.txt"
    ):
        builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    for line, what in [
        ("-e .", "an editable install"),
        (".", "a local path"),
        ("shop @ git+https://example.org/shop.git", "a VCS checkout"),
        ("-r ../outside.txt", "outside the source"),
        ("--use-feature=truststore", "option --use-feature is not supported"),
    ]:
        (tmp_path / "outside.txt").write_text("six\n")
        (source / "requirements.txt").write_text(f"six==1.17.0\n{line}\n")
        with pytest.raises(builder.BuildError, match=what):
            builder.build(source, "1.0.0", tmp_path / "out", log=quiet)


def test_a_source_without_requirements_is_refused(builder, tmp_path):
    source = app(tmp_path / "shop")
    with pytest.raises(builder.BuildError) as refused:
        builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    assert "no requirements: add requirements.txt (every package pinned), or pyproject.toml with uv.lock" in str(
        refused.value
    )
    (source / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1"\ndependencies = ["six"]\n')
    with pytest.raises(
        builder.BuildError, match=r"pyproject\.toml has no lock next to it: run `uv lock` or `poetry lock`"
    ):
        builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    proc = run_builder("--source", source, "--version", "1.0.0", "--output", tmp_path / "out")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")


def test_requirements_that_apply_to_no_target_python_are_refused(builder, tmp_path):
    source = app(tmp_path / "shop", **{"requirements.txt": "pywin32==311 ; sys_platform == 'win32'\n"})
    with pytest.raises(builder.BuildError, match=r"none of the 1 requirements of requirements\.txt applies"):
        builder.build(source, "1.0.0", tmp_path / "out", log=quiet)


def test_an_artifact_with_no_wheels_from_an_older_builder_is_not_unchanged(builder, tmp_path, monkeypatch):
    """An older builder ignored `-r` and built "0 wheels": the same inputs must not pass as unchanged."""
    monkeypatch.setattr(builder, "tree_sha256", lambda files: "same-tree")
    source = app(tmp_path / "shop", **{"requirements.txt": "# nothing yet\n"})
    builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    (source / "requirements.txt").write_text("six==1.17.0\n")
    with pytest.raises(builder.Refused, match=r"exists with no wheels although requirements\.txt names packages"):
        builder.build(source, "1.0.0", tmp_path / "out", log=quiet)


# Locks ---------------------------------------------------------------------------------------------


def test_a_uv_project_installs_its_lock_and_itself(builder, tmp_path):
    """The main dependencies' packages of uv.lock (no dev group, no extra), with their markers; the
    project is a package (a build-system): built as a wheel and installed from the artifact."""
    source = locked_app(tmp_path, "uv-shop")
    (source / "requirements.txt").write_text("django==5.2.19\n")  # not used: the lock wins
    result = builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    assert pins(result.artifact) == [
        "asgiref==3.13.0",
        "idna==3.20",
        "shop==0.3.0",
        'typing-extensions==4.16.0 ; python_full_version < "3.12"',
    ]
    assert "shop-0.3.0-py3-none-any.whl" in wheels(result.artifact)
    manifest = json.loads(read(result.artifact, "manifest.json"))
    assert manifest["requirements_source"] == {"kind": "uv.lock", "files": ["uv.lock", "pyproject.toml"]}
    assert manifest["project"] == {"name": "shop", "wheel": "shop-0.3.0-py3-none-any.whl"}

    # Installed the way a host does: a fresh venv, the artifact's wheels only, no pip configuration.
    release = tmp_path / "release"
    with tarfile.open(result.artifact) as tar:
        tar.extractall(release, filter="data")
    venv = [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")]
    subprocess.run(venv, check=True, timeout=120, env=clean_env())
    python = str(tmp_path / "venv" / "bin" / "python")
    install = [sys.executable, "-m", "pip", "--isolated", "--python", python, "install", "--no-index", "-q"]
    install += ["--disable-pip-version-check"]
    install += ["--find-links", "wheels", "-r", "src/.djangoops-requirements.txt"]
    proc = subprocess.run(
        install, cwd=release, capture_output=True, text=True, check=False, timeout=300, env=clean_env()
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    code = "import shop, asgiref, idna; print(shop.__file__)"
    proc = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60)
    assert "site-packages" in proc.stdout


def test_a_uv_project_that_is_no_package_installs_its_lock_only(builder, tmp_path):
    source = locked_app(tmp_path, "uv-shop")
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.uv]\npackage = false\n")
    requirements = builder.find_requirements(source, None, quiet)
    assert requirements.project is None
    assert [pin.name for pin in requirements.pins] == ["asgiref", "idna", "typing-extensions"]
    assert all(len(pin.hashes) == 2 for pin in requirements.pins)  # wheel and sdist: pip checks them


def test_a_poetry_project_installs_the_main_group(builder, tmp_path):
    """package-mode = false: no project wheel; dev group and the `compat` extra left out; six is needed
    on Python 3.11 only (through python-dateutil), so the hosts' file says so."""
    source = locked_app(tmp_path, "poetry-shop")
    result = builder.build(source, "1.0.0", tmp_path / "out", log=quiet)
    assert pins(result.artifact) == [
        "asgiref==3.13.0",
        "idna==3.20",
        'python-dateutil==2.9.0.post0 ; python_version == "3.11"',
        'six==1.17.0 ; python_version == "3.11"',
    ]
    assert json.loads(read(result.artifact, "manifest.json"))["project"] is None


def test_a_poetry_1_lock_is_walked_from_the_main_dependencies(builder, tmp_path):
    """lock-version 2.0 has no groups or markers per package: the graph from pyproject.toml decides."""
    source = locked_app(tmp_path, "poetry-shop")
    lock = source / "poetry.lock"
    lines = [
        line
        for line in lock.read_text().replace('lock-version = "2.1"', 'lock-version = "2.0"').splitlines()
        if not line.startswith(("groups = ", "markers = "))
    ]
    lock.write_text("\n".join(lines) + "\n")
    requirements = builder.find_requirements(source, None, quiet)
    assert [(pin.text, pin.marker) for pin in requirements.pins] == [
        ("asgiref==3.13.0", None),
        ("idna==3.20", None),
        ("python-dateutil==2.9.0.post0", 'python_full_version < "3.12"'),
        ("six==1.17.0", 'python_full_version < "3.12"'),
    ]


def test_a_stale_lock_and_packages_from_elsewhere_are_refused(builder, tmp_path):
    source = locked_app(tmp_path, "uv-shop")
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"idna>=3.10",', '"idna>=3.10",\n    "django>=5.2",'))
    with pytest.raises(builder.BuildError, match=r"uv\.lock is out of date: .* django are not in it; run `uv lock`"):
        builder.find_requirements(source, None, quiet)
    source = locked_app(tmp_path / "git", "uv-shop")
    lock = source / "uv.lock"
    lock.write_text(
        lock.read_text().replace(
            'name = "idna"\nversion = "3.20"\nsource = { registry = "https://pypi.org/simple" }',
            'name = "idna"\nversion = "3.20"\nsource = { git = "https://example.org/idna.git?rev=v3.20#0123abc" }',
        )
    )
    with pytest.raises(builder.BuildError, match=r"uv\.lock: idna comes from a git .* not from an index"):
        builder.find_requirements(source, None, quiet)
    (source / "poetry.lock").write_text("")
    with pytest.raises(builder.BuildError, match=r"both uv\.lock and poetry\.lock"):
        builder.find_requirements(source, None, quiet)


# The app's Python ----------------------------------------------------------------------------------


def test_a_requires_python_that_excludes_a_hosts_python_is_refused(builder, tmp_path):
    source = locked_app(tmp_path, "uv-shop")
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('requires-python = ">=3.11"', 'requires-python = ">=3.12"'))
    with pytest.raises(builder.BuildError) as refused:
        builder.build(source, "1.0.0", tmp_path / "out", pythons=["3.11", "3.13"], log=quiet)
    assert str(refused.value) == (
        'pyproject.toml: requires-python = ">=3.12" excludes Python 3.11 (Debian 12), which the hosts run: '
        "run the app hosts on Debian 13 (Python 3.13) and build for that Python (--python, deploy_pythons), "
        "or widen requires-python if the app runs on Python 3.11"
    )
    assert builder.build(source, "1.0.0", tmp_path / "out", pythons=["3.13"], dry_run=True).status == "would-build"

    poetry = locked_app(tmp_path, "poetry-shop")
    (poetry / "pyproject.toml").write_text((poetry / "pyproject.toml").read_text().replace('"^3.11"', '"^3.12"'))
    with pytest.raises(
        builder.BuildError, match=r'tool\.poetry\.dependencies\.python = "\^3\.12" excludes Python 3\.11'
    ):
        builder.build(poetry, "1.0.0", tmp_path / "out", pythons=["3.11"], log=quiet)


def test_a_pin_that_needs_another_python_is_refused_in_one_message(builder, tmp_path):
    source = app(tmp_path / "shop", **{"requirements/production.txt": "Django==6.0\nsix==1.17.0\n"})
    with pytest.raises(builder.BuildError) as refused:
        builder.build(
            source,
            "1.0.0",
            tmp_path / "out",
            pythons=["3.11", "3.13"],
            requirements_file="requirements/production.txt",
            log=quiet,
        )
    message = str(refused.value)
    assert message.startswith(
        "Django==6.0 needs Python >=3.12; the hosts' Python is 3.11 (Debian 12): "
        "pin Django<6.0 in requirements/production.txt (Django 5.2."
    )
    assert message.endswith("or run the app hosts on Debian 13 (Python 3.13) and build for that Python")
    assert "\n" not in message
    assert "WARNING" not in message


def test_a_requirement_without_a_wheel_is_named(builder, tmp_path):
    source = app(tmp_path / "shop", **{"requirements.txt": "psycopg2==2.9.10\n"})
    with pytest.raises(builder.BuildError) as refused:
        builder.build(source, "1.0.0", tmp_path / "out", pythons=["3.13"], log=quiet)
    assert str(refused.value).startswith("psycopg2==2.9.10: no wheel for CPython 3.13 on manylinux2014_x86_64")
    assert "only its source psycopg2-2.9.10.tar.gz: name an image of the hosts' Debian release" in str(refused.value)


# Units -----------------------------------------------------------------------------------------------


def test_the_hosts_file_says_which_python_needs_which_version(builder):
    requirements = builder.Requirements("requirements", ["requirements.txt"], [], [], [], [], False, None, "")
    requirements.pins = [
        builder.parse_pin("psycopg[binary]==3.3.9", "requirements.txt:1"),
        builder.parse_pin("tomli==2.0.1; python_version < '3.12'", "requirements.txt:2"),
    ]
    resolved = {
        "3.11": {"psycopg": "3.3.9", "psycopg-binary": "3.3.9", "tomli": "2.0.1", "numpy": "2.2.6"},
        "3.13": {"psycopg": "3.3.9", "psycopg-binary": "3.3.9", "numpy": "2.3.5"},
    }
    assert builder.flat_requirements(requirements, resolved) == [
        'numpy==2.2.6 ; python_version == "3.11"',
        'numpy==2.3.5 ; python_version == "3.13"',
        "psycopg[binary]==3.3.9",
        "psycopg-binary==3.3.9",
        'tomli==2.0.1 ; python_version < "3.12"',
    ]


@pytest.mark.parametrize(
    ("constraint", "specifiers"),
    [
        ("^3.11", [">=3.11,<4"]),
        ("~3.12", [">=3.12,<3.13"]),
        (">= 3.11, < 3.14", [">=3.11,<3.14"]),
        ("^0.2.3 || 3.11", [">=0.2.3,<0.3", "==3.11.*"]),
        ("*", [""]),
    ],
)
def test_poetry_constraints(builder, constraint, specifiers):
    assert builder.poetry_specifiers(constraint) == specifiers
