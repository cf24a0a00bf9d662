"""The celery role reads a host once (main.yml: `realpath` of `current`, then one sha256sum of the
release's celery, the units, the drop-in and the beat unit); vars/main.yml turns the lines into
the release the drop-in records and the paths that exist. Rendered with Ansible's templar."""

from tests.unit.roles import role_templates

VARS = role_templates.role_variables("celery")
DEFAULTS = role_templates.role_variables("celery", "defaults/main.yml")
DIGEST = "0123456789abcdef" * 4


def render(expression: str, lines: list[str], **extra):
    variables = {**DEFAULTS, **VARS, "celery_app_name": "shop", "__celery_read": {"stdout_lines": lines}, **extra}
    return role_templates.render(expression, variables)


def test_a_live_release_and_its_files_are_read():
    lines = [
        "/srv/shop/releases/1.2.0",
        f"{DIGEST}  /srv/shop/current/venv/bin/celery",
        f"{DIGEST}  /etc/systemd/system/shop-celery.service",
    ]
    assert render("{{ __celery_release }}", lines) == "/srv/shop/releases/1.2.0"
    assert render("{{ __celery_read_paths }}", lines) == [
        "/srv/shop/current/venv/bin/celery",
        "/etc/systemd/system/shop-celery.service",
    ]
    assert render("{{ __celery_binary in __celery_read_paths }}", lines) is True


def test_a_host_with_no_live_release_records_none_and_has_no_celery():
    lines = [f"{DIGEST}  /etc/systemd/system/shop-celery.service"]
    assert render("{{ __celery_release }}", lines) == "none"
    assert render("{{ __celery_binary in __celery_read_paths }}", lines) is False


def test_the_read_names_every_file_the_role_writes():
    assert render("{{ __celery_units | map(attribute='path') | list }}", [], celery_beat=True) == [
        "/etc/systemd/system/shop-celery.service",
        "/etc/systemd/system/shop-celery-beat.service",
    ]
    assert render("{{ __celery_dropin }}", []) == "/etc/systemd/system/shop-celery.service.d/release.conf"
    script = render("{{ __celery_read_script }}", [])
    assert script.startswith("realpath -e -- ")
    assert "sha256sum --" in script
