"""The rolling deploy under load, as a story in order (pytest -x): converge deployed 1.0.0.

Every deploy runs playbooks/deploy.yml (or rollback.yml) against the scenario's hosts while the
bounded load generator reads and writes /api/airports through the lb on 127.0.0.1, and the test
prints what the generator saw.
"""

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


def test_2_0_0_rolls_out_with_zero_failed_requests():
    load, run = under_load("deploy 1.0.0 -> 2.0.0 under load", lambda: bed.deploy("2.0.0"))
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


def test_the_pipeline_deploy_job_and_site_yml_fail_while_a_deploy_runs_and_a_rerun_changes_nothing():
    first = bed.start_playbook("deploy.yml", **bed.deploy_vars("2.0.0"))
    lock = "/var/lib/djangoops/locks/example.json"
    deadline = time.monotonic() + 120
    while not bed.exists(bed.LB, lock):
        assert time.monotonic() < deadline, "the first deploy never took the lock"
        time.sleep(0.5)
    second = bed.pipeline_deploy("2.0.0")
    # Provisioning re-renders the lb's backends: it would undrain a host the deploy drained.
    site = bed.playbook("site.yml")
    deploy_still_running = first[0].poll() is None
    rerun = bed.finish_playbook(first)
    bed.report("the pipeline's deploy job while a deploy runs", run=second)
    bed.report("site.yml while a deploy runs", run=site)
    bed.report("re-run of 2.0.0 (nothing to do)", run=rerun)
    assert deploy_still_running, "the deploy ended before site.yml was tried: the test proved nothing"
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
    assert rerun.rc == 0, rerun.tail()
    assert all(info["was"] is None for info in rerun.summary["hosts"].values()), rerun.summary
    assert rerun.summary["migrations"]["pre"]["applied"] == []
    assert bed.versions() == {host: "2.0.0" for host in bed.APP_HOSTS}


def test_3_0_0_fails_its_health_gate_and_every_host_keeps_2_0_0():
    load, run = under_load(
        "deploy 2.0.0 -> 3.0.0 (health gate fails) under load", lambda: bed.deploy("3.0.0", deploy_health_timeout=12)
    )
    assert run.rc != 0
    first = bed.APP_HOSTS[0]
    assert f"health gate failed on {first}" in run.output, run.tail()
    assert "HTTP 503" in run.output, run.tail()
    assert "version '3.0.0'" in run.output, run.tail()
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "2.0.0" for host in bed.APP_HOSTS}
    assert "post" not in run.summary["migrations"]
    assert "requested_at" in bed.columns("airports_distance"), "the post-deploy migration ran"
    assert run.summary["hosts"][bed.APP_HOSTS[1]]["was"] is None, "the second host was touched"


def test_the_fixed_3_0_1_deploys_from_the_pipeline_job():
    load, run = under_load("deploy 2.0.0 -> 3.0.1 under load (pipeline job)", lambda: bed.pipeline_deploy("3.0.1"))
    assert run.rc == 0, run.tail()
    assert "PASS  deploy_stage" in run.output, run.tail()
    assert bed.pipeline_vault_password() not in run.output
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "3.0.1" for host in bed.APP_HOSTS}
    assert "requested_at" not in bed.columns("airports_distance")
    assert run.summary["migrations"]["post"]["applied"] == ["airports.0004_remove_distance_requested_at"]


def test_an_app_host_stopped_mid_deploy_fails_the_deploy_and_the_same_deploy_then_converges():
    first, second = bed.APP_HOSTS
    started = bed.start_playbook("deploy.yml", **bed.deploy_vars("3.0.2", "3.0.1"))
    assert bed.wait_for_version(first, "3.0.2", 600), "the first app host never switched"
    with bed.stopped(second):
        run = bed.finish_playbook(started)
    bed.report(f"deploy 3.0.2 with {second} stopped after {first} switched", run=run)
    assert run.rc != 0
    assert f"{second} cannot be reached" in " ".join(run.output.split()), run.tail()
    assert bed.version(first) == "3.0.2"
    # Back on 3.0.1, or on 3.0.2 if it stopped after its switch and before the gate.
    deadline = time.monotonic() + 180
    while bed.version(second) not in ("3.0.1", "3.0.2"):
        assert time.monotonic() < deadline, f"{second} did not come back: {bed.version(second)}"
        time.sleep(1)
    again = bed.deploy("3.0.2", "3.0.1")
    bed.report("the same deploy once the host is back", run=again)
    assert again.rc == 0, again.tail()
    assert bed.versions() == {host: "3.0.2" for host in bed.APP_HOSTS}


def test_rollback_returns_every_host_to_the_previous_release_with_zero_failed_requests():
    load, run = under_load("rollback 3.0.2 -> 3.0.1 under load", lambda: bed.playbook("rollback.yml"))
    assert run.rc == 0, run.tail()
    assert_no_failed_requests(load, run)
    assert bed.versions() == {host: "3.0.1" for host in bed.APP_HOSTS}
    assert "requested_at" not in bed.columns("airports_distance"), "rollback reversed a migration unasked"
