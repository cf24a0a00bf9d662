"""Env files as systemd reads them (plugins/module_utils/systemd_env.py): what the role writes reads
back exactly (newlines, quotes, non-ASCII text), what systemd would drop is refused when written,
and the copy of the reader in <root>/bin/manage (roles/django_app/templates/manage.j2) agrees with
this one. systemd itself is the judge in the web scenario (gunicorn's environment, systemd-run)."""

import random
import re
import sys

import pytest

from plugins.module_utils.systemd_env import assignment, parse
from tests.conftest import ROOT

TRICKY = [
    "plain",
    "",
    "two  spaces and a trailing one ",
    'a "quoted" word',
    "back\\slash \\n not a newline",
    "$HOME and `date` stay as they are",
    "Café Zürich, 東京",
    "-----BEGIN PRIVATE KEY-----\nMIIB\nxyz==\n-----END PRIVATE KEY-----\n",
    "ends with a backslash\\",
    "tab\there",
    "# not a comment",
    "'single quotes'",
]


def manage_parse_env():
    """parse_env as <root>/bin/manage has it (the function's source, cut from the template)."""
    text = (ROOT / "roles" / "django_app" / "templates" / "manage.j2").read_text()
    source = re.search(r"^def parse_env\(text\):\n.*?(?=^def )", text, re.S | re.M).group(0)
    namespace = {"NAME": re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z"), "ENV_FILE": "env", "sys": sys}
    exec(source, namespace)  # noqa: S102 - our own template's code
    return namespace["parse_env"]


@pytest.mark.parametrize("value", TRICKY)
def test_what_is_written_reads_back_exactly(value):
    text = "# written by the role\n" + assignment("VALUE", value) + "\n" + assignment("NEXT", "after") + "\n"
    assert parse(text) == ({"VALUE": value, "NEXT": "after"}, [])
    assert manage_parse_env()(text) == {"VALUE": value, "NEXT": "after"}


def test_what_systemd_would_drop_is_refused_naming_it():
    with pytest.raises(ValueError, match="BAD-NAME"):
        assignment("BAD-NAME", "x")
    with pytest.raises(ValueError, match=r"TOKEN: .*U\+000D"):
        assignment("TOKEN", "carriage\rreturn")
    assert parse('GOOD=1\nBAD="a\x01b"\n') == ({"GOOD": "1"}, ["BAD"])


def test_both_readers_agree_on_hand_written_files():
    probe = (
        '# comment\nA="x y" \nB=\'single \\n\' \nC="a\\"b\\\\c\\$d\\`e\\nf"\nD=  plain  value  \n'
        'E=one\\\ntwo\n  F = "x"\'y\'z\nG="\\u00e9"\nH=\n1BAD=x\nI="$HOME"\nexport J=1\n; K=2\n'
    )
    env, ignored = parse(probe)
    assert env == manage_parse_env()(probe)
    assert env["A"] == "x y"
    assert env["E"] == "onetwo"
    assert env["G"] == "\\u00e9"
    assert set(ignored) == {"1BAD", "export J"}
    chars = ['"', "'", "\\", "\n", " ", "=", "#", "A", "b", "é", "$", "\t"]
    rng = random.Random(1)  # noqa: S311 - a fixed seed for repeatable test input
    reader = manage_parse_env()
    for _ in range(500):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(1, 40)))
        assert parse(text)[0] == reader(text), repr(text)
