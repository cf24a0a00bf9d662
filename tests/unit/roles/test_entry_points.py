"""Every role and every ``tasks_from`` entry point has argument specs that agree with its defaults.

The playbooks and the roles include this collection's roles by task file (``tasks_from``); Ansible
validates an included entry point's inputs only when meta/argument_specs.yml names it.
"""

import pytest
import yaml

from tests.conftest import ROLES, ROOT

COLLECTION = "djangoops.stack."
INCLUDES = {
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in ("include_role", "import_role")
}
SOURCES = sorted(
    [
        *ROOT.glob("playbooks/*.yml"),
        *ROOT.glob("roles/*/tasks/*.yml"),
        *ROOT.glob("roles/*/handlers/*.yml"),
    ]
)


def load(path):
    with path.open() as stream:
        return yaml.safe_load(stream) or {}


def specs(role):
    return load(ROOT / "roles" / role / "meta" / "argument_specs.yml").get("argument_specs") or {}


def role_includes(node):
    """(role, tasks_from) of every include_role/import_role of this collection with a tasks_from, at any depth."""
    if isinstance(node, list):
        for item in node:
            yield from role_includes(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in INCLUDES and isinstance(value, dict):
                name, entry = str(value.get("name", "")), value.get("tasks_from")
                if name.startswith(COLLECTION) and entry:
                    yield name.removeprefix(COLLECTION), str(entry).removesuffix(".yml")
            else:
                yield from role_includes(value)


def found_includes():
    found = set()
    for path in SOURCES:
        for role, entry in role_includes(load(path)):
            found.add((str(path.relative_to(ROOT)), role, entry))
    return sorted(found)


INCLUDED = found_includes()
ENTRY_POINTS = [(role, entry) for role in ROLES for entry in specs(role)]


def all_options(options, prefix=""):
    """(dotted name, spec) of every option, nested options after theirs."""
    for name, spec in (options or {}).items():
        spec = spec or {}
        yield f"{prefix}{name}", spec
        yield from all_options(spec.get("options") or spec.get("suboptions"), f"{prefix}{name}.")


def test_the_includes_are_found():
    assert INCLUDED, "no include_role of djangoops.stack.* with tasks_from found: is the parser broken?"
    assert {"main"} < {entry for _, entry in ENTRY_POINTS}, "only main entry points found"


@pytest.mark.parametrize(("source", "role", "entry"), INCLUDED, ids=[":".join(case) for case in INCLUDED])
def test_every_included_entry_point_has_a_spec(source, role, entry):
    assert role in ROLES, f"{source} includes djangoops.stack.{role}, which is no role of this collection"
    entries = sorted(specs(role))
    assert entry in entries, (
        f"{source} includes role {role} with tasks_from: {entry}, but roles/{role}/meta/argument_specs.yml "
        f"has no entry point {entry!r} (its inputs are never validated)"
    )


@pytest.mark.parametrize(("role", "entry"), ENTRY_POINTS, ids=[f"{role}:{entry}" for role, entry in ENTRY_POINTS])
def test_entry_point_defaults_agree_with_defaults_main(role, entry):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    for name, spec in all_options(specs(role)[entry].get("options")):
        if "default" in spec and name in defaults:
            assert spec["default"] == defaults[name], (
                f"role {role}, entry point {entry}, option {name}: spec default {spec['default']!r} "
                f"!= defaults/main.yml {defaults[name]!r}"
            )


@pytest.mark.parametrize(("role", "entry"), ENTRY_POINTS, ids=[f"{role}:{entry}" for role, entry in ENTRY_POINTS])
def test_entry_point_options_have_a_type_and_a_description(role, entry):
    spec = specs(role)[entry]
    assert spec.get("short_description"), f"role {role}, entry point {entry} has no short_description"
    for name, option in all_options(spec.get("options")):
        assert option.get("type"), f"role {role}, entry point {entry}, option {name} has no type"
        assert option.get("description"), f"role {role}, entry point {entry}, option {name} has no description"
