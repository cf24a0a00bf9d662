"""inventories/test names the same hosts, in the same groups, as the rolling scenario's platforms
(the containers `make demo` and `molecule test -s rolling` create), so that playbooks run with
`-i inventories/test` reach exactly those containers."""

import yaml

from tests.conftest import ROOT


def groups_of_inventory() -> dict[str, set[str]]:
    data = yaml.safe_load((ROOT / "inventories" / "test" / "hosts.yml").read_text())
    children = data["all"]["children"]
    groups = {group: set((body or {}).get("hosts") or {}) for group, body in children.items()}
    # A group named without hosts (backup: none here, so the database keeps a local repository).
    return {group: hosts for group, hosts in groups.items() if hosts}


def groups_of_platforms() -> dict[str, set[str]]:
    platforms = yaml.safe_load((ROOT / "molecule" / "rolling" / "molecule.yml").read_text())["platforms"]
    groups: dict[str, set[str]] = {}
    for platform in platforms:
        for group in platform["groups"]:
            groups.setdefault(group, set()).add(platform["name"])
    return groups


def test_the_test_inventory_and_the_rolling_platforms_agree():
    assert groups_of_inventory() == groups_of_platforms()


def test_the_demo_url_is_the_port_the_lb_publishes():
    platforms = yaml.safe_load((ROOT / "molecule" / "rolling" / "molecule.yml").read_text())["platforms"]
    lb = next(p for p in platforms if "lb" in p["groups"])
    demo = (ROOT / "scripts" / "demo").read_text()
    outside = lb["published_ports"][0].split(":")[0]
    assert f"lb_port={outside}\n" in demo
