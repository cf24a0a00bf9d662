"""The django_migrate module's message (plugins/modules/django_migrate.py): a first install says so
in plain words, per database alias. Running the module against PostgreSQL is tests/django_migrate."""

import importlib.util
import sys

from tests.conftest import ROOT


def load_module():
    sys.path.insert(0, str(ROOT / ".collections"))  # the module imports its module_utils from there
    path = ROOT / "plugins" / "modules" / "django_migrate.py"
    spec = importlib.util.spec_from_file_location("djangoops_django_migrate_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


django_migrate = load_module()


def alias(first_install, applied=(), deferred=()):
    return {
        "first_install": first_install,
        "applied": list(applied),
        "recorded": [],
        "deferred": list(deferred),
        "relaxed": [],
    }


def test_the_message_names_a_first_install_for_its_alias_only():
    message = django_migrate.summary(
        {
            "databases": {
                "default": alias(False, ["shop.0002_x"], [{"migration": "shop.0003_y"}]),
                "warehouse": alias(True, ["warehouse.0001_initial"]),
            }
        }
    )
    default, warehouse = message.split("; warehouse: ")
    assert default == "default: applied 1, recorded 0, deferred 1, relaxed 0"
    assert "first install" not in default
    assert warehouse.startswith("first install: the database held no migration of the project")
    assert warehouse.endswith("applied 1, recorded 0, deferred 0, relaxed 0")


def test_the_message_of_a_run_without_databases():
    assert django_migrate.summary({}) == "nothing to do"
