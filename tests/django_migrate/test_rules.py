"""Every rule of django_migrate against a real PostgreSQL, with the module run as Ansible runs it.

Each test migrates its own fresh database to the "old release" with Django's own migrate command
(the baseline), then runs the module for the new release.
"""

import pytest

from plugins.module_utils.systemd_env import assignment

from .helpers import columns, nullable, run_module


def labels(entries):
    return [e["migration"] if isinstance(e, dict) else e for e in entries]


def test_additive_migrations_run_in_pre(cases):
    apps = ["additive"]
    cases.baseline(apps, "additive:0001_initial")
    cases.sql("INSERT INTO additive_book (title) VALUES ('old row')")

    run = cases.run(apps, "pre")

    assert not run.failed, run.result
    assert run.result["changed"] is True
    assert run.db()["applied"] == ["additive.0002_grow", "additive.0003_fill"]
    assert run.db()["deferred"] == []
    snap = cases.snap()
    assert {"subtitle", "pages"} <= columns(snap, "additive_book")
    assert "additive_author" in snap["tables"]
    assert snap["comments"]["additive_book"] == "books"  # the unmarked RunSQL ran in pre
    assert cases.sql("SELECT subtitle, pages FROM additive_book") == [("(none)", 0)]  # and the RunPython
    # The old code's INSERT, which names neither new column, still works: pages has a database default.
    cases.sql("INSERT INTO additive_book (title) VALUES ('old code, after pre')")

    again = cases.run(apps, "pre")
    assert not again.failed
    assert again.result["changed"] is False
    assert again.db()["applied"] == []


def test_state_only_removals_are_pre_and_a_marked_runsql_drop_is_post(cases):
    apps = ["stateonly"]
    cases.baseline(apps, "stateonly:0001_initial")

    pre = cases.run(apps, "pre")

    assert not pre.failed, pre.result
    assert pre.db()["applied"] == ["stateonly.0002_forget_old_a", "stateonly.0003_forget_old_b"]
    assert labels(pre.db()["deferred"]) == ["stateonly.0004_drop_old_b"]
    assert "post_deploy = True" in pre.db()["deferred"][0]["reason"]
    assert {"old_a", "old_b"} <= columns(cases.snap(), "stateonly_thing")  # state only: columns stay

    post = cases.run(apps, "post")

    assert not post.failed, post.result
    assert post.db()["applied"] == ["stateonly.0004_drop_old_b"]
    assert columns(cases.snap(), "stateonly_thing") == {"id", "name", "old_a"}
    assert cases.run(apps, "post").result["changed"] is False


def test_destructive_migrations_are_deferred_relaxed_in_pre_and_dropped_in_post(cases):
    apps = ["destructive"]
    cases.baseline(apps, "destructive:0001_initial")
    cases.sql("INSERT INTO destructive_gadget (name, legacy) VALUES ('old', 'kept by old code')")

    pre = cases.run(apps, "pre")

    assert not pre.failed, pre.result
    assert pre.db()["applied"] == []
    deferred = {d["migration"]: d["reason"] for d in pre.db()["deferred"]}
    assert list(deferred) == [
        "destructive.0002_remove_legacy_delete_obsolete",
        "destructive.0003_remove_notes_tags",
        "destructive.0004_gadget_color",
    ]
    assert "drops table destructive_obsolete" in deferred["destructive.0002_remove_legacy_delete_obsolete"]
    assert "drops column destructive_gadget.legacy" in deferred["destructive.0002_remove_legacy_delete_obsolete"]
    assert "drops table destructive_gadget_tags" in deferred["destructive.0003_remove_notes_tags"]
    assert "drops column destructive_gadget.notes" in deferred["destructive.0003_remove_notes_tags"]
    assert deferred["destructive.0004_gadget_color"] == "depends on post-deploy destructive.0003_remove_notes_tags"
    # Only the NOT NULL column without a default is relaxed; notes was nullable already.
    assert pre.db()["relaxed"] == [
        {
            "migration": "destructive.0002_remove_legacy_delete_obsolete",
            "operation": "RemoveField gadget.legacy",
            "table": "destructive_gadget",
            "column": "legacy",
        }
    ]
    assert pre.result["changed"] is True
    snap = cases.snap()
    assert nullable(snap, "destructive_gadget", "legacy")
    assert "destructive_obsolete" in snap["tables"]
    # The new code inserts without legacy while the column still exists; the old code still reads it.
    cases.sql("INSERT INTO destructive_gadget (name) VALUES ('new code')")
    assert cases.sql("SELECT legacy FROM destructive_gadget ORDER BY id") == [("kept by old code",), (None,)]

    again = cases.run(apps, "pre")
    assert again.result["changed"] is False
    assert again.db()["relaxed"] == []

    post = cases.run(apps, "post")

    assert not post.failed, post.result
    assert post.db()["applied"] == list(deferred)
    assert post.db()["deferred"] == []
    snap = cases.snap()
    assert columns(snap, "destructive_gadget") == {"id", "name", "color"}
    assert "destructive_obsolete" not in snap["tables"]
    assert "destructive_gadget_tags" not in snap["tables"]
    assert cases.run(apps, "post").result["changed"] is False


def test_the_three_marker_styles_and_a_dependent_of_post(cases, tmp_path):
    apps = ["markers"]
    cases.baseline(apps, "markers:0001_initial")
    # This test passes the database settings through env_file instead of environment, written as the
    # django_app role writes the release's env file (which systemd reads).
    env_file = tmp_path / "release.env"
    env_file.write_text(
        "# the release's environment file\n" + "".join(f"{assignment(k, v)}\n" for k, v in cases.env(apps).items())
    )
    args = cases.args(apps, "pre")
    args.pop("environment")
    args["env_file"] = str(env_file)

    pre = run_module(tmp_path, args)

    assert not pre.failed, pre.result
    assert sorted(pre.db()["applied"]) == [  # in Django's plan order, which is not by name
        "markers.0004_syzygy_pre",
        "markers.0007_safemigrate5_before",
        "markers.0008_safemigrate4_always",
        "markers.0009_unmarked",
    ]
    deferred = {d["migration"]: d["reason"] for d in pre.db()["deferred"]}
    assert deferred == {
        "markers.0002_flag_post": "marked post_deploy = True",
        "markers.0003_syzygy_post": "marked stage = post_deploy",
        "markers.0005_safemigrate5_after": "marked safe = after_deploy",
        "markers.0006_safemigrate4_after": "marked safe = after_deploy",
        "markers.0010_merge": "depends on post-deploy markers.0002_flag_post; "
        "depends on post-deploy markers.0003_syzygy_post; depends on post-deploy markers.0005_safemigrate5_after; "
        "depends on post-deploy markers.0006_safemigrate4_after",
    }
    assert columns(cases.snap(), "markers_item") == {"id", "name", "c", "f", "g", "h"}

    args["phase"] = "post"
    post = run_module(tmp_path, args)

    assert not post.failed, post.result
    assert sorted(post.db()["applied"]) == [
        "markers.0002_flag_post",
        "markers.0003_syzygy_post",
        "markers.0005_safemigrate5_after",
        "markers.0006_safemigrate4_after",
        "markers.0010_merge",
    ]
    assert columns(cases.snap(), "markers_item") == {"id", "name", *"abcdefgh"}


REFUSALS = [
    # app, check id, migration, operation, words of the fix
    ("ref_not_null", "DM001", "ref_not_null.0002_book_isbn", "AddField book.isbn", "db_default"),
    (
        "ref_rename_column",
        "DM002",
        "ref_rename_column.0002_rename_title_heading",
        "RenameField book.title -> heading",
        "db_column='title'",
    ),
    (
        "ref_rename_table",
        "DM003",
        "ref_rename_table.0002_rename_book_volume",
        "RenameModel Book -> Volume",
        "db_table = 'ref_rename_table_book'",
    ),
    ("ref_set_not_null", "DM004", "ref_set_not_null.0002_isbn_not_null", "AlterField book.isbn", "post_deploy = True"),
    ("ref_missing", "DM006", None, "app ref_missing: AddField book.subtitle", "makemigrations ref_missing"),
]


@pytest.mark.parametrize(("app", "check", "migration", "operation", "fix"), REFUSALS, ids=[r[0] for r in REFUSALS])
@pytest.mark.parametrize("phase", ["pre", "check"])
def test_refusals_name_migration_operation_and_fix_and_change_nothing(
    cases, app, check, migration, operation, fix, phase
):
    apps = ["additive", app]
    cases.baseline(apps, "additive:0001_initial", f"{app}:0001_initial")
    before = cases.snap()

    run = cases.run(apps, phase)

    assert run.failed
    refused = run.result["refused"]
    assert [r["id"] for r in refused] == [check], refused
    assert refused[0]["migration"] == migration
    assert refused[0]["operation"] == operation
    assert fix in refused[0]["fix"]
    for words in (check, operation, fix, migration or app):
        assert words in run.result["msg"]
    assert run.result["changed"] is False
    # additive.0002 was safe and pending, yet nothing at all was applied.
    assert cases.snap() == before
    print(f"\n{phase}: {run.result['msg']}")


def test_conflicting_leaves_are_refused_naming_both(cases):
    apps = ["additive", "ref_conflict"]  # migrate refuses conflicts too: the database stays empty
    run = cases.run(apps, "pre")

    assert run.failed
    assert [r["id"] for r in run.result["refused"]] == ["DM005"]
    refusal = run.result["refused"][0]
    assert refusal["migration"] == "ref_conflict.0002_book_a, ref_conflict.0002_book_b"
    assert "0002_book_a and 0002_book_b" in refusal["reason"]
    assert "makemigrations --merge ref_conflict" in refusal["fix"]
    assert cases.snap()["tables"] == {}


def test_a_first_install_is_not_refused(cases):
    """On an empty database the tables are created by the same run: no old code can be using them."""
    apps = ["ref_not_null", "ref_rename_column", "ref_rename_table", "ref_set_not_null"]
    run = cases.run(apps, "pre")

    assert not run.failed, run.result
    assert len(run.db()["applied"]) == 8
    assert {"ref_rename_table_volume", "ref_rename_column_book"} <= set(cases.snap()["tables"])


def test_each_database_gets_only_its_routed_migrations(cases):
    warehouse = cases.add_warehouse()
    apps = ["additive", "warehouse"]

    run = cases.run(apps, "pre", databases=["default", "warehouse"])

    assert not run.failed, run.result
    default, wh = run.db("default"), run.db("warehouse")
    print(f"\ndefault applied {default['applied']}, recorded {default['recorded']}")
    print(f"warehouse applied {wh['applied']}, recorded {wh['recorded']}")
    assert default["applied"] == ["additive.0001_initial", "additive.0002_grow", "additive.0003_fill"]
    assert default["recorded"] == ["warehouse.0001_initial", "warehouse.0002_playrecord_duration"]
    assert wh["applied"] == ["warehouse.0001_initial", "warehouse.0002_playrecord_duration"]
    assert wh["recorded"] == ["additive.0001_initial", "additive.0002_grow", "additive.0003_fill"]
    default_tables = set(cases.snap()["tables"])
    warehouse_tables = set(cases.snap(warehouse)["tables"])
    assert {"additive_book", "additive_author"} <= default_tables
    assert "warehouse_playrecord" not in default_tables
    assert warehouse_tables == {"warehouse_playrecord", "django_migrations"}
    assert cases.run(apps, "pre", databases=["default", "warehouse"]).result["changed"] is False


def test_a_refusal_in_one_database_changes_no_other(cases):
    warehouse = cases.add_warehouse()
    apps = ["ref_not_null", "warehouse"]
    cases.baseline(apps, "ref_not_null:0001_initial")
    before = cases.snap(), cases.snap(warehouse)

    run = cases.run(apps, "pre", databases=["warehouse", "default"])

    assert run.failed
    assert [(r["id"], r["database"]) for r in run.result["refused"]] == [("DM001", "default")]
    assert (cases.snap(), cases.snap(warehouse)) == before
    assert before[1]["tables"] == {}


def test_check_mode_and_check_phase_change_nothing(cases):
    apps = ["additive", "destructive"]
    cases.baseline(apps, "additive:0001_initial", "destructive:0001_initial")
    before = cases.snap()

    predicted = cases.run(apps, "pre", check_mode=True)

    assert not predicted.failed, predicted.result
    assert predicted.result["changed"] is True  # what a real run would do
    assert predicted.db()["applied"] == ["additive.0002_grow", "additive.0003_fill"]
    assert [r["column"] for r in predicted.db()["relaxed"]] == ["legacy"]
    assert cases.snap() == before

    planned = cases.run(apps, "check")

    assert not planned.failed, planned.result
    assert planned.result["changed"] is False
    assert planned.db()["applied"] == []
    assert planned.db()["plan"]["pre"] == ["additive.0002_grow", "additive.0003_fill"]
    assert labels(planned.db()["plan"]["post"]) == labels(planned.db()["deferred"])
    assert [r["column"] for r in planned.db()["plan"]["relax"]] == ["legacy"]
    assert cases.snap() == before

    post_predicted = cases.run(apps, "post", check_mode=True)
    assert post_predicted.result["changed"] is True
    assert len(post_predicted.db()["applied"]) == 5
    assert cases.snap() == before


def test_unknown_alias_and_missing_settings_fail_cleanly(cases):
    run = cases.run(["additive"], "pre", databases=["default", "nosuch"])
    assert run.failed
    assert "nosuch" in run.result["msg"]
    assert cases.snap()["tables"] == {}


def test_phase_all_applies_everything_with_the_pre_refusals(cases):
    apps = ["additive", "destructive"]
    cases.baseline(apps, "additive:0001_initial", "destructive:0001_initial")

    run = cases.run(apps, "all")

    assert not run.failed, run.result
    assert len(run.db()["applied"]) == 5
    assert run.db()["deferred"] == []
    assert run.db()["relaxed"] == []  # nothing to bridge: no old code runs during `all`
    assert columns(cases.snap(), "destructive_gadget") == {"id", "name", "color"}

    cases.baseline(["ref_rename_table"], "ref_rename_table:0001_initial")
    refused = cases.run(["ref_rename_table"], "all")
    assert refused.failed
    assert [r["id"] for r in refused.result["refused"]] == ["DM003"]
