"""tools/build_release.py on small sources (no requirement, so no network): layout, idempotence, refusal."""

import json
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from .conftest import BUILDER


@pytest.fixture
def source(tmp_path):
    """A small app source with the kinds of files a release must leave out."""
    root = tmp_path / "shop"
    (root / "shop" / "__pycache__").mkdir(parents=True)
    (root / "requirements.txt").write_text("# nothing to install\n")
    (root / "manage.py").write_text("print('manage')\n")
    (root / "manage.py").chmod(0o755)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "views.py").write_text("VIEW = 1\n")
    (root / "shop" / "__pycache__" / "views.cpython-311.pyc").write_bytes(b"\0")
    (root / "shop" / "old.pyc").write_bytes(b"\0")
    (root / ".env").write_text("DJANGO_SECRET_KEY=do-not-ship\n")
    (root / "VERSION").write_text("0.0.0-stale\n")
    (root / "staticfiles").mkdir()
    (root / "staticfiles" / "app.css").write_text("body {}\n")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").write_text("")
    return root


def members(artifact):
    with tarfile.open(artifact) as tar:
        return {member.name: member for member in tar.getmembers()}


def read_member(artifact, name):
    with tarfile.open(artifact) as tar:
        return tar.extractfile(name).read()


def test_layout_and_manifest(builder, source, tmp_path):
    result = builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None)
    assert result.status == "built"
    assert result.artifact == tmp_path / "out" / "shop-1.0.0.tar.gz"
    found = members(result.artifact)
    assert sorted(name for name, m in found.items() if m.isfile()) == [
        "manifest.json",
        "src/.djangoops-requirements.txt",
        "src/VERSION",
        "src/manage.py",
        "src/requirements.txt",
        "src/shop/__init__.py",
        "src/shop/views.py",
    ]
    assert found["src/manage.py"].mode == 0o755
    assert found["src/shop/views.py"].mode == 0o644
    assert found["wheels"].isdir()
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" for m in found.values())
    assert read_member(result.artifact, "src/VERSION") == b"1.0.0\n"
    manifest = json.loads(read_member(result.artifact, "manifest.json"))
    assert manifest["app"] == "shop"
    assert manifest["version"] == "1.0.0"
    assert manifest["pythons"] == ["3.11", "3.13"]
    assert manifest["wheels"] == {}
    assert manifest["requirements"] == []
    assert manifest["requirements_source"] == {"kind": "requirements", "files": ["requirements.txt"]}
    assert manifest["project"] is None
    flat = read_member(result.artifact, "src/.djangoops-requirements.txt").decode()
    assert "pip install --no-index --find-links wheels -r src/.djangoops-requirements.txt" in flat
    assert manifest["source"]["files"] == 4
    assert manifest["source"]["git_commit"] is None  # tmp_path is outside any checkout
    assert manifest["built_at"].endswith("Z")


def test_second_build_is_unchanged_and_touches_nothing(builder, source, tmp_path):
    first = builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None)
    stat = first.artifact.stat()
    (source / "shop" / "__pycache__" / "other.pyc").write_bytes(b"\1")  # excluded files do not count
    second = builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None)
    assert second.status == "unchanged"
    assert second.sha256 == first.sha256
    assert first.artifact.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["shop-1.0.0.tar.gz"]  # no leftovers


def test_other_source_for_an_existing_version_is_refused_unless_forced(builder, source, tmp_path):
    first = builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None)
    (source / "shop" / "views.py").write_text("VIEW = 2\n")
    with pytest.raises(builder.Refused, match="different source"):
        builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None)
    with pytest.raises(builder.Refused):
        builder.build(source, "1.0.0", tmp_path / "out", dry_run=True, log=lambda message: None)
    assert builder.sha256_file(first.artifact) == first.sha256
    assert builder.build(source, "1.0.1", tmp_path / "out", dry_run=True).status == "would-build"
    forced = builder.build(source, "1.0.0", tmp_path / "out", force=True, log=lambda message: None)
    assert forced.status == "rebuilt"
    assert read_member(forced.artifact, "src/shop/views.py") == b"VIEW = 2\n"
    assert builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None).status == "unchanged"


def test_other_pythons_for_an_existing_version_are_refused(builder, source, tmp_path):
    builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None)
    with pytest.raises(builder.Refused, match="different pythons"):
        builder.build(source, "1.0.0", tmp_path / "out", pythons=["3.11"], log=lambda message: None)


def test_same_inputs_and_source_date_epoch_give_identical_bytes(builder, source, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    one = builder.build(source, "1.0.0", tmp_path / "one", log=lambda message: None)
    two = builder.build(source, "1.0.0", tmp_path / "two", log=lambda message: None)
    assert one.sha256 == two.sha256
    assert json.loads(read_member(one.artifact, "manifest.json"))["built_at"] == "2023-11-14T22:13:20Z"
    assert {m.mtime for m in members(one.artifact).values()} == {1700000000}


@pytest.mark.parametrize("version", ["../1.0", "1.0/2", "", "-1", "1 0", "1..2"])
def test_bad_versions(builder, source, tmp_path, version):
    with pytest.raises(builder.UsageError, match="version"):
        builder.build(source, version, tmp_path / "out")


def test_bad_inputs(builder, source, tmp_path):
    with pytest.raises(builder.UsageError, match="Python version"):
        builder.build(source, "1.0.0", tmp_path / "out", pythons=["3"])
    with pytest.raises(builder.UsageError, match="no such directory"):
        builder.build(tmp_path / "missing", "1.0.0", tmp_path / "out")
    (source / "requirements.txt").unlink()
    with pytest.raises(builder.BuildError, match=r"no requirements: add requirements\.txt"):
        builder.build(source, "1.0.0", tmp_path / "out")


def test_symbolic_links_are_refused(builder, source, tmp_path):
    (source / "shop" / "link.py").symlink_to(source / "shop" / "views.py")
    with pytest.raises(builder.BuildError, match="symbolic links"):
        builder.build(source, "1.0.0", tmp_path / "out")


def test_cli_exit_codes_and_json(source, tmp_path):
    def run(*args):
        command = [sys.executable, str(BUILDER), "--source", str(source), "--output", str(tmp_path / "out"), *args]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)

    built = run("--version", "2.0.0", "--json")
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)
    assert (result["status"], result["changed"], result["wheels"]) == ("built", True, 0)
    assert result["artifact"].endswith("shop-2.0.0.tar.gz")
    unchanged = run("--version", "2.0.0")
    assert unchanged.returncode == 0
    assert unchanged.stdout.splitlines() == [f"unchanged: {result['artifact']}", f"sha256: {result['sha256']}"]
    (source / "manage.py").write_text("print('changed')\n")
    refused = run("--version", "2.0.0")
    assert refused.returncode == 3
    assert "refused:" in refused.stderr
    assert "--force" in refused.stderr
    assert run("--version", "../2").returncode == 2
    assert run("--version", "2.0.0", "--force", "--json").returncode == 0


@pytest.mark.parametrize(
    ("filename", "py311", "py313"),
    [
        ("django-5.2.19-py3-none-any.whl", True, True),
        ("six-1.17.0-py2.py3-none-any.whl", True, True),
        ("psycopg_binary-3.3.9-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", True, False),
        ("psycopg_binary-3.3.9-cp313-cp313-manylinux_2_28_x86_64.whl", False, True),
        ("wcwidth-0.9.4-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", True, True),
        ("future-1.0-cp314-abi3-manylinux_2_28_x86_64.whl", False, False),
        ("newglibc-1.0-cp313-cp313-manylinux_2_34_x86_64.whl", False, False),
        ("musl-1.0-cp313-cp313-musllinux_1_2_x86_64.whl", False, False),
        ("arm-1.0-cp313-cp313-manylinux_2_28_aarch64.whl", False, False),
        ("win-1.0-cp313-cp313-win_amd64.whl", False, False),
        ("free-1.0-cp313-cp313t-manylinux_2_28_x86_64.whl", False, False),
    ],
)
def test_wheel_tags(builder, filename, py311, py313):
    tags = builder.parse_wheel_filename(filename)
    assert builder.wheel_supports(tags, "3.11") is py311
    assert builder.wheel_supports(tags, "3.13") is py313


def test_requirement_names(builder):
    assert builder.requirement_name("psycopg[binary]==3.3.9") == "psycopg"
    assert builder.requirement_name("Django==5.2.19") == "django"
    assert builder.requirement_name("typing_extensions==4.16.0") == "typing-extensions"
    assert builder.requirement_name('tomli==2.0; python_version < "3.11"') is None


def test_git_commit_is_recorded_inside_a_checkout(builder, source, tmp_path):
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "initial"]):
        subprocess.run([*git, *args], check=True, env=env, capture_output=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    result = builder.build(source, "1.0.0", tmp_path / "out", log=lambda message: None)
    manifest = json.loads(read_member(result.artifact, "manifest.json"))
    assert manifest["source"]["git_commit"] == head
    assert manifest["source"]["git_dirty"] is False


def make_wheel(folder, name, version, requires=()):
    """A minimal pure-Python wheel whose METADATA declares ``requires``."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {line}\n" for line in requires)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", metadata)
    return path


def test_dependencies_behind_markers_of_other_pythons_are_caught(builder, tmp_path):
    """pip evaluates markers with the controller's Python: the builder re-checks them for every target."""
    needy = make_wheel(
        tmp_path, "needy", "1.0", ["helper>=4.0.3; python_full_version < '3.11.3'", "win; sys_platform == 'win32'"]
    )
    with pytest.raises(builder.BuildError, match=r"needy 1\.0 needs helper>=4\.0\.3.* on Python 3\.11: no wheel"):
        builder.check_dependencies([needy], ["3.11", "3.13"], builder.DEFAULT_PLATFORMS)
    builder.check_dependencies([needy], ["3.13"], builder.DEFAULT_PLATFORMS)  # not needed there, nor on Windows
    helper = make_wheel(tmp_path, "helper", "5.0.1")
    builder.check_dependencies([needy, helper], ["3.11", "3.13"], builder.DEFAULT_PLATFORMS)
    old = make_wheel(tmp_path, "helper", "4.0.0")
    with pytest.raises(builder.BuildError, match=r"found 4\.0\.0"):
        builder.check_dependencies([needy, old], ["3.11"], builder.DEFAULT_PLATFORMS)


def test_dependencies_only_of_extras_are_not_required(builder, tmp_path):
    wheel = make_wheel(tmp_path, "lib", "1.0", ["extra-dep; extra == 'fast'", "newer; python_version >= '3.13'"])
    builder.check_dependencies([wheel], ["3.11"], builder.DEFAULT_PLATFORMS)
    with pytest.raises(builder.BuildError, match="needs newer"):
        builder.check_dependencies([wheel], ["3.13"], builder.DEFAULT_PLATFORMS)
