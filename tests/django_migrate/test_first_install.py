"""A first install: a database that holds no migration of the project runs every migration in pre.

The user's case: Django's own apps and a custom user model into an empty database.
contenttypes.0002_remove_content_type_name drops a column, so normal planning defers it and
everything that depends on it (auth from 0006 on, the custom user model, admin) to the post phase:
the app hosts would serve with no user or admin-log table until the very end of the deploy. On a
first install no old code runs, so everything runs in pre and the post phase has nothing to do.
"""

from .helpers import PROJECTS, columns, manage, module_args, run_module, run_playbook, snapshot

V1, V2 = PROJECTS / "accounts_v1", PROJECTS / "accounts_v2"
SETTINGS = "accountsite.settings"
# What normal planning defers on an empty database (the bug): contenttypes.0002 and its dependents.
DEFERRED_BY_DROP = {
    "contenttypes.0002_remove_content_type_name",
    "auth.0006_require_contenttypes_0002",
    "auth.0012_alter_user_first_name_max_length",
    "accounts.0001_initial",
    "admin.0001_initial",
    "admin.0003_logentry_add_action_flag_choices",
}
# Applied (not only recorded) by the first install's pre phase: the migrations that create the tables.
# auth's migrations that only alter the swapped-out auth.User are recorded, as `migrate` does.
CREATING = {
    "contenttypes.0001_initial",
    "contenttypes.0002_remove_content_type_name",
    "auth.0001_initial",
    "accounts.0001_initial",
    "admin.0001_initial",
    "sessions.0001_initial",
}
TABLES = {"accounts_user", "auth_group", "auth_permission", "django_content_type", "django_session"}


def labels(entries):
    return [e["migration"] if isinstance(e, dict) else e for e in entries]


class Release:
    """One release of the accounts project against one test database."""

    def __init__(self, pg, dbname, tmp_path):
        self.pg, self.dbname, self.tmp_path = pg, dbname, tmp_path

    def run(self, project, phase, check_mode=False):
        args = module_args(project, SETTINGS, self.pg.env(self.dbname), phase=phase)
        return run_module(self.tmp_path, args, check_mode=check_mode)

    def python(self, project, code):
        """Code run by the release against the database (manage.py shell -c)."""
        return manage(project, self.pg.env(self.dbname), "shell", "--verbosity=0", "-c", code)

    def snap(self):
        return snapshot(self.pg, self.dbname)

    def all_migrations(self, project):
        """Every migration of the release, as manage.py showmigrations lists them."""
        out = manage(project, self.pg.env(self.dbname), "showmigrations", "--plan")
        return {line.split("]", 1)[1].strip() for line in out.splitlines() if "]" in line}


def test_a_first_install_runs_every_migration_in_pre_and_leaves_post_nothing(postgres, db, tmp_path):
    release = Release(postgres, db, tmp_path)
    everything = release.all_migrations(V1)
    assert DEFERRED_BY_DROP <= everything
    assert release.snap()["tables"] == {}

    planned = release.run(V1, "check")

    assert not planned.failed, planned.result
    assert planned.db()["first_install"] is True
    assert set(planned.db()["plan"]["pre"]) == everything
    assert planned.db()["plan"]["post"] == []
    assert planned.db()["deferred"] == []
    assert "first install" in planned.result["msg"]

    predicted = release.run(V1, "pre", check_mode=True)

    assert not predicted.failed, predicted.result
    assert predicted.result["changed"] is True
    assert predicted.db()["first_install"] is True
    assert set(predicted.db()["applied"]) | set(predicted.db()["recorded"]) == everything
    assert CREATING <= set(predicted.db()["applied"])
    assert predicted.db()["deferred"] == []
    assert "first install" in predicted.result["msg"]
    assert release.snap()["tables"] == {}

    pre = release.run(V1, "pre")

    assert not pre.failed, pre.result
    assert pre.result["changed"] is True
    assert pre.db()["first_install"] is True
    assert set(pre.db()["applied"]) | set(pre.db()["recorded"]) == everything
    assert len(pre.db()["applied"]) + len(pre.db()["recorded"]) == len(everything)
    assert CREATING <= set(pre.db()["applied"])
    assert pre.db()["applied"] == predicted.db()["applied"]
    assert pre.db()["deferred"] == []
    assert pre.db()["relaxed"] == []
    assert "first install" in pre.result["msg"]
    print(f"\nfirst install, pre: {pre.result['msg']}")
    # Before the first host serves: the user, session and admin tables, and the content types and
    # permissions that Django's post_migrate signal creates.
    snap = release.snap()
    assert TABLES | {"django_admin_log"} <= set(snap["tables"])
    assert "name" not in columns(snap, "django_content_type")  # contenttypes.0002 ran
    assert "nickname" in columns(snap, "accounts_user")
    assert set(snap["migrations"]) == everything
    with_release_code = release.python(
        V1,
        "from django.contrib.auth import get_user_model; from django.contrib.auth.models import Permission; "
        "get_user_model().objects.create_user('first', password='x'); "
        "print(Permission.objects.filter(codename='add_user').count())",
    )
    assert with_release_code.strip() == "1"

    post = release.run(V1, "post")

    assert not post.failed, post.result
    assert post.result["changed"] is False
    assert post.db()["first_install"] is False  # the database holds the project now
    assert post.db()["applied"] == post.db()["recorded"] == []
    assert release.snap()["migrations"] == snap["migrations"]


def test_the_next_release_on_that_database_is_planned_as_usual(postgres, db, tmp_path):
    release = Release(postgres, db, tmp_path)
    first = release.run(V1, "pre")
    assert not first.failed, first.result
    assert first.db()["first_install"] is True
    release.python(V1, "from accounts.models import User; User.objects.create_user('old', password='x')")

    pre = release.run(V2, "pre")

    assert not pre.failed, pre.result
    assert pre.db()["first_install"] is False
    assert "first install" not in pre.result["msg"]
    assert pre.db()["applied"] == ["accounts.0002_user_timezone"]
    assert pre.db()["deferred"] == [
        {
            "migration": "accounts.0003_remove_user_nickname",
            "reason": "RemoveField user.nickname drops column accounts_user.nickname",
        }
    ]
    assert [r["column"] for r in pre.db()["relaxed"]] == ["nickname"]
    assert "nickname" in columns(release.snap(), "accounts_user")

    post = release.run(V2, "post")

    assert not post.failed, post.result
    assert post.db()["applied"] == ["accounts.0003_remove_user_nickname"]
    assert "nickname" not in columns(release.snap(), "accounts_user")


def test_a_partly_migrated_database_is_not_a_first_install(postgres, db, tmp_path):
    release = Release(postgres, db, tmp_path)
    manage(V1, postgres.env(db), "migrate", "contenttypes", "0001_initial", "--verbosity=0")

    planned = release.run(V1, "check")

    assert not planned.failed, planned.result
    assert planned.db()["first_install"] is False
    assert "first install" not in planned.result["msg"]
    assert DEFERRED_BY_DROP <= set(labels(planned.db()["deferred"]))
    deferred = {d["migration"]: d["reason"] for d in planned.db()["deferred"]}
    assert "drops column django_content_type.name" in deferred["contenttypes.0002_remove_content_type_name"]

    pre = release.run(V1, "pre")

    assert not pre.failed, pre.result
    assert "contenttypes.0002_remove_content_type_name" not in pre.db()["applied"]
    assert "accounts_user" not in release.snap()["tables"]


def test_a_first_install_through_ansible_playbook(postgres, db, tmp_path):
    args = module_args(V1, SETTINGS, postgres.env(db), phase="pre")

    predicted = run_playbook(tmp_path, args, check=True)
    assert predicted.rc == 0, predicted.result
    assert predicted.db()["first_install"] is True
    assert snapshot(postgres, db)["tables"] == {}

    pre = run_playbook(tmp_path, args)
    assert pre.rc == 0, pre.result
    assert pre.db()["first_install"] is True
    assert pre.db()["deferred"] == []
    assert TABLES <= set(snapshot(postgres, db)["tables"])


def test_each_database_alias_decides_on_its_own(cases):
    """default holds the project already; warehouse is empty: a first install there only."""
    warehouse = cases.add_warehouse()
    apps = ["markers", "warehouse"]
    cases.baseline(apps, "markers:0001_initial")

    pre = cases.run(apps, "pre", databases=["default", "warehouse"])

    assert not pre.failed, pre.result
    default, wh = pre.db("default"), pre.db("warehouse")
    assert default["first_install"] is False
    assert wh["first_install"] is True
    assert "markers.0002_flag_post" in labels(default["deferred"])
    assert wh["deferred"] == []
    assert wh["applied"] == ["warehouse.0001_initial", "warehouse.0002_playrecord_duration"]
    assert "markers.0002_flag_post" in wh["recorded"]
    assert "warehouse: first install" in pre.result["msg"]
    assert "default: first install" not in pre.result["msg"]
    assert "markers.0002_flag_post" in cases.snap(warehouse)["migrations"]
    assert "markers.0002_flag_post" not in cases.snap()["migrations"]

    post = cases.run(apps, "post", databases=["default", "warehouse"])

    assert not post.failed, post.result
    assert "markers.0002_flag_post" in post.db("default")["applied"]
    assert post.db("warehouse")["applied"] == post.db("warehouse")["recorded"] == []
