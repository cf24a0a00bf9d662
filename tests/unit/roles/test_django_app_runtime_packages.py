"""django_app installs the Debian packages the release's compiled wheels link to (vars/main.yml's
__django_app_runtime_packages, from the artifact's manifest.json as release.yml's venv task prints
it), for the host's Python only."""

import json

import pytest

from tests.unit.roles.role_templates import render, role_variables

# The role's vars are templates Ansible trusts (they come from the role's own files).
VARS = role_variables("django_app")


def runtime_packages(manifest: dict, python: tuple[int, int] | None) -> list[str]:
    variables = {
        **VARS,
        "django_app_root": "/srv/shop",
        "__django_app_venv_linked": {
            "stdout_lines": ["reused venv 0123456789abcdef0123", f"DJANGOOPS-MANIFEST {json.dumps(manifest)}"]
        },
        "ansible_facts": {"python": {"version": {"major": python[0], "minor": python[1]}}} if python else {},
    }
    return render("{{ __django_app_runtime_packages }}", variables)


BUILT = {
    "built_wheels": {
        "psycopg_c-3.3.9-cp311-cp311-linux_x86_64.whl": {"python": "3.11", "runtime_packages": ["libpq5"]},
        "lxml-6.0.0-cp311-cp311-linux_x86_64.whl": {"python": "3.11", "runtime_packages": ["libxml2", "libpq5"]},
        "psycopg_c-3.3.9-cp313-cp313-linux_x86_64.whl": {"python": "3.13", "runtime_packages": ["libpq5t64"]},
    }
}


@pytest.mark.parametrize(
    ("python", "expected"),
    [
        pytest.param((3, 11), ["libpq5", "libxml2"], id="debian12"),
        pytest.param((3, 13), ["libpq5t64"], id="debian13"),
        pytest.param((3, 12), [], id="no-wheel-built-for-this-python"),
        pytest.param(None, ["libpq5", "libpq5t64", "libxml2"], id="no-facts-every-python"),
    ],
)
def test_the_hosts_python_picks_its_packages(python, expected):
    assert runtime_packages(BUILT, python) == expected


def test_a_release_with_no_compiled_wheel_needs_nothing():
    assert runtime_packages({"wheels": {}}, (3, 11)) == []
    assert runtime_packages({"built_wheels": {}}, (3, 11)) == []
    assert runtime_packages({"built_wheels": {"x.whl": {"python": "3.11"}}}, (3, 11)) == []
