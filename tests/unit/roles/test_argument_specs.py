"""Every role documents its inputs in meta/argument_specs.yml, and the spec agrees with defaults/."""

import pytest
import yaml

from tests.conftest import ROLES, ROOT


def load(role, path):
    with (ROOT / "roles" / role / path).open() as stream:
        return yaml.safe_load(stream) or {}


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_specified_with_the_same_value(role):
    defaults = load(role, "defaults/main.yml")
    options = load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    optional = sorted(name for name, spec in options.items() if not spec.get("required"))
    assert sorted(defaults) == optional, "defaults/main.yml and the spec's optional variables differ"
    for name, value in defaults.items():
        spec = options[name]
        assert "default" in spec, f"{name} has a default in defaults/main.yml but none in the spec"
        assert spec["default"] == value, f"{name}: spec default {spec['default']!r} != defaults/main.yml {value!r}"


@pytest.mark.parametrize("role", ROLES)
def test_required_options_have_no_default(role):
    options = load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, spec in options.items():
        if spec.get("required"):
            assert "default" not in spec, f"{name} is required and has a default"


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described_and_prefixed(role):
    options = load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, spec in options.items():
        assert name.startswith(f"{role}_"), f"{name} lacks the role prefix {role}_"
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("type"), f"{name} has no type"
