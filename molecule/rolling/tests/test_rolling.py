"""The rolling deploy under load, as a story in order (pytest -x): converge deployed 1.0.0.

Every deploy runs playbooks/deploy.yml (or rollback.yml) against the scenario's hosts while the
bounded load generator reads and writes /api/airports through the lb on 127.0.0.1, and the test
prints what the generator saw.
"""

import hashlib
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("MOLECULE_PROJECT_DIRECTORY", str(Path(__file__).resolve().parents[3])))

from tests import rolling_bed as bed


def under_load(label, playbook_run):
    """Run a playbook (a callable) while the load generator loads the lb; print what both saw."""
    with bed.Load() as load:
        time.sleep(3)
        run = playbook_run()
        time.sleep(2)
    bed.report(label, load, run)
    return load, run


def assert_no_failed_requests(load, run):
    summary = load.summary()
    assert summary["requests"] > 100, f"the load generator hardly ran: {summary}"
    assert summary["failed"] == 0, f"failed requests during the deploy: {summary['failures']}\n{run.tail()}"


def test_converge_deployed_1_0_0_behind_the_lb():
    assert bed.versions() == {host: "1.0.0" for host in bed.APP_HOSTS}
    status, airports = bed.get(bed.published(bed.LB, 80), "/api/airports")
    assert status == 200
    assert len(airports) > 1000
    assert "name" in airports[0]


def test_2_0_0_rolls_out_with_zero_failed_requests_while_the_pipeline_job_and_site_yml_are_refused():
    """While 2.0.0's deploy holds the lock, a second deploy (the pipeline's job) and site.yml (which
    re-renders the lb's backends: it would undrain a host the deploy drained) must refuse to run."""
    refused = {}

    def deploy_and_try_the_others():
        started = bed.start_playbook("deploy.yml", **bed.deploy_vars("2.0.0"))
        deadline = time.monotonic() + 300
        while not bed.lock_held():
            assert time.monotonic() < deadline, "the deploy never took the lock"
            time.sleep(0.5)
        refused["pipeline"] = bed.pipeline_deploy("2.0.0")
        refused["site"] = bed.playbook("site.yml")
        refused["deploy_still_running"] = started[0].poll() is None
        return bed.finish_playbook(started)

    load, run = under_load("deploy 1.0.0 -> 2.0.0 under load", deploy_and_try_the_others)
    second, site = refused["pipeline"], refused["site"]
    bed.report("the pipeline's deploy job while a deploy runs", run=second)
    bed.report("site.yml while a deploy runs", run=site)
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "2.0.0" for host in bed.APP_HOSTS}
    columns = bed.columns("airports_airport")
    assert "name" not in columns, "the post-deploy migration did not drop airports_airport.name"
    assert columns["country"] == "'ZZ'::character varying", f"country has no database default: {columns}"
    migrations = run.summary["migrations"]
    assert migrations["pre"]["applied"] == ["airports.0002_airport_country"]
    assert migrations["pre"]["relaxed"] == ["airports_airport.name"]
    assert migrations["post"]["applied"] == ["airports.0003_remove_airport_name"]
    status, airports = bed.get(bed.published(bed.LB, 80), "/api/airports")
    assert status == 200
    assert "country" in airports[0]
    assert "name" not in airports[0]

    assert refused["deploy_still_running"], "the deploy ended before site.yml was tried: the test proved nothing"
    assert site.rc != 0
    assert re.search(
        r"site\.yml refuses to run: the deploy lock \S+ on \S+ is held by \S+@\S+ \(version 2\.0\.0, pid \d+\)",
        " ".join(site.output.split()),
    ), site.tail()
    assert "TASK [djangoops.stack.postgresql" not in site.output, "site.yml changed hosts before refusing"
    assert second.rc != 0
    assert "FAIL  deploy_stage" in second.output, second.tail()
    assert re.search(
        r"deploy lock \S+ is held by \S+@\S+ \(version 2\.0\.0, pid \d+\) since \S+ \(\d+ s ago\)", second.output
    ), second.tail()
    assert bed.pipeline_vault_password() not in second.output


def test_3_0_0_fails_its_health_gate_and_every_host_keeps_2_0_0():
    load, run = under_load(
        "deploy 2.0.0 -> 3.0.0 (health gate fails) under load", lambda: bed.deploy("3.0.0", deploy_health_timeout=12)
    )
    assert run.rc != 0
    first = bed.APP_HOSTS[0]
    failure = " ".join(run.summary["failures"])
    assert f"health gate failed on {first} with 3.0.0" in failure, run.tail()
    assert "GET /healthz: HTTP 503" in failure, failure
    assert '"version": "3.0.0"' in failure, failure
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "2.0.0" for host in bed.APP_HOSTS}
    assert "post" not in run.summary["migrations"]
    assert "requested_at" in bed.columns("airports_distance"), "the post-deploy migration ran"
    assert run.summary["hosts"][bed.APP_HOSTS[1]]["was"] is None, "the second host was touched"


def test_a_database_stopped_while_the_first_host_switches_fails_the_way_back_too_and_the_deploy_still_ends():
    """The failure path's own failure, from a dependency: PostgreSQL stops once the first app host is
    drained for 3.0.1, so 3.0.1 fails its health gate there and 2.0.0 fails it too on the way back.
    The deploy must still reach its last play (summary naming both failures, history, lock released);
    the first host stays out of rotation (it passed no gate), the other one serves 2.0.0, and no
    request fails but while the database is down."""
    first, second = bed.APP_HOSTS
    with bed.Load() as load:
        time.sleep(3)
        started = bed.start_playbook("deploy.yml", **bed.deploy_vars("3.0.1", deploy_health_timeout=12))
        drained = bed.wait_for_drained(first, 600)
        down = time.monotonic() - load.results.started
        bed.docker("exec", bed.DB, "systemctl", "stop", "postgresql")
        try:
            run = bed.finish_playbook(started)
        finally:
            bed.docker("exec", bed.DB, "systemctl", "start", "postgresql")
            up = time.monotonic() - load.results.started
        time.sleep(10)
    bed.report(f"deploy 2.0.0 -> 3.0.1, PostgreSQL stopped {down:.0f}-{up:.0f} s into the load", load, run)
    assert drained, f"{first} was never drained: {run.tail()}"
    assert run.rc != 0
    assert run.summary["result"] == "failed", run.tail()
    failure = " ".join(run.summary["failures"])
    assert f"health gate failed on {first} with 3.0.1" in failure, failure
    assert '"failed": ["database"]' in failure, failure
    assert f"going back to 2.0.0 failed on {first} too" in failure, failure
    assert f"{first} stays out of rotation at every lb" in failure, failure
    assert run.summary["hosts"][first]["out_of_rotation"] is True
    assert run.summary["hosts"][second]["was"] is None, "the second host was touched"
    assert load.summary()["requests"] > 100
    # While PostgreSQL is down every request that needs it fails; before and after, none may.
    assert bed.failed_outside(load, down - 1, up + 2) == [], load.summary()
    assert not bed.lock_held(), "the deploy lock was left held"
    assert bed.out_of_rotation() == {first}
    assert bed.live_release(first) == "2.0.0"
    assert bed.version(second) == "2.0.0"
    history = bed.playbook("history.yml", deploy_history_count=1)
    assert history.rc == 0, history.tail()
    assert "deploy 3.0.1 to test FAILED" in " ".join(history.output.split()), history.tail()


def test_the_fixed_3_0_1_deploys_from_the_pipeline_job():
    load, run = under_load("deploy 2.0.0 -> 3.0.1 under load (pipeline job)", lambda: bed.pipeline_deploy("3.0.1"))
    assert run.rc == 0, run.tail()
    assert "PASS  deploy_stage" in run.output, run.tail()
    assert bed.pipeline_vault_password() not in run.output
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "3.0.1" for host in bed.APP_HOSTS}
    assert "requested_at" not in bed.columns("airports_distance")
    assert bed.out_of_rotation() == set(), "the host left out of rotation did not come back"
    assert run.summary["migrations"]["post"]["applied"] == ["airports.0004_remove_distance_requested_at"]


def test_the_second_app_host_failing_its_gate_after_the_first_switched_sends_every_host_back():
    """The first app host (and the worker before it) switched to 3.0.2 and passed their gates; then the
    second app host's copy of 3.0.2 is broken (its WSGI module deleted once the first host is drained,
    after the install), so 3.0.2 fails its health gate there. The second host goes back to 3.0.1 in its
    rescue, the first host and the worker follow behind their own gates; post-deploy migrations never
    run, the lock is released, and no request fails."""
    first, second = bed.APP_HOSTS
    worker = bed.WORKERS[0]
    wsgi = "/srv/example/releases/3.0.2/src/example/wsgi.py"
    with bed.Load() as load:
        time.sleep(3)
        started = bed.start_playbook("deploy.yml", **bed.deploy_vars("3.0.2", "3.0.1", deploy_health_timeout=12))
        drained = bed.wait_for_drained(first, 600)
        bed.docker("exec", second, "rm", wsgi)
        run = bed.finish_playbook(started)
        time.sleep(2)
    bed.report(f"deploy 3.0.1 -> 3.0.2, {second}'s copy broken once {first} was drained, under load", load, run)
    # The broken copy goes, as an operator would remove it: the next deploy installs 3.0.2 again.
    bed.docker("exec", second, "rm", "-rf", "/srv/example/releases/3.0.2")
    assert drained, f"{first} was never drained: {run.tail()}"
    assert run.rc != 0
    failure = " ".join(run.summary["failures"])
    assert f"health gate failed on {second} with 3.0.2" in failure, run.tail()
    assert run.summary["hosts"][first]["release"] == "3.0.1", run.summary["hosts"][first]
    assert run.summary["hosts"][first]["went_back"]["app"] == "3.0.1", run.summary["hosts"][first]
    assert run.summary["hosts"][second]["went_back"]["app"] == "3.0.1", run.summary["hosts"][second]
    assert run.summary["hosts"][worker]["went_back"]["worker"] == "3.0.1", run.summary["hosts"][worker]
    assert "post" not in run.summary["migrations"]
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "3.0.1" for host in bed.APP_HOSTS}
    assert bed.live_release(worker) == "3.0.1"
    assert bed.out_of_rotation() == set()
    assert not bed.lock_held()


def test_an_app_host_then_the_lb_stopped_mid_deploy_each_stop_it_and_the_same_deploy_then_converges():
    """Hosts lost mid-deploy: the second app host stopped while the first switches, then, in the same
    deploy run again, the lb (which holds the deploy lock) killed once the second host is drained
    there. Each run stops saying which host it lost and leaves the hosts on the releases they run
    (nothing goes back: that would drain at the lb); the lock stays held on the lb, said so; the same
    deploy, run once more under load after the lb is back, takes the lock over and converges."""
    first, second = bed.APP_HOSTS
    deploy_vars = bed.deploy_vars("3.0.2", "3.0.1")
    started = bed.start_playbook("deploy.yml", **deploy_vars)
    assert bed.wait_for_drained(first, 600), "the first app host was never drained"
    with bed.stopped(second):
        run = bed.finish_playbook(started)
    bed.report(f"deploy 3.0.2 with {second} stopped while {first} switched", run=run)
    assert run.rc != 0
    assert f"{second} cannot be reached" in " ".join(run.output.split()), run.tail()
    assert bed.version(first) == "3.0.2"
    assert bed.wait_for_version(second, "3.0.1", 180), f"{second} did not come back on 3.0.1"

    started = bed.start_playbook("deploy.yml", **deploy_vars)
    drained = bed.wait_for_drained(second, 600)
    bed.docker("kill", bed.LB)
    lost = bed.finish_playbook(started)
    bed.docker("start", bed.LB)
    bed.report(f"the same deploy, {bed.LB} killed once {second} was drained there", run=lost)
    assert drained, f"{second} was never drained: {lost.tail()}"
    assert lost.rc != 0
    text = " ".join(lost.output.split())
    assert f"{bed.LB} (an lb and the host of the deploy lock) cannot be reached" in text, lost.tail()
    assert "The deploy stops here and no host goes back" in text, lost.tail()
    assert f"The deploy lock /var/lib/djangoops/locks/example.json on {bed.LB} stays held" in text, lost.tail()
    assert "PLAY [Deploy | 9. release the lock and print the summary]" in lost.output
    assert lost.summary["result"] == "failed"
    assert lost.summary["hosts"][second]["out_of_rotation"] is True, lost.summary
    assert bed.serves_again(120), f"{bed.LB} did not serve again"
    assert bed.lock_held(), "the lock on the killed lb is gone"
    assert second in bed.out_of_rotation()

    load, again = under_load("the same deploy once the lb is back", lambda: bed.deploy("3.0.2", "3.0.1"))
    assert again.rc == 0, again.tail()
    assert_no_failed_requests(load, again)
    assert "WARNING: replaced the deploy lock of" in " ".join(again.output.split()), again.tail()
    assert bed.versions() == {host: "3.0.2" for host in bed.APP_HOSTS}
    assert bed.out_of_rotation() == set()
    assert not bed.lock_held()
    # The re-run changes nothing on the host already on 3.0.2 (no drain, no restart: only its gate),
    # and the pre-deploy migrations the first run applied are not applied again.
    assert again.summary["hosts"][first]["was"] is None, again.summary
    assert again.summary["migrations"]["pre"]["applied"] == [], again.summary


def test_rollback_returns_every_host_to_the_previous_release_with_zero_failed_requests():
    load, run = under_load("rollback 3.0.2 -> 3.0.1 under load", lambda: bed.playbook("rollback.yml"))
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "3.0.1" for host in bed.APP_HOSTS}
    assert "requested_at" not in bed.columns("airports_distance"), "rollback reversed a migration unasked"


def test_a_rollback_across_a_dropped_column_is_refused_then_reverses_first_with_zero_failed_requests():
    """3.0.1 dropped airports_distance.requested_at (post-deploy), which 2.0.0's models have. A rollback
    to 2.0.0 is refused before any host switches, naming the column and the migration to reverse to;
    with that reversal asked, the column comes back (nullable: 3.0.1 still serves meanwhile and does
    not write it) before the first host switches, and no request fails."""
    refused = bed.playbook("rollback.yml", deploy_rollback_version="2.0.0")
    bed.report("rollback 3.0.1 -> 2.0.0 without reversing 3.0.1's contract migration", run=refused)
    assert refused.rc != 0
    failure = " ".join(refused.summary["failures"])
    assert "rollback to 2.0.0 refused before any host switched" in failure, refused.tail()
    assert "column airports_distance.requested_at" in failure, failure
    assert "airports.0004_remove_distance_requested_at" in failure, failure
    assert '"deploy_rollback_migrations": ["airports:0003_remove_airport_name"]' in failure, failure
    assert bed.versions() == {host: "3.0.1" for host in bed.APP_HOSTS}
    assert not bed.lock_held()

    load, run = under_load(
        "rollback 3.0.1 -> 2.0.0 reversing airports.0004 first, under load",
        lambda: bed.playbook(
            "rollback.yml",
            deploy_rollback_version="2.0.0",
            deploy_rollback_migrations=["airports:0003_remove_airport_name"],
        ),
    )
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "2.0.0" for host in bed.APP_HOSTS}
    assert bed.live_release(bed.WORKERS[0]) == "2.0.0"
    assert run.summary["migrations"]["reverse"]["reversed"] == ["airports.0004_remove_distance_requested_at"]
    reversal_ended = run.summary["migrations"]["reverse"]["finished"]
    assert all(h["switch_started"] >= reversal_ended for h in run.summary["hosts"].values() if h["switch_started"])
    assert "requested_at" in bed.columns("airports_distance")


def test_3_0_0_fixed_and_built_elsewhere_replaces_the_broken_install_whose_bytes_are_then_refused():
    """A version names one set of bytes on the hosts too. 3.0.0's broken build (it failed its health
    gate) stays installed, not live, everywhere; the same version built from fixed code on another
    controller (another artifact directory) replaces it; the broken bytes are then refused while
    the fixed ones are live. That deploy's controller is killed (SIGKILL) twice: once between the
    pre- and post-deploy phases (as the switches' play starts, before any host moved), and, run
    again, once the first app host has switched; each run after a kill takes the dead run's lock
    over, and the last one knows from the lock which release that host ran before (the way back and
    the summary need it) and finishes, post-deploy migrations once, under load."""
    elsewhere = bed.WORK / "releases-elsewhere"
    first = bed.APP_HOSTS[0]
    deploy_vars = bed.deploy_vars("3.0.0", "3.0.1", deploy_artifact_dir=str(elsewhere))
    with bed.Load() as load:
        time.sleep(3)
        started = bed.start_playbook("deploy.yml", _killable=True, **deploy_vars)
        between = bed.wait_for_output(started, "PLAY [Deploy | 6-7. the workers, then the app hosts", 600)
        killed_between = bed.kill_playbook(started)
        at_the_kill = bed.versions()
        started = bed.start_playbook("deploy.yml", _killable=True, **deploy_vars)
        switched = bed.wait_for_version(first, "3.0.0", 600)
        killed = bed.kill_playbook(started)
        run = bed.playbook("deploy.yml", **deploy_vars)
        time.sleep(2)
    on = ", ".join(f"{host} {version}" for host, version in at_the_kill.items())
    bed.report(f"deploy 3.0.0 killed between its pre- and post-deploy phases ({on})", run=killed_between)
    bed.report("the same deploy run again, killed after the first host switched", run=killed)
    bed.report(
        "deploy 3.0.0 rebuilt from fixed code on another controller, run again after the kills, under load", load, run
    )
    assert between, f"the first run never reached the app hosts' play: {killed_between.tail()}"
    assert "PLAY [Deploy | 4-5. preflight and pre-deploy migrations" in killed_between.output
    assert "PLAY [Deploy | 8. post-deploy migrations" not in killed_between.output
    assert "WARNING: replaced the deploy lock of" in " ".join(killed.output.split()), killed.tail()
    assert switched, f"{first} never switched to 3.0.0: {killed.tail()}"
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    text = " ".join(run.output.split())
    assert "WARNING: replaced the deploy lock of" in text, run.tail()
    assert run.summary["hosts"][first]["was"] == "2.0.0", "the run after the kill lost where the first host came from"
    assert run.summary["migrations"]["post"]["applied"] == ["airports.0004_remove_distance_requested_at"], run.summary
    assert bed.versions() == {host: "3.0.0" for host in bed.APP_HOSTS}
    assert bed.out_of_rotation() == set()
    assert not bed.lock_held()
    worker = bed.WORKERS[0]
    assert bed.live_release(worker) == "3.0.0"
    fixed = hashlib.sha256((elsewhere / "example-3.0.0.tar.gz").read_bytes()).hexdigest()
    for host in bed.APP_HOSTS + bed.WORKERS:
        marker = bed.docker("exec", host, "cat", "/srv/example/releases/3.0.0/.installed")
        assert f"sha256:{fixed}" in marker, f"{host}: {marker}"
    refused = bed.deploy("3.0.0")
    bed.report("deploy of 3.0.0's broken bytes while the fixed 3.0.0 is live", run=refused)
    assert refused.rc != 0
    text = " ".join(refused.output.split())
    assert "release 3.0.0 is live on" in text, refused.tail()
    assert f"installed from an artifact with sha256 {fixed}" in text, refused.tail()
    assert "A version names one set of bytes" in text
    assert bed.versions() == {host: "3.0.0" for host in bed.APP_HOSTS}
    assert bed.live_release(worker) == "3.0.0"


def test_manage_yml_runs_a_command_on_the_live_release_and_prints_an_interactive_one():
    run = bed.playbook("manage.yml", django_app_manage_args=["showmigrations", "airports"])
    bed.report("manage.yml showmigrations airports", run=run)
    assert run.rc == 0, run.tail()
    assert "[X] 0004_remove_distance_requested_at" in run.output, run.tail()
    interactive = bed.playbook("manage.yml", django_app_manage_args=["shell"], manage_interactive=True)
    assert interactive.rc == 0, interactive.tail()
    assert f"docker exec -it {bed.APP_HOSTS[0]} sudo -u example /srv/example/bin/manage shell" in " ".join(
        interactive.output.split()
    ), interactive.tail()
    refused = bed.playbook("manage.yml", django_app_manage_args="shell")
    assert refused.rc != 0
    assert "django_app_manage_args must be a non-empty list of strings" in " ".join(refused.output.split())


def test_sequences_yml_lists_then_resets_a_sequence_behind_rows_copied_with_their_ids():
    """The seed's second pain: a row copied with its id leaves the table's sequence behind, and the next
    insert without an id would collide. sequences.yml --check lists it (and changes nothing); without
    --check it sets the sequence past the largest id; the next insert gets the id after it."""
    copied = int(bed.psql("SELECT max(id) FROM airports_airport")) + 100000
    bed.psql(
        "CREATE TABLE seq_copy AS SELECT * FROM airports_airport WHERE id = (SELECT min(id) FROM airports_airport)"
    )
    bed.psql(f"UPDATE seq_copy SET id = {copied}, iata = '#Q#'")  # noqa: S608 - an int
    bed.psql("INSERT INTO airports_airport SELECT * FROM seq_copy; DROP TABLE seq_copy")
    try:
        # The deploy's preflight finds it too: with deploy_sequences_behind refuse, before any host changes.
        refused = bed.deploy(
            "3.0.0", "3.0.1", deploy_artifact_dir=str(bed.WORK / "releases-elsewhere"), deploy_sequences_behind="refuse"
        )
        bed.report("deploy of the live 3.0.0 with a sequence behind (deploy_sequences_behind refuse)", run=refused)
        assert refused.rc != 0
        failure = " ".join(refused.summary["failures"])
        assert "preflight and pre-deploy migrations failed" in failure, refused.tail()
        assert "airports_airport_id_seq" in failure, failure
        assert "playbooks/sequences.yml" in failure, failure
        assert bed.versions() == {host: "3.0.0" for host in bed.APP_HOSTS}
        assert not bed.lock_held()
        listed = bed.playbook("sequences.yml", _check=True)
        bed.report("sequences.yml --check after a row copied with its id", run=listed)
        assert listed.rc == 0, listed.tail()
        text = " ".join(listed.output.split())
        assert re.search(
            r"default: 1 of \d+ sequences behind: \S*airports_airport_id_seq"
            rf" \(next \d+, airports_airport\.id up to {copied}\)",
            text,
        ), listed.tail()
        reset = bed.playbook("sequences.yml")
        assert reset.rc == 0, reset.tail()
        assert "sequences reset" in " ".join(reset.output.split()), reset.tail()
        nextval = int(bed.psql("SELECT nextval(pg_get_serial_sequence('airports_airport', 'id'))"))
        assert nextval == copied + 1
    finally:
        bed.psql(f"DELETE FROM airports_airport WHERE id = {copied}")  # noqa: S608 - an int


def test_restart_yml_applies_an_environment_change_host_by_host_with_zero_failed_requests():
    """A rolling restart with no new release: a variable added to django_app_env reaches gunicorn
    and the worker, every process restarted, no request failed."""
    env = dict(bed.inventory_app_env(), AIRPORTS_REGION="us")
    before = {host: bed.unit(host, "example-gunicorn.service")["MainPID"] for host in bed.APP_HOSTS}
    worker = bed.WORKERS[0]
    worker_before = bed.unit(worker, "example-celery.service")["MainPID"]
    load, run = under_load(
        "restart.yml (AIRPORTS_REGION=us) under load", lambda: bed.playbook("restart.yml", django_app_env=env)
    )
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    assert run.summary["action"] == "restart"
    for host in bed.APP_HOSTS:
        pid = bed.unit(host, "example-gunicorn.service")["MainPID"]
        assert pid != before[host], f"gunicorn on {host} was not restarted"
        assert bed.process_env(host, pid).get("AIRPORTS_REGION") == "us"
        assert run.summary["hosts"][host]["switch_seconds"] is not None
    pid = bed.unit(worker, "example-celery.service")["MainPID"]
    assert pid != worker_before, "the worker was not restarted"
    assert bed.process_env(worker, pid).get("AIRPORTS_REGION") == "us"
    assert bed.versions() == {host: "3.0.0" for host in bed.APP_HOSTS}


def test_site_yml_refuses_to_point_a_live_app_host_at_an_app_not_installed_there():
    """One app site per app host: provisioning another app's socket would answer 502 instead of the
    live app; site.yml refuses before anything changes, naming both sockets."""
    first = bed.APP_HOSTS[0]
    # Only this app host: its trusted proxies (the lb's address, from the lb's facts) given here.
    run = bed.playbook(
        "site.yml",
        _limit=f"localhost,{first}",
        nginx_app_socket="/run/shop/gunicorn.sock",
        nginx_app_trusted_proxies=["127.0.0.2"],
    )
    bed.report("site.yml pointing the app site at an app not installed", run=run)
    assert run.rc != 0
    text = " ".join(run.output.split())
    assert f"{first} serves the app behind /run/example/gunicorn.sock, which is live" in text, run.tail()
    assert "nginx_app_replace_live" in text
    assert "/run/example/gunicorn.sock" in bed.docker("exec", first, "cat", "/etc/nginx/conf.d/djangoops-app.conf")
    status, _ = bed.get(bed.published(first, 8080), "/healthz")
    assert status == 200
