"""tools/role_docs.py: the README's role variables agree with the roles, and a drift is caught."""

import importlib.util
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

TOOL = ROOT / "tools" / "role_docs.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("djangoops_role_docs", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


role_docs = load_tool()

SPEC = """\
---
argument_specs:
  main:
    short_description: A demo service with a C(port).
    options:
      demo_port:
        type: int
        default: 8000
        description:
          - The port | the service listens on, C(8000) by default.
          - A second paragraph that the table leaves out.
      demo_token:
        type: str
        default: hunter2
        no_log: true
        description: A secret.
      demo_name:
        type: str
        required: true
        description: I(demo_name) names it.
      demo_users:
        type: list
        elements: dict
        default: []
        description: Users.
        options:
          name:
            type: str
            required: true
            description: User name.
          mode:
            type: str
            default: "no"
            choices: ["no", "yes"]
            description: Mode.
  stop:
    short_description: Stop it.
    options:
      demo_port:
        type: int
        default: 8000
        description: The port.
"""


@pytest.fixture
def demo(tmp_path):
    """A roles directory with one role, and a README holding an empty marker pair."""
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(SPEC)
    (role / "defaults" / "main.yml").write_text("---\ndemo_port: 8000\ndemo_token: hunter2\ndemo_users: []\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"# demo\n\n## Role variables\n\n{role_docs.BEGIN}\n{role_docs.END}\n")
    return tmp_path


def run(demo, *args):
    return role_docs.main([*args, "--roles", str(demo / "roles")])


def test_the_readme_of_this_checkout_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--check", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_write_then_check(demo):
    readme = demo / "README.md"
    assert run(demo, "--check", str(readme)) == 1
    assert run(demo, "--write", str(readme)) == 0
    assert run(demo, "--check", str(readme)) == 0
    text = readme.read_text()
    assert text.startswith("# demo\n\n## Role variables\n\n")
    assert text.endswith(f"{role_docs.END}\n")
    assert "### `djangoops.stack.demo`\n\nA demo service with a `port`." in text
    assert "| `demo_port` | int | `8000` |  | The port \\| the service listens on, `8000` by default. |" in text
    assert "second paragraph" not in text
    assert "| `demo_name` | str | **required** |  | `demo_name` names it. |" in text
    assert '| `demo_users[].mode` | str | `"no"` | `"no"`, `"yes"` | Mode. |' in text
    assert "Entry point `stop` (`tasks_from: stop`): Stop it." in text


def test_a_secret_default_is_not_shown(demo):
    run(demo, "--write", str(demo / "README.md"))
    text = (demo / "README.md").read_text()
    assert "hunter2" not in text
    assert "| `demo_token` | str | secret, not shown |" in text


def test_a_changed_default_is_caught_naming_the_role_and_the_command(demo, capsys):
    readme = demo / "README.md"
    run(demo, "--write", str(readme))
    defaults = demo / "roles" / "demo" / "defaults" / "main.yml"
    defaults.write_text(defaults.read_text().replace("8000", "9000"))
    capsys.readouterr()

    assert run(demo, "--check", str(readme)) == 1
    err = capsys.readouterr().err
    assert "role demo: differs" in err
    assert "Run: tools/role_docs.py --write README.md" in err

    assert run(demo, "--write", str(readme)) == 0
    assert "| `demo_port` | int | `9000` |" in readme.read_text()
    assert run(demo, "--check", str(readme)) == 0


def test_a_readme_without_the_markers_is_refused(demo, capsys):
    readme = demo / "README.md"
    readme.write_text("# demo\n")
    assert run(demo, "--check", str(readme)) == 1
    assert run(demo, "--write", str(readme)) == 1
    assert role_docs.BEGIN in capsys.readouterr().err
    assert readme.read_text() == "# demo\n"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", '""'),
        ("8.0", '"8.0"'),
        ("{{ name }}", '"{{ name }}"'),
        ("/srv/{{ name }}", "/srv/{{ name }}"),
        ([], "[]"),
        (["127.0.0.1", "-::1"], "[127.0.0.1, '-::1']"),
        (False, "false"),
        (5, "5"),
    ],
)
def test_values_read_as_yaml(value, shown):
    assert role_docs.value_text(value) == shown


def test_long_values_are_shortened():
    shown = role_docs.shorten("x" * 100)
    assert len(shown) == role_docs.VALUE_LIMIT
    assert shown.endswith("…")


def test_markup_becomes_markdown_safe_in_a_table():
    text = textwrap.dedent("""\
        C(a|b) and I(opt), B(bold), U(https://example.invalid), L(docs,https://example.invalid/d),
        <tag> and 2 * 3""")
    assert role_docs.markdown(" ".join(text.split())) == (
        "`a\\|b` and `opt`, **bold**, <https://example.invalid>, [docs](https://example.invalid/d), "
        "&lt;tag&gt; and 2 \\* 3"
    )
