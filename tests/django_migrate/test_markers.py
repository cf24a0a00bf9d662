"""The marker rules, in-process: exactly which attributes and values mean post-deploy."""

import sys
from dataclasses import dataclass
from enum import Enum

import pytest

from .helpers import ROOT

sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.djangoops.stack.plugins.module_utils.django_migrate import (
    Stage,
    marker_stage,
    marker_token,
)
from django.db import migrations


class SyzygyStage(Enum):  # django-syzygy's syzygy.constants.Stage
    PRE_DEPLOY = "pre_deploy"
    POST_DEPLOY = "post_deployment"


class SafeEnum(Enum):  # django-safemigrate 2.x-4.x
    before_deploy = "before_deploy"
    after_deploy = "after_deploy"
    always = "always"


class When(Enum):  # django-safemigrate 5.x
    ALWAYS = "always"
    BEFORE_DEPLOY = "before_deploy"
    AFTER_DEPLOY = "after_deploy"


@dataclass
class Safe:
    when: When

    @classmethod
    def after_deploy(cls):
        return cls(When.AFTER_DEPLOY)

    @classmethod
    def before_deploy(cls):
        return cls(When.BEFORE_DEPLOY)

    @classmethod
    def always(cls):
        return cls(When.ALWAYS)


def migration(operations=(), **attributes):
    cls = type("Migration", (migrations.Migration,), dict(attributes))
    instance = cls("0002_test", "shop")
    instance.operations = list(operations)
    return instance


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"post_deploy": True}, Stage.POST),
        ({"post_deploy": False}, Stage.PRE),
        ({"stage": SyzygyStage.POST_DEPLOY}, Stage.POST),
        ({"stage": SyzygyStage.PRE_DEPLOY}, Stage.PRE),
        ({"stage": "post_deploy"}, Stage.POST),
        ({"stage": "Stage.POST_DEPLOY"}, Stage.POST),
        ({"safe": SafeEnum.after_deploy}, Stage.POST),
        ({"safe": SafeEnum.before_deploy}, Stage.PRE),
        ({"safe": SafeEnum.always}, Stage.PRE),
        ({"safe": Safe.after_deploy()}, Stage.POST),
        ({"safe": Safe.after_deploy}, Stage.POST),  # the classmethod, not called
        ({"safe": Safe.before_deploy()}, Stage.PRE),
        ({"safe": Safe.always()}, Stage.PRE),
        ({"safe": "after_deploy"}, Stage.POST),
        ({"safe": False}, Stage.POST),  # safemigrate 1.x
        ({"safe": True}, Stage.PRE),
        ({}, None),
        ({"stage": "something_else"}, None),
        # any post marker wins over a pre marker
        ({"post_deploy": True, "safe": Safe.before_deploy()}, Stage.POST),
        ({"stage": SyzygyStage.PRE_DEPLOY, "safe": Safe.after_deploy()}, Stage.POST),
    ],
)
def test_marker_styles(attributes, expected):
    stage, marker = marker_stage(migration(**attributes))
    assert stage == expected
    assert (marker is None) == (expected is None)


def test_syzygy_operation_stage_and_settings_override():
    operation = migrations.RunSQL("SELECT 1")
    operation.stage = SyzygyStage.POST_DEPLOY
    assert marker_stage(migration([operation]))[0] is Stage.POST
    assert marker_stage(migration(), {"shop.0002_test": SyzygyStage.POST_DEPLOY})[0] is Stage.POST
    assert marker_stage(migration(), {"shop": SyzygyStage.POST_DEPLOY})[0] is Stage.POST
    assert marker_stage(migration(), {"other": SyzygyStage.POST_DEPLOY})[0] is None


def test_marker_token_normalises():
    assert marker_token(SyzygyStage.POST_DEPLOY) == "post_deploy"
    assert marker_token(Safe.after_deploy()) == "after_deploy"
    assert marker_token(Safe.after_deploy) == "after_deploy"
    assert marker_token("Post-Deploy") == "post_deploy"
    assert marker_token(None) is None
    assert marker_token(True) is None
