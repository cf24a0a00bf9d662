"""The deploy's bookkeeping filters (plugins/filter/deploy.py): the summary of a run from what its
hosts recorded, the lines it prints, the hosts behind a release; on plain dictionaries, then once
through ansible-playbook with real hostvars (lazy, with undefined variables)."""

import json
import subprocess
import sys
from pathlib import Path

from plugins.filter.deploy import behind, history_entry, history_lines, summary, summary_lines
from tests.conftest import ansible_env

RUN = {
    "action": "deploy",
    "version": "2.0.0",
    "environment": "stage",
    "started": 1000.04,
    "now": 1080.26,
    "build_seconds": "3.1",
    "failures": [],
}
MIGRATED = {
    "started": 1010.0,
    "seconds": 1.25,
    "databases": {
        "default": {
            "applied": ["airports.0002_airport_country"],
            "recorded": ["auth.0001_initial"],
            "first_install": False,
            "relaxed": [{"table": "airports_airport", "column": "name"}],
            "deferred": [{"migration": "airports.0003_remove_airport_name", "reason": "drops a column"}],
        }
    },
    "restore_point": {"name": "deploy-2.0.0-pre", "lsn": "0/3000090", "host": "db1"},
}


def fleet():
    return {
        "app1": {
            "django_app_live": {"current": "2.0.0", "previous": "1.0.0"},
            "__deploy_switched_from": "1.0.0",
            "__deploy_switch_seconds": "5.4",
            "__deploy_switch_started": "1020.02",
            "__deploy_migrations_pre": MIGRATED,
        },
        "app2": {
            "django_app_live": {"current": "1.0.0", "previous": ""},
            "__deploy_failure": "gate failed on app2",
            "__deploy_drained": True,
        },
        "worker": {},
        "lb": {},
    }


def test_the_summary_of_a_deploy_names_every_host_its_steps_and_the_migrations():
    data = summary(
        fleet(), ["app1", "app2", "worker"], {**RUN, "failures": ["gate failed on app2"]}, ["app1", "app2", "lb"]
    )
    assert data["result"] == "failed"
    assert data["seconds"] == 80.2
    assert data["build_seconds"] == 3.1
    assert data["hosts"]["app1"] == {
        "release": "2.0.0",
        "was": "1.0.0",
        "failure": None,
        "out_of_rotation": False,
        "kept_serving": [],
        "went_back": {"app": None, "worker": None},
        "switch_seconds": 5.4,
        "switch_started": 1020.0,
        "switch_finished": 1025.4,
        "worker_seconds": None,
        "worker_started": None,
        "worker_finished": None,
    }
    assert data["hosts"]["app2"]["failure"] == "gate failed on app2"
    assert data["hosts"]["worker"]["release"] == "unknown (not reached)"
    assert data["migrations"] == {
        "pre": {
            "host": "app1",
            "seconds": 1.25,
            "started": 1010.0,
            "finished": 1011.2,
            "applied": ["airports.0002_airport_country"],
            "recorded": ["auth.0001_initial"],
            "relaxed": ["airports_airport.name"],
            "deferred": ["airports.0003_remove_airport_name"],
            "first_install": [],
            "reversed": [],
            "restore_point": {"name": "deploy-2.0.0-pre", "lsn": "0/3000090", "host": "db1"},
        }
    }


def test_the_printed_lines_say_what_happened_including_migrations_only_recorded():
    data = summary(fleet(), ["app1", "app2", "worker"], {**RUN, "failures": ["gate failed on app2"]})
    assert summary_lines(data) == [
        "deploy 2.0.0 to stage: FAILED in 80.2 s (build 3.1 s)",
        "app1: 2.0.0 (was 1.0.0), switch 5.4 s",
        "app2: 1.0.0, OUT OF ROTATION at every lb",
        "worker: unknown (not reached)",
        "migrations pre on app1: applied airports.0002_airport_country; recorded as applied (their tables exist)"
        " auth.0001_initial; relaxed airports_airport.name; deferred airports.0003_remove_airport_name (1.25 s);"
        " restore point before it: deploy-2.0.0-pre at 0/3000090 on db1",
        "FAILED: gate failed on app2",
    ]
    ok = summary({}, [], {**RUN, "build_seconds": None})
    assert summary_lines(ok) == ["deploy 2.0.0 to stage: OK in 80.2 s"]


def test_a_host_kept_in_rotation_as_the_only_backend_says_so():
    hosts = {
        "app1": {
            "django_app_live": {"current": "2.0.0"},
            "__deploy_switched_from": "1.0.0",
            "__deploy_switch_seconds": "4.1",
            "__deploy_kept_serving": ["lb1"],
            "__deploy_drained": False,
        }
    }
    lines = summary_lines(summary(hosts, ["app1"], RUN))
    assert lines[1] == (
        "app1: 2.0.0 (was 1.0.0), switch 4.1 s, kept in rotation at lb1 (its only backend there: requests waited"
        " in gunicorn's socket during the restart)"
    )


def test_a_host_in_app_and_worker_that_went_back_says_which_side_went_back_behind_which_gate():
    hosts = {
        "app2": {
            "django_app_live": {"current": "1.0.0"},
            "__deploy_switched_from": "1.0.0",
            "__deploy_failure": "the worker switch to 2.0.0 failed on app2",
            "__deploy_app_went_back": "1.0.0",
            "__deploy_worker_went_back": "1.0.0",
            "__deploy_drained": False,
        }
    }
    data = summary(hosts, ["app2"], {**RUN, "failures": ["the worker switch to 2.0.0 failed on app2"]})
    assert data["hosts"]["app2"]["went_back"] == {"app": "1.0.0", "worker": "1.0.0"}
    assert summary_lines(data)[1] == (
        "app2: 1.0.0 (was 1.0.0), app went back to 1.0.0 behind its gate, worker went back to 1.0.0 behind its gate"
    )


def test_a_host_whose_last_read_did_not_reach_it_runs_an_unknown_release_and_is_behind():
    hosts = fleet()
    hosts["app1"]["django_app_live"] = {"current": "", "previous": "", "installed": [], "reached": False}
    data = summary(hosts, ["app1", "app2", "worker"], RUN)
    assert data["hosts"]["app1"]["release"] == "unknown (not reached)"
    assert data["hosts"]["app2"]["release"] == "1.0.0"
    assert behind(hosts, ["app1"], "2.0.0") == ["app1"]


def test_behind_names_hosts_on_another_release_or_never_read():
    assert behind(fleet(), ["app1", "app2", "worker", "app1"], "2.0.0") == ["app2", "worker"]
    assert behind(fleet(), ["app1"], "2.0.0") == []


def test_through_ansible_with_real_hostvars(tmp_path):
    """The filters read hostvars as Ansible gives them: lazy, templated on access, undefined names absent."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    app1: {ansible_connection: local}\n    app2: {ansible_connection: local}\n"
        "  children:\n    app: {hosts: {app1: {}, app2: {}}}\n    worker: {hosts: {}}\n"
    )
    out = tmp_path / "summary.json"
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        f"""
- hosts: app
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        django_app_live: {{current: "{{{{ '2.0.0' if inventory_hostname == 'app1' else '1.0.0' }}}}", previous: ""}}
        __deploy_switched_from: "1.0.0"
        __deploy_switch_seconds: "{{{{ 4.5 }}}}"
        __deploy_switch_started: "{{{{ 100 }}}}"
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: {out}
        content: >-
          {{{{ {{'summary': hostvars | djangoops.stack.deploy_summary(groups['app'] + groups['worker'],
                 {{'action': 'deploy', 'version': '2.0.0', 'environment': 'test', 'started': 90, 'now': 110,
                  'build_seconds': none, 'failures': []}}, groups['all']),
                'behind': hostvars | djangoops.stack.deploy_behind(groups['app'], '2.0.0')}} | to_json }}}}
        mode: "0600"
"""
    )
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)],
        capture_output=True,
        text=True,
        env=ansible_env(),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["behind"] == ["app2"]
    assert data["summary"]["hosts"]["app1"]["switch_finished"] == 104.5
    assert data["summary"]["hosts"]["app2"]["release"] == "1.0.0"
    assert data["summary"]["seconds"] == 20.0


def test_the_history_entry_says_who_what_from_which_releases_and_how_it_ended():
    data = summary(fleet(), ["app1", "app2"], {**RUN, "failures": ["gate failed on app2"]})
    entry = history_entry(data, {"user": "ana", "controller": "ci-runner-3", "job": "https://ci/jobs/7", "pid": 1})
    assert entry == {
        "action": "deploy",
        "version": "2.0.0",
        "environment": "stage",
        "result": "failed",
        "failures": ["gate failed on app2"],
        "started": 1000.0,
        "seconds": 80.2,
        "user": "ana",
        "controller": "ci-runner-3",
        "job": "https://ci/jobs/7",
        "hosts": {"app1": {"release": "2.0.0", "was": "1.0.0"}, "app2": {"release": "1.0.0", "was": None}},
    }


def test_history_lines_read_like_a_log():
    data = summary(fleet(), ["app1", "app2"], {**RUN, "failures": ["gate failed on app2"]})
    entry = history_entry(data, {"user": "ana", "controller": "ci-runner-3", "job": ""})
    assert history_lines([entry]) == [
        "1970-01-01 00:16:40Z ana@ci-runner-3: deploy 2.0.0 to stage FAILED in 80.2 s"
        " (app1 1.0.0 -> 2.0.0, app2 1.0.0); gate failed on app2"
    ]


def test_a_rollback_shows_the_migrations_it_reversed_first():
    reverse = {"started": 1005.0, "seconds": 0.5, "databases": {"default": {"reversed": ["airports.0004_x"]}}}
    data = summary({"app1": {"__deploy_migrations_reverse": reverse}}, [], {**RUN, "action": "rollback"})
    assert summary_lines(data)[1:] == ["migrations reverse on app1: reversed airports.0004_x (0.5 s)"]
