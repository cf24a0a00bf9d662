"""django_app's manage wrapper (templates/manage.j2): the env file read as systemd reads it, the release
and overrides from the command line, and a real run in which no secret reaches the command line.

The web scenario compares the wrapper with systemd itself on a host (test_web.py)."""

import json
import os
import stat
import subprocess
import sys
import types

import jinja2
import pytest
from ansible.plugins.filter.core import comment, to_json

from tests.conftest import ROOT

TEMPLATE = ROOT / "roles/django_app/templates/manage.j2"


def render(root):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)  # noqa: S701 - renders a Python file
    env.filters.update(comment=comment, to_json=to_json)
    return env.from_string(TEMPLATE.read_text()).render(
        ansible_managed="Ansible managed",
        django_app_root=str(root),
        django_app_user="example",
        __django_app_manage=f"{root}/bin/manage",
        __django_app_env_file=f"{root}/shared/env",
        __django_app_current=f"{root}/current",
    )


@pytest.fixture(scope="module")
def wrapper(tmp_path_factory):
    module = types.ModuleType("manage")
    exec(compile(render(tmp_path_factory.mktemp("root")), str(TEMPLATE), "exec"), module.__dict__)  # noqa: S102
    return module


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('A="x y"\n', {"A": "x y"}, id="double-quoted"),
        pytest.param('A="a\\"b\\\\c\\`d\\$e"\n', {"A": 'a"b\\c`d$e'}, id="double-quote-escapes"),
        pytest.param('A="line\\nnext \\u00e9"\n', {"A": "line\\nnext \\u00e9"}, id="json-escapes-stay"),
        pytest.param('A="$HOME `id`"\n', {"A": "$HOME `id`"}, id="no-expansion"),
        pytest.param("A='a \"b\" \\n'\n", {"A": 'a "b" \\n'}, id="single-quoted"),
        pytest.param("A=  plain value  \n", {"A": "plain value"}, id="unquoted-trimmed"),
        pytest.param("A=one\\\ntwo\n", {"A": "onetwo"}, id="continuation"),
        pytest.param('A="x" \'y\'z "w"\n', {"A": 'xyz "w"'}, id="concatenated"),
        pytest.param("  A  =1\nB=\nC", {"A": "1", "B": ""}, id="key-spaces-empty-and-no-equals"),
        pytest.param("# A=1\n; B=2\nC=3 # not a comment\n", {"C": "3 # not a comment"}, id="comments"),
        pytest.param("A=1\nA=2\n", {"A": "2"}, id="last-wins"),
        pytest.param('A="no newline at the end', {"A": "no newline at the end"}, id="unterminated"),
        pytest.param("A=x\r\nB=y", {"A": "x", "B": "y"}, id="crlf"),
        pytest.param("1A=x\nA-B=y\nC=\x01\nD=ok\n", {"D": "ok"}, id="invalid-dropped"),
    ],
)
def test_env_file_parsed_as_systemd_does(wrapper, text, expected):
    assert wrapper.parse_env(text) == expected


def test_env_file_not_utf8_is_an_error(wrapper):
    with pytest.raises(ValueError, match="not UTF-8"):
        wrapper.parse_env(b'A="\xff"\n'.decode("utf-8", "surrogateescape"))


def test_env_file_written_by_env_j2_reads_back(wrapper):
    """env.j2 writes NAME=<JSON string>; every printable value without a backslash comes back as it was."""
    values = {"DATABASE_URL": "postgis://app:p@ss w'o\"rd$x`@db:5432/app", "EMPTY": "", "HASH": "a#b;c"}
    text = "#\n# Ansible managed\n#\n" + "".join(f"{k}={json.dumps(v)}\n" for k, v in values.items())
    assert wrapper.parse_env(text) == values


def test_arguments(wrapper):
    release, overrides, command = wrapper.parse_args(["migrate", "--noinput"])
    assert release.endswith("/current")
    assert (overrides, command) == ({}, ["migrate", "--noinput"])
    release, overrides, command = wrapper.parse_args(
        ["--release", "1.0.0", "--set=STATIC_ROOT=/x=y", "--", "--version"]
    )
    assert release.endswith("/releases/1.0.0")
    assert (overrides, command) == ({"STATIC_ROOT": "/x=y"}, ["--version"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([], "no management command", id="no-command"),
        pytest.param(["--release", "../etc", "check"], "a release version", id="release-path"),
        pytest.param(["--release"], "--release needs a value", id="release-no-value"),
        pytest.param(["--set", "STATIC ROOT=x", "check"], "NAME=VALUE", id="set-bad-name"),
        pytest.param(["--settings=x", "check"], "unknown option --settings=x", id="unknown-option"),
    ],
)
def test_bad_arguments_are_refused(wrapper, args, message):
    with pytest.raises(wrapper.UsageError, match=message):
        wrapper.parse_args(args)


def test_runs_manage_py_with_the_env_file_and_no_secret_on_its_command_line(tmp_path):
    """A real run: the release's python gets the file's environment, the override, and argv without secrets."""
    root = tmp_path / "srv"
    src = root / "releases/1.0.0/src"
    (root / "releases/1.0.0/venv/bin").mkdir(parents=True)
    (root / "releases/1.0.0/venv/bin/python").symlink_to(sys.executable)
    src.mkdir()
    (src / "manage.py").write_text(
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv, 'cwd': os.getcwd(), 'env': dict(os.environ),"
        " 'cmdline': open('/proc/self/cmdline').read()}))\n"
    )
    (root / "shared").mkdir()
    (root / "shared/env").write_text('SECRET="s3cr3t $1"\nSTATIC_ROOT="/srv/current/static"\n')
    (root / "current").symlink_to(root / "releases/1.0.0")
    manage = root / "bin/manage"
    manage.parent.mkdir()
    manage.write_text(render(root))
    manage.chmod(manage.stat().st_mode | stat.S_IXUSR)
    out = subprocess.run(
        [manage, "--set", "STATIC_ROOT=/release/static", "collectstatic", "--noinput"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "SECRET": "from the caller"},
    )
    seen = json.loads(out.stdout)
    assert seen["env"]["SECRET"] == "s3cr3t $1"  # noqa: S105 - a test value
    assert seen["env"]["STATIC_ROOT"] == "/release/static"
    assert seen["argv"] == [str(root / "current/src/manage.py"), "collectstatic", "--noinput"]
    assert seen["cwd"] == str(src)  # current resolved, as for gunicorn
    assert "s3cr3t" not in seen["cmdline"]


def test_a_missing_release_is_named(tmp_path):
    manage = tmp_path / "manage"
    manage.write_text(render(tmp_path))
    result = subprocess.run([sys.executable, manage, "--release", "9.9", "check"], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{tmp_path}/releases/9.9/src/manage.py does not exist" in result.stderr
