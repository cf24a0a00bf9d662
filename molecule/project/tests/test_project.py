"""A real-shaped Django project deployed under load, as a story in order (pytest -x).

converge.yml only provisioned the hosts: the first deploy installs the shop test project
(tests/projects/shop) into an empty database. Every later deploy runs playbooks/deploy.yml while
the bounded load generator sends the project's own pages through the lb on 127.0.0.1 (GET /,
GET /api/products/ and a POST /orders/ that enqueues the Celery task), and the test prints what
the generator saw and the seconds of each step of the deploy.
"""

import os
import re
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, os.environ.get("MOLECULE_PROJECT_DIRECTORY", str(Path(__file__).resolve().parents[3])))

from tests import project_bed as bed
from tests import secrets_probe

WORKER_UNIT = f"{bed.APP}-celery.service"


def under_load(label, deploy):
    """Run a deploy (a callable) while the load generator loads the lb; print what both saw."""
    with bed.Load() as load:
        time.sleep(3)
        run = deploy()
        time.sleep(2)
    bed.figures(label, load, run)
    return load, run


def assert_no_failed_requests(load, run):
    summary = load.summary()
    assert summary["requests"] > 100, f"the load generator hardly ran: {summary}"
    assert summary["failed"] == 0, f"failed requests during the deploy: {summary['failures']}\n{run.tail()}"


def assert_every_host_runs(version):
    assert bed.releases() == {host: version for host in bed.APP_HOSTS + bed.WORKERS}
    state = bed.unit(bed.WORKERS[0], WORKER_UNIT)
    assert state["ActiveState"] == "active", state


def wait_for_order(reference, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if bed.psql(f"SELECT count(*) FROM catalog_order WHERE reference = '{reference}'") == "1":  # noqa: S608
            return True
        time.sleep(1)
    return False


def test_1_0_0_first_install_runs_every_migration_before_any_host_serves():
    assert bed.tables() == set(), "the database is not empty: the test proves no first install"
    run = bed.deploy("1.0.0")
    bed.figures("deploy 1.0.0 (first install, no load: nothing served before)", run=run)
    assert run.rc == 0, run.tail()
    pre = run.summary["migrations"]["pre"]
    assert pre["first_install"] == ["default"], pre
    assert pre["deferred"] == [], pre
    for migration in (
        "contenttypes.0001_initial",
        "auth.0001_initial",
        "accounts.0001_initial",
        "admin.0001_initial",
        "sessions.0001_initial",
        "catalog.0002_seed_products",
    ):
        assert migration in pre["applied"], f"{migration} not applied in the pre phase: {pre['applied']}"
    assert {"accounts_user", "auth_group", "auth_permission", "django_session", "django_admin_log"} <= bed.tables()
    assert_every_host_runs("1.0.0")


def test_1_0_0_hosts_run_the_wheel_compiled_for_them_with_its_runtime_package_only():
    """psycopg[c] has no wheel: the build compiled it for each Python in a container of the hosts'
    Debian release; each host runs that C implementation with libpq installed by the deploy, and no
    compiler or headers."""
    for host in bed.APP_HOSTS + bed.WORKERS:
        python = f"/srv/{bed.APP}/current/venv/bin/python"
        impl = bed.docker("exec", host, python, "-c", "import psycopg; print(psycopg.pq.__impl__)").strip()
        assert impl == "c", f"{host}: psycopg runs its {impl} implementation"
        packages = bed.docker("exec", host, "dpkg-query", "-W", "-f", "${Package} ${Status}\\n", check=False)
        installed = {line.split()[0] for line in packages.splitlines() if line.endswith("install ok installed")}
        assert any(name.startswith("libpq5") for name in installed), f"{host}: libpq5 is not installed"
        assert not {"libpq-dev", "gcc", "python3-dev"} & installed, f"{host}: build packages on a host"


def test_1_0_0_serves_its_pages_and_static_files_through_the_lb():
    status, home = bed.request("GET", "/")
    assert status == 200, home[:300]
    assert b"Teapot" in home
    # ManifestStaticFilesStorage: the page names the hashed file collectstatic wrote.
    css = re.search(rb'href="(/static/css/shop\.[0-9a-f]{12}\.css)"', home)
    assert css, home[:500]
    status, body = bed.request("GET", css.group(1).decode())
    assert status == 200
    assert b"font-family" in body
    status, login = bed.request("GET", "/admin/login/")
    assert status == 200, login[:300]
    admin_css = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login)
    assert admin_css, login[:800]
    assert bed.request("GET", admin_css.group(1).decode())[0] == 200
    status, products = bed.request("GET", "/api/products/")
    assert status == 200
    assert b'"legacy_code"' in products
    for host in bed.APP_HOSTS:
        assert bed.request("GET", "/", port=bed.published(host, 8080))[0] == 200, host


def inventory_secrets():
    """Every secret value of the scenario's inventory (molecule.yml): passwords, the secret key, the cookie."""
    group_vars = yaml.safe_load(bed.SCENARIO.read_text())["provisioner"]["inventory"]["group_vars"]
    secrets = {name: value for name, value in group_vars["all"].items() if name.endswith("_password")}
    secrets["DJANGO_SECRET_KEY"] = group_vars["all"]["django_app_env"]["DJANGO_SECRET_KEY"]
    cookie = group_vars["rabbitmq"].get("rabbitmq_erlang_cookie")
    if cookie:
        secrets["rabbitmq_erlang_cookie"] = cookie
    return secrets


EVERY_HOST = [platform["name"] for platform in bed.platforms()]
# Where a deploy runs the app's commands with its environment (the lb only takes the lock and drains,
# the database host runs nothing of the deploy): sampled during 1.1.0; every host's journal is searched.
APP_AND_WORKER_HOSTS = bed.APP_HOSTS + bed.WORKERS
SEEN = {}


def test_1_1_0_expand_rolls_out_with_zero_failed_requests():
    # Every command line of the app and worker hosts during the deploy, for the secret search below.
    with secrets_probe.CommandLines(APP_AND_WORKER_HOSTS) as seen:
        load, run = under_load("deploy 1.0.0 -> 1.1.0 (expand) under load", lambda: bed.deploy("1.1.0"))
    SEEN.update(seen.lines)
    SEEN["the deploy's output"] = run.output
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    assert_every_host_runs("1.1.0")
    assert run.summary["migrations"]["pre"]["applied"] == ["catalog.0003_product_stock"]
    assert run.summary["migrations"]["pre"]["first_install"] == []
    assert {"stock", "legacy_code"} <= bed.columns("catalog_product")
    status, products = bed.request("GET", "/api/products/")
    assert status == 200
    assert b'"stock":0' in products
    assert b'"legacy_code"' not in products


def test_no_secret_in_any_journal_command_line_or_the_deploys_output():
    """After site.yml and two deploys (the first install ran migrate, collectstatic and the project's
    commands through sudo): no vault value in any host's journal (sudo's lines among them), in any
    command line seen on an app or worker host while 1.1.0 deployed, or in the deploy's own output."""
    secrets = inventory_secrets()
    assert SEEN, "the 1.1.0 deploy did not run with the command line sampler"
    assert any("gunicorn" in lines for lines in SEEN.values()), "the sampler saw no gunicorn"
    for where, text in SEEN.items():
        assert secrets_probe.leaked(text, secrets) == [], f"{where} (command lines during the deploy, or its output)"
    for host in EVERY_HOST:
        assert secrets_probe.leaked(secrets_probe.journal(host), secrets) == [], f"journal of {host}"


# What the contract release drops (each product's legacy_code), read before it deploys: the restore
# point its deploy makes before the post phase must give it back.
LEGACY = (
    "SELECT count(*) || ' ' || md5(string_agg(id || ':' || coalesce(legacy_code, '-'), ',' ORDER BY id))"
    " FROM catalog_product"
)
BEFORE_CONTRACT = {}


def test_1_2_0_is_refused_while_the_last_backup_is_older_than_deploy_backup_max_age_hours():
    """1.2.0's post phase drops a column: with a limit of 18 seconds (the first full backup is from
    converge, minutes ago) the preflight refuses it before any host switches, says how old the backup
    is and how to take one, and the release leaves every host."""
    run = bed.deploy("1.2.0", deploy_backup_max_age_hours=0.005)
    assert run.rc != 0
    failure = " ".join(run.summary.get("failures", [])) or run.tail()
    assert "post-deploy migrations drop data (catalog.0004_remove_product_legacy_code)" in failure, failure
    assert "hours ago, more than deploy_backup_max_age_hours (0.005)" in failure, failure
    assert "-full.service" in failure, failure
    assert_every_host_runs("1.1.0")
    # A refused preflight removes the release it installed: a fixed build of the same version would
    # meet it, and it would take a keep-5 slot.
    for host in bed.APP_HOSTS + bed.WORKERS:
        assert not bed.exists(host, f"/srv/{bed.APP}/releases/1.2.0"), f"1.2.0 stayed installed on {host}"
        assert bed.exists(host, f"/srv/{bed.APP}/releases/1.1.0")
    assert "legacy_code" in bed.columns("catalog_product")


def test_1_2_0_contract_drops_the_column_after_every_host_runs_it_with_zero_failed_requests():
    BEFORE_CONTRACT["legacy"] = bed.psql(LEGACY)
    load, run = under_load("deploy 1.1.0 -> 1.2.0 (contract) under load", lambda: bed.deploy("1.2.0"))
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    assert_every_host_runs("1.2.0")
    migrations = run.summary["migrations"]
    assert migrations["pre"]["applied"] == []
    assert migrations["pre"]["relaxed"] == ["catalog_product.legacy_code"]
    assert migrations["post"]["applied"] == ["catalog.0004_remove_product_legacy_code"]
    assert "legacy_code" not in bed.columns("catalog_product")
    assert "stock" in bed.columns("catalog_product")
    for phase in ("pre", "post"):
        assert migrations[phase]["restore_point"]["name"] == f"deploy-1.2.0-{phase}", migrations[phase]
    assert "restore point before it: deploy-1.2.0-post at " in run.output


def test_the_restore_point_before_1_2_0s_post_phase_gives_back_the_dropped_columns_data():
    """playbooks/restore.yml -e restore_point=deploy-1.2.0-post: pgBackRest restores the database to
    just before the post phase dropped legacy_code (the app stopped meanwhile, started again after):
    the column is back with every product's value; the app, on 1.2.0, serves again."""
    run = bed.playbook("restore.yml", restore_force=True, restore_point="deploy-1.2.0-post")
    assert run.rc == 0, run.tail()
    assert "Restored " in run.output
    bed.figures(f"restore.yml to deploy-1.2.0-post in {run.seconds} s")
    assert "legacy_code" in bed.columns("catalog_product")
    assert bed.psql(LEGACY) == BEFORE_CONTRACT["legacy"]
    assert bed.psql("SELECT count(*) FROM django_migrations WHERE name = '0004_remove_product_legacy_code'") == "0"
    deadline = time.monotonic() + 30
    while bed.request("GET", "/")[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)
    assert bed.request("GET", "/")[0] == 200


def test_a_request_runs_the_celery_task_and_its_row_appears():
    """The worker runs the project's production settings (its Celery app defaults to local ones,
    SQLite): the order it writes is in PostgreSQL."""
    reference = bed.new_reference()
    status, body = bed.request("POST", "/orders/", {"sku": "TEA-001", "reference": reference})
    assert status == 202, body
    assert wait_for_order(reference), f"the worker did not write order {reference}"
    assert wait_for_order("load", 5), "the load's POST /orders/ never reached the worker"


def test_1_2_1_whose_worker_cannot_start_goes_back_with_every_host_and_zero_failed_requests():
    """The worker gate: 1.2.1's worker exits at start (its pool, gevent, is not installed) while its
    web side serves; the deploy must say so, put the worker back on 1.2.0 (where it runs tasks
    again), and the app hosts with it. The load keeps the worker busy, so its journal is full of
    the old worker's task lines: the failure must still quote the new worker's own error. The app
    host that runs a worker too goes back as an app host does (drained, behind the health gate),
    then as a worker (behind the worker gate)."""
    worker = bed.WORKERS[0]
    load, run = under_load("deploy 1.2.0 -> 1.2.1 (its worker cannot start) under load", lambda: bed.deploy("1.2.1"))
    assert run.rc != 0
    failure = " ".join(run.summary.get("failures", []))
    for host in bed.WORKERS:
        assert f"the worker switch to 1.2.1 failed on {host}" in failure, run.tail()
    assert_no_failed_requests(load, run)
    assert bed.live_release(worker, bed.APP) == "1.2.0"
    assert_every_host_runs("1.2.0")
    assert "post" not in run.summary["migrations"]
    for host in bed.APP_HOSTS:
        assert run.summary["hosts"][host]["was"] == "1.2.0", run.summary["hosts"][host]
        assert run.summary["hosts"][host]["went_back"]["app"] == "1.2.0", run.summary["hosts"][host]
    for host in bed.WORKERS:
        assert run.summary["hosts"][host]["went_back"]["worker"] == "1.2.0", run.summary["hosts"][host]
    assert bed.APP_AND_WORKER, "no host of the scenario is in both app and worker"
    reference = bed.new_reference()
    status, body = bed.request("POST", "/orders/", {"sku": "KET-001", "reference": reference})
    assert status == 202, body
    assert wait_for_order(reference), f"the worker back on 1.2.0 did not write order {reference}"
    assert "gevent" in failure, f"the failure does not quote the worker's own error: {failure}"


def test_an_upload_comes_back_from_the_app_hosts_borg_archive():
    """The media root the shop's release names (MEDIA_ROOT = BASE_DIR / "media", inside the release,
    as django_app warns; followed through current/.djangoops/media) is in the archive the app host's
    backup unit makes (role borg, a local repository: the inventory has no backup host); an upload
    removed afterwards is extracted back byte for byte. The worker host's unit runs too."""
    first = bed.APP_HOSTS[0]
    media = bed.docker("exec", first, "readlink", f"/srv/{bed.APP}/current/.djangoops/media").strip()
    assert media.startswith(f"/srv/{bed.APP}/releases/"), media
    upload = f"{media}/uploads/borg-probe.bin"
    bed.docker("exec", first, "install", "-o", bed.APP, "-g", bed.APP, "-d", f"{media}/uploads")
    bed.docker("exec", first, "sh", "-c", f"head -c 300000 /dev/urandom > {upload}")
    digest = bed.docker("exec", first, "sha256sum", upload).split()[0]
    for host in [first, *bed.WORKERS]:
        bed.docker("exec", host, "systemctl", "start", "djangoops-borg-backup.service")
        result = bed.docker("exec", host, "systemctl", "show", "-P", "Result", "djangoops-borg-backup.service")
        assert result.strip() == "success", bed.docker("exec", host, "journalctl", "-u", "djangoops-borg-backup")
    archive = bed.docker("exec", first, "djangoops-borg", "list", "--short", "--last", "1").strip()
    assert archive.startswith(f"{first}-"), archive

    bed.docker("exec", first, "rm", upload)
    bed.docker("exec", first, "sh", "-c", f"cd / && djangoops-borg extract ::{archive} {upload.lstrip('/')}")
    assert bed.docker("exec", first, "sha256sum", upload).split()[0] == digest


def test_remove_app_refuses_another_name_then_removes_the_shop_and_keeps_its_media():
    """playbooks/remove_app.yml, the end of the story: a name that is not the inventory's app is refused
    before any host changes; then the shop's units, nginx app site, files and user leave every app and
    worker host, its media stays (owned by root), the database stays, the lock is released, and a
    second run has nothing left to do."""
    first = bed.APP_HOSTS[0]
    wrong = bed.playbook("remove_app.yml", remove_app="example")
    assert wrong.rc != 0
    assert "confirm it with -e remove_app=shop" in " ".join(wrong.output.split()), wrong.tail()
    assert bed.live_release(first, bed.APP) == "1.2.0", "the refused removal changed a host"
    bed.docker("exec", first, "install", "-o", bed.APP, "-g", bed.APP, "-d", "/srv/shop/shared/media/uploads")
    bed.docker("exec", first, "sh", "-c", "echo kept > /srv/shop/shared/media/uploads/photo.txt")
    tables_before = bed.tables()

    run = bed.playbook("remove_app.yml", remove_app=bed.APP)
    bed.figures("remove_app.yml", run=run)
    assert run.rc == 0, run.tail()
    output = " ".join(run.output.split())
    assert f"{first}: removed shop (units: shop-gunicorn.service, shop-gunicorn.socket)" in output, run.tail()
    assert f"{bed.WORKERS[0]}: removed shop (units: shop-celery.service" in output, run.tail()
    assert "its media kept in /srv/shop/shared/media" in output, run.tail()
    assert "Kept: the databases and services" in output
    for host in bed.APP_HOSTS + bed.WORKERS:
        units = bed.docker("exec", host, "systemctl", "list-units", "--all", "--plain", "--no-legend", "shop-*")
        assert units.strip() == "", f"{host} still has units: {units}"
        assert not bed.exists(host, "/srv/shop/releases"), f"{host} kept the releases"
        assert not bed.exists(host, "/srv/shop/shared/env"), f"{host} kept the env file"
        assert bed.docker("exec", host, "getent", "passwd", "shop", check=False) == "", f"{host} kept the user"
    for host in bed.APP_HOSTS:
        assert not bed.exists(host, "/etc/nginx/conf.d/djangoops-app.conf"), f"{host} kept the app site"
        assert bed.docker("exec", host, "systemctl", "is-active", "nginx").strip() == "active"
    kept = bed.docker("exec", first, "stat", "-c", "%U:%G %n", "/srv/shop/shared/media/uploads/photo.txt").strip()
    assert kept == "root:root /srv/shop/shared/media/uploads/photo.txt", kept
    assert not bed.exists(bed.LB, "/var/lib/djangoops/locks/shop.json"), "the lock was left held"
    assert bed.tables() == tables_before, "the database changed"

    again = bed.playbook("remove_app.yml", remove_app=bed.APP)
    assert again.rc == 0, again.tail()
    for host in bed.APP_HOSTS + bed.WORKERS:
        assert re.search(rf"^{host}\s*:.* changed=0 ", again.output, re.M), again.tail()
