"""No name is both a host-level variable (register, set_fact) and a task's or block's `vars:`.

A registered result or a set_fact outranks a task's `vars:` for the rest of the play, even a
result registered by a skipped task: a task that computes a helper under `vars:` then silently reads
the host's value instead. (django_app's release read once named its helper as another file's
register did; the read found no release on a first install.)
"""

import yaml

from tests.conftest import ROOT

SOURCES = sorted(
    [
        *ROOT.glob("playbooks/*.yml"),
        *ROOT.glob("roles/*/tasks/*.yml"),
        *ROOT.glob("roles/*/handlers/*.yml"),
    ]
)
SET_FACT = ("set_fact", "ansible.builtin.set_fact", "ansible.legacy.set_fact")
NESTED = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers")


def names(node, source, host_level, task_level):
    if isinstance(node, list):
        for item in node:
            names(item, source, host_level, task_level)
    elif isinstance(node, dict):
        if isinstance(node.get("register"), str):
            host_level.setdefault(node["register"], set()).add(source)
        for key in SET_FACT:
            if isinstance(node.get(key), dict):
                for name in node[key]:
                    host_level.setdefault(name, set()).add(source)
        if isinstance(node.get("vars"), dict) and "hosts" not in node:
            for name in node["vars"]:
                task_level.setdefault(name, set()).add(source)
        for key in NESTED:
            if key in node:
                names(node[key], source, host_level, task_level)


def test_the_parser_finds_both_kinds():
    host_level, task_level = {}, {}
    for path in SOURCES:
        names(yaml.safe_load(path.read_text()), str(path.relative_to(ROOT)), host_level, task_level)
    assert "django_app_live" in host_level
    assert "django_app_version" in task_level


def test_no_host_level_variable_is_also_a_task_variable():
    host_level, task_level = {}, {}
    for path in SOURCES:
        names(yaml.safe_load(path.read_text()), str(path.relative_to(ROOT)), host_level, task_level)
    shadowed = {
        name: {"registered or set in": sorted(host_level[name]), "task vars in": sorted(task_level[name])}
        for name in sorted(set(host_level) & set(task_level))
    }
    assert shadowed == {}, f"a register/set_fact outranks these tasks' vars: {shadowed}"
