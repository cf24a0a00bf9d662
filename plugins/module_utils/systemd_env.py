# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""Environment files as systemd's EnvironmentFile= reads them: a writer and a reader.

The django_app role writes the app's env file with assignment() (through the filter
djangoops.stack.systemd_env_assignment); gunicorn and Celery get it from systemd, the migration module
reads it with parse(), and <root>/bin/manage (a script on the host, roles/django_app/templates/manage.j2)
carries a copy of parse() that tests/unit/plugins/module_utils/test_systemd_env.py keeps equal.
"""

from __future__ import annotations

import re

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ESCAPED = '"\\`$'


def assignment(name: str, value: str) -> str:
    """NAME="value" that systemd reads back as exactly value: in double quotes, " \\ ` $ escaped,
    newlines and any other character as they are. Raises ValueError for what systemd would ignore
    (an invalid name, a control character other than tab and newline)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
    bad = sorted({f"U+{ord(c):04X}" for c in value if (ord(c) < 32 and c not in "\t\n") or ord(c) == 127})
    if bad:
        raise ValueError(f"{name}: the value holds control characters systemd would refuse ({', '.join(bad)})")
    quoted = "".join("\\" + c if c in ESCAPED else c for c in value)
    return f'{name}="{quoted}"'


def parse(text: str) -> tuple[dict[str, str], list[str]]:
    """NAME -> value as systemd's EnvironmentFile= reads text (src/basic/env-file.c, systemd 252-257).

    Quotes, backslashes, comments and continuation lines as systemd treats them; in double quotes a
    backslash escapes only " \\ ` $ and a newline (other backslashes stay). Assignments systemd
    ignores (an invalid name, control characters in the value) are left out and named in the second
    item; text that is not UTF-8 is an error, as for systemd. -> (env, ignored names).
    """
    whitespace, newline, comments, escaped = " \t\n\r", "\n\r", "#;", '"\\`$'
    pairs = []
    state, key, value = "pre_key", [], []
    key_ws = value_ws = None  # where trailing whitespace of the key / unquoted value starts

    def push():
        pairs.append(("".join(key if key_ws is None else key[:key_ws]), "".join(value)))

    for c in text:
        if state == "pre_key":
            if c in comments:
                state = "comment"
            elif c not in whitespace:
                state, key, value, key_ws = "key", [c], [], None
        elif state == "key":
            if c in newline:
                state = "pre_key"
            elif c == "=":
                state, value_ws = "pre_value", None
            else:
                if c not in whitespace:
                    key_ws = None
                elif key_ws is None:
                    key_ws = len(key)
                key.append(c)
        elif state == "pre_value":
            if c in newline:
                state = "pre_key"
                push()
            elif c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c == "\\":
                state = "value_escape"
            elif c not in whitespace:
                state = "value"
                value.append(c)
        elif state == "value":
            if c in newline:
                state = "pre_key"
                if value_ws is not None:
                    del value[value_ws:]
                push()
            elif c == "\\":
                state, value_ws = "value_escape", None
            else:
                if c not in whitespace:
                    value_ws = None
                elif value_ws is None:
                    value_ws = len(value)
                value.append(c)
        elif state == "value_escape":
            state = "value"
            if c not in newline:
                value.append(c)
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value.append(c)
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value.append(c)
        elif state == "double_escape":
            state = "double"
            if c in escaped:
                value.append(c)
            elif c != "\n":
                value.extend(("\\", c))
        elif state == "comment":
            if c in newline:
                state = "pre_key"
    if state in ("pre_value", "value", "value_escape", "single", "double", "double_escape"):
        if state == "value" and value_ws is not None:
            del value[value_ws:]
        push()

    env, ignored = {}, []
    for name, val in pairs:
        if any("\udc80" <= ch <= "\udcff" for ch in name + val):
            raise ValueError(f"{name!r}: not UTF-8")
        if not NAME.fullmatch(name) or any((ord(ch) < 32 and ch not in "\t\n") or ord(ch) == 127 for ch in val):
            ignored.append(name)
            continue
        env[name] = val
    return env, ignored
