"""The pure parts of plugins/module_utils/django_migrate.py: how a migration's markers set its stage,
and how a PostgreSQL error's SQLSTATE is found. No database and no Django project: every rule run
against PostgreSQL is in tests/django_migrate (make migrate-tests)."""

import enum
import importlib.util
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from tests.conftest import ROOT


def load_logic():
    path = ROOT / "plugins" / "module_utils" / "django_migrate.py"
    spec = importlib.util.spec_from_file_location("djangoops_django_migrate_logic", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


logic = load_logic()


class SyzygyStage(enum.Enum):
    """Like django-syzygy's Stage."""

    PRE_DEPLOY = "pre_deploy"
    POST_DEPLOY = "post_deploy"


@dataclass
class SafeWhen:
    """Like django-safemigrate 5's Safe.after_deploy(): a value with a `when`."""

    when: str


class Safe:
    """Like django-safemigrate's Safe, whose markers may be left uncalled."""

    @classmethod
    def after_deploy(cls):
        return SafeWhen("after_deploy")


def migration(operations=(), **markers):
    return SimpleNamespace(app_label="shop", name="0002_change", operations=list(operations), **markers)


@pytest.mark.parametrize(
    ("value", "token"),
    [
        (SyzygyStage.POST_DEPLOY, "post_deploy"),
        (SafeWhen("after_deploy"), "after_deploy"),
        (Safe.after_deploy, "after_deploy"),
        ("Safe.After-Deploy", "after_deploy"),
        (None, None),
        (True, None),
    ],
)
def test_marker_token_normalises_what_each_library_gives(value, token):
    assert logic.marker_token(value) == token


@pytest.mark.parametrize(
    ("markers", "expected"),
    [
        ({"post_deploy": True}, (logic.Stage.POST, "post_deploy = True")),
        ({"stage": SyzygyStage.POST_DEPLOY}, (logic.Stage.POST, "stage = post_deploy")),
        ({"safe": Safe.after_deploy()}, (logic.Stage.POST, "safe = after_deploy")),
        ({"safe": False}, (logic.Stage.POST, "safe = False")),
        ({"stage": SyzygyStage.PRE_DEPLOY}, (logic.Stage.PRE, "stage = pre_deploy")),
        ({"post_deploy": False, "safe": Safe.after_deploy}, (logic.Stage.POST, "safe = after_deploy")),
        ({}, (None, None)),
    ],
)
def test_marker_stage_reads_the_markers_by_name_and_value(markers, expected):
    assert logic.marker_stage(migration(**markers)) == expected


def test_an_operation_marked_post_deploy_makes_its_migration_post():
    operation = type("RunSQL", (), {"stage": SyzygyStage.POST_DEPLOY})()
    assert logic.marker_stage(migration([operation])) == (logic.Stage.POST, "RunSQL.stage = post_deploy")


def test_the_stages_override_setting_applies_by_migration_or_app():
    assert logic.marker_stage(migration(), {"shop.0002_change": "post_deploy"})[0] is logic.Stage.POST
    assert logic.marker_stage(migration(), {"shop": "post_deploy"})[0] is logic.Stage.POST
    assert logic.marker_stage(migration(), {"other": "post_deploy"}) == (None, None)


def test_sqlstate_follows_the_causes_of_an_error():
    class PgError(Exception):
        sqlstate = "55P03"

    error = RuntimeError("migration failed")
    error.__cause__ = PgError("canceling statement due to lock timeout")
    assert logic.sqlstate(error) == "55P03"
    assert logic.sqlstate(ValueError("no database here")) is None


def test_retries_wait_twice_as_long_each_time():
    policy = logic.RetryPolicy(delay=2.0)
    assert [policy.pause(attempt) for attempt in range(3)] == [2.0, 4.0, 8.0]


PROJECT_APPS = {"contenttypes", "auth", "admin", "sessions", "accounts"}


@pytest.mark.parametrize(
    ("recorded", "first"),
    [
        ([], True),  # django_migrations absent or empty
        ([("legacy_app", "0001_initial"), ("other", "0003_x")], True),  # rows of apps not in the project
        ([("contenttypes", "0001_initial")], False),  # some apps migrated: planned as usual
        ([("accounts", "0001_initial"), ("legacy_app", "0001_initial")], False),
    ],
)
def test_a_first_install_is_a_database_with_no_migration_of_the_project(recorded, first):
    assert logic.is_first_install(recorded, PROJECT_APPS) is first


def test_a_project_without_migrations_has_no_first_install():
    assert logic.is_first_install([], set()) is False
