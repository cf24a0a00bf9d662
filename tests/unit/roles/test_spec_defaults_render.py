"""Every templated default in an argument spec renders wherever its entry point is called.

Ansible templates an option's spec default before the role's first task runs, even when the caller
gives the option a value, and a default that names an undefined variable fails there: outside any
block of the role's own (deploy's step runner could not record the failure, and a run once ended
with its lock held because of `deploy_target: "{{ deploy_version }}"` in the step entry point, which
rollback.yml calls without a deploy_version). So a name a templated default reads must be one the
role always has (its defaults/ and vars/, the entry point's own options that are required or have a
default, Ansible's magic variables), or be read through `| default(...)`.
"""

import jinja2
import jinja2.nodes
import pytest
import yaml

from tests.conftest import ROLES, ROOT

MAGIC = {
    "ansible_check_mode",
    "ansible_facts",
    "ansible_play_hosts",
    "group_names",
    "groups",
    "hostvars",
    "inventory_dir",
    "inventory_hostname",
    "lookup",
    "omit",
    "play_hosts",
    "query",
    "role_path",
}
ENV = jinja2.Environment()  # noqa: S701 (parsed only, never rendered to HTML)


def load(role, path):
    file = ROOT / "roles" / role / path
    return (yaml.safe_load(file.read_text()) or {}) if file.exists() else {}


def unguarded(template):
    """The names a template reads that are not the subject of a `default` filter or an `is defined`
    test, nor its own (set, for)."""
    found, guarded, local = set(), set(), set()

    def walk(node):
        if isinstance(node, jinja2.nodes.Test) and node.name == "defined" and isinstance(node.node, jinja2.nodes.Name):
            local.add(node.node.name)
        if isinstance(node, jinja2.nodes.Name) and node.ctx == "store":
            local.add(node.name)
        if isinstance(node, jinja2.nodes.Filter) and node.name == "default":
            subject = node.node
            while isinstance(subject, (jinja2.nodes.Getattr, jinja2.nodes.Getitem)):
                subject = subject.node
            if isinstance(subject, jinja2.nodes.Name):
                guarded.add(id(subject))
        if isinstance(node, jinja2.nodes.Name) and node.ctx == "load" and id(node) not in guarded:
            found.add(node.name)
        for child in node.iter_child_nodes():
            walk(child)

    walk(ENV.parse(template))
    return found - local


def templated_defaults():
    for role in ROLES:
        always = set(load(role, "defaults/main.yml")) | set(load(role, "vars/main.yml")) | MAGIC
        specs = load(role, "meta/argument_specs.yml").get("argument_specs", {})
        for entry, spec in specs.items():
            options = spec.get("options") or {}
            known = always | {name for name, option in options.items() if option.get("required") or "default" in option}
            for name, option in options.items():
                default = option.get("default")
                if isinstance(default, str) and "{{" in default:
                    yield pytest.param(default, known, id=f"{role}:{entry}:{name}")


def test_the_check_finds_an_unguarded_name():
    assert unguarded("{{ deploy_version }}") == {"deploy_version"}
    assert unguarded("{{ deploy_version | default('') }}") == set()
    assert unguarded("{{ groups['lb'] | default([]) | first }}") == set()
    assert unguarded("/srv/{{ a['b'].c | default('x') ~ d }}") == {"d"}
    assert unguarded("{{ ('/run/' ~ a) if a is defined else b }}") == {"b"}
    assert unguarded("{% set f = [] %}{% for x in y | default([]) %}{{ f.append(x) }}{% endfor %}{{ f }}") == set()


@pytest.mark.parametrize(("default", "known"), list(templated_defaults()))
def test_a_templated_default_reads_only_what_is_always_defined(default, known):
    missing = unguarded(default) - known
    assert not missing, f"{default!r} reads {sorted(missing)}, which can be undefined here: use | default(...)"
