"""django_app reads a host once per run (main.yml: one sha256sum of system.yml's marker, the files it
writes and the release's `.installed` mark); vars/main.yml turns the lines into what the tasks
decide on. Rendered here with Ansible's templar against sha256sum's own output format."""

import base64
import hashlib

from tests.conftest import ROOT
from tests.unit.roles import role_templates

VARS = role_templates.role_variables("django_app")
DEFAULTS = role_templates.role_variables("django_app", "defaults/main.yml")
ARTIFACT = "a" * 64
OTHER = "b" * 64
MARK = "/srv/shop/releases/2.0.0/.installed"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def render(expression: str, lines: list[str], marker: str | None = None):
    variables = {
        **DEFAULTS,
        **VARS,
        "django_app_name": "shop",
        "django_app_root": "/srv/shop",
        "django_app_version": "2.0.0",
        "__django_app_artifact_stat": {"stat": {"exists": True, "checksum": ARTIFACT}},
        "__django_app_host_read": {"stdout_lines": lines},
    }
    if marker is not None:
        variables["__django_app_marker"] = {"content": base64.b64encode(marker.encode()).decode()}
    return role_templates.render(expression, variables)


def state(lines, marker=None):
    return render(
        "{{ [__django_app_release_installed | bool, __django_app_other_bytes | bool, __django_app_installed_sha256] }}",
        lines,
        marker,
    )


def test_no_mark_is_not_installed():
    assert state([f"{sha('x')}  /srv/shop/shared/env"]) == [False, False, ""]


def test_the_mark_this_artifact_writes_is_installed_from_the_same_bytes():
    assert state([f"{sha(f'2.0.0{chr(10)}sha256:{ARTIFACT}{chr(10)}')}  {MARK}"]) == [True, False, ARTIFACT]


def test_another_artifacts_mark_is_read_whole_and_names_its_bytes():
    line = f"{sha(f'2.0.0{chr(10)}sha256:{OTHER}{chr(10)}')}  {MARK}"
    assert state([line], marker=f"2.0.0\nsha256:{OTHER}\n") == [True, True, OTHER]


def test_an_old_mark_without_a_hash_counts_as_installed():
    assert state([f"{sha('2.0.0' + chr(10))}  {MARK}"], marker="2.0.0\n") == [True, False, ""]


def test_another_releases_mark_is_not_this_ones():
    assert state([f"{sha('x')}  /srv/shop/releases/1.0.0/.installed"]) == [False, False, ""]


def test_the_system_marker_line_is_the_sha256_of_what_system_yml_writes():
    signature = render("{{ __django_app_system_signature }}", [])
    expected = f"{sha(signature + chr(10))}  /srv/shop/.djangoops-system"
    assert render("{{ __django_app_system_marker_sha256 }}", []) == expected
    system_yml = (ROOT / "roles/django_app/tasks/system.yml").read_text()
    assert 'content: "{{ __django_app_system_signature }}\\n"' in system_yml
