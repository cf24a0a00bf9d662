"""The preflight's backup check (roles/deploy/vars/main.yml, used by tasks/migrate.yml): which
post-deploy migrations drop data, and how old the last backup in pgBackRest's info is."""

import json

from tests.unit.roles.role_templates import render, role_variables

VARS = role_variables("deploy")
NOW = 1_800_000_000.0
CHECK = {
    "databases": {
        "default": {
            "plan": {
                "pre": ["shop.0003_product_stock"],
                "post": [{"migration": "shop.0004_remove_product_legacy_code", "reason": "drops a column"}],
            }
        },
        "reports": {"plan": {"pre": [], "post": []}},
    }
}


def info(*stops):
    """pgBackRest's `info --output=json` for one stanza whose backups finished at these times."""
    backups = [{"label": f"b{i}", "timestamp": {"start": stop - 60, "stop": stop}} for i, stop in enumerate(stops)]
    return json.dumps([{"name": "db1", "backup": backups}])


def value(name, **variables):
    context = {
        **VARS,
        "__deploy_now": str(NOW),
        "deploy_migrate_phase": "check",
        "__deploy_migrations_check": CHECK,
        "deploy_backup_max_age_hours": 48,
        "deploy_restore_point_host": "db1",
        "ansible_check_mode": False,
        **variables,
    }
    return render("{{ " + name + " }}", context)


def test_the_post_phase_migrations_are_the_destructive_ones():
    assert value("__deploy_destructive") == ["shop.0004_remove_product_legacy_code"]
    assert value("__deploy_backup_check") is True


def test_nothing_to_check_without_post_migrations_or_when_switched_off():
    nothing = {"databases": {"default": {"plan": {"pre": ["a.0002"], "post": []}}, "x": {"first_install": True}}}
    assert value("__deploy_destructive", __deploy_migrations_check=nothing) == []
    assert value("__deploy_backup_check", __deploy_migrations_check=nothing) is False
    assert value("__deploy_backup_check", deploy_backup_max_age_hours=0) is False
    assert value("__deploy_backup_check", deploy_restore_point_host="") is False
    assert value("__deploy_destructive", deploy_migrate_phase="pre") == []


def test_the_age_is_that_of_the_newest_backup():
    result = {"rc": 0, "stdout": info(NOW - 10 * 3600, NOW - 3 * 3600, NOW - 30 * 3600)}
    assert value("__deploy_backup_age_hours", __deploy_backup_info=result) == 3.0
    assert value("__deploy_stanza", __deploy_backup_info=result) == "db1"


def test_no_backup_or_no_answer_is_never_young_enough():
    for result in ({"rc": 0, "stdout": info()}, {"rc": 1, "stdout": "", "stderr": "pgbackrest: not found"}):
        assert float(value("__deploy_last_backup", __deploy_backup_info=result)) == 0
        assert float(value("__deploy_backup_age_hours", __deploy_backup_info=result)) > 48
