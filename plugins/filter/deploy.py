# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""The deploy's bookkeeping as filters: the summary of a run, its printed lines, the hosts behind.

The deploy role's last play reads what every host recorded during the run (its hostvars) and turns
it into one summary; the functions here do that on plain dictionaries, so they are unit-tested
without Ansible (tests/unit/plugins/filter/test_deploy.py).
"""

from __future__ import annotations

import datetime

PHASES = ("reverse", "pre", "post")


def _get(variables, name, default=None):
    """One variable of one host's hostvars (a mapping that may raise on undefined names)."""
    try:
        value = variables[name]
    except (KeyError, TypeError):
        return default
    if value is None or type(value).__name__.endswith("Undefined"):
        return default
    return value


def _round(value):
    return None if value is None else round(float(value), 1)


def host_entry(variables) -> dict:
    """What one app or worker host did in this run."""
    live = _get(variables, "django_app_live")
    entry = {
        "release": (
            live.get("current", "")
            if isinstance(live, dict) and str(live.get("reached", True)).lower() != "false"
            else "unknown (not reached)"
        ),
        "was": _get(variables, "__deploy_switched_from"),
        "failure": _get(variables, "__deploy_failure"),
        "out_of_rotation": str(_get(variables, "__deploy_drained", False)).lower() == "true",
        "kept_serving": list(_get(variables, "__deploy_kept_serving") or []),
        # The release each side went back to behind its own gate: app (drained, health gate, put
        # back: switch.yml) and worker (worker gate: worker.yml); None when that side did not.
        "went_back": {side: _get(variables, f"__deploy_{side}_went_back") for side in ("app", "worker")},
    }
    for step in ("switch", "worker"):
        seconds = _get(variables, f"__deploy_{step}_seconds")
        started = _get(variables, f"__deploy_{step}_started") if seconds is not None else None
        entry[f"{step}_seconds"] = None if seconds is None else float(seconds)
        entry[f"{step}_started"] = _round(started)
        entry[f"{step}_finished"] = None if started is None else round(float(started) + float(seconds), 1)
    return entry


def migration_entry(host: str, result: dict) -> dict:
    """One phase's migrations (the django_migrate module's result) as the summary shows them."""
    applied, relaxed, deferred, first, recorded, reversed_ = [], [], [], [], [], []
    for alias, database in (result.get("databases") or {}).items():
        applied.extend(database.get("applied") or [])
        reversed_.extend(database.get("reversed") or [])
        recorded.extend(database.get("recorded") or [])
        if database.get("first_install"):
            first.append(alias)
        relaxed.extend(f"{c['table']}.{c['column']}" for c in database.get("relaxed") or [])
        deferred.extend(later["migration"] for later in database.get("deferred") or [])
    started, seconds = result.get("started"), result.get("seconds")
    return {
        "host": host,
        "seconds": seconds,
        "started": started,
        "finished": round(started + seconds, 1) if started is not None and seconds is not None else None,
        "applied": applied,
        "recorded": recorded,
        "relaxed": relaxed,
        "deferred": deferred,
        "first_install": first,
        "reversed": reversed_,
        "restore_point": result.get("restore_point") or None,
    }


def summary(hostvars, hosts: list, run: dict, all_hosts: list | None = None) -> dict:
    """The run's summary from every host's variables ({host: variables})."""
    out_hosts = {}
    for host in dict.fromkeys(hosts):
        out_hosts[host] = host_entry(hostvars[host] if host in hostvars else {})
    migrations = {}
    for phase in PHASES:
        for host in all_hosts if all_hosts is not None else list(hostvars):
            if host not in hostvars:
                continue
            result = _get(hostvars[host], f"__deploy_migrations_{phase}")
            if isinstance(result, dict):
                migrations[phase] = migration_entry(host, result)
                break
    failures = list(run.get("failures") or [])
    return {
        "action": run["action"],
        "version": run["version"],
        "environment": run["environment"],
        "result": "failed" if failures else "ok",
        "failures": failures,
        "started": _round(run["started"]),
        "seconds": round(float(run["now"]) - float(run["started"]), 1),
        "build_seconds": None if run.get("build_seconds") in (None, "") else float(run["build_seconds"]),
        "hosts": out_hosts,
        "migrations": migrations,
    }


def summary_lines(data: dict) -> list[str]:
    """The summary as the lines the deploy prints."""
    build = f" (build {data['build_seconds']} s)" if data.get("build_seconds") is not None else ""
    what = f"{data['action']} {data['version']} to {data['environment']}"
    lines = [f"{what}: {data['result'].upper()} in {data['seconds']} s{build}"]
    for host, entry in sorted(data["hosts"].items()):
        line = f"{host}: {entry['release']}"
        if entry.get("was") is not None:
            line += f" (was {entry['was'] or 'nothing'})"
        if entry.get("switch_seconds") is not None:
            line += f", switch {entry['switch_seconds']} s"
        if entry.get("worker_seconds") is not None:
            line += f", worker {entry['worker_seconds']} s"
        if entry.get("kept_serving"):
            line += (
                f", kept in rotation at {', '.join(entry['kept_serving'])} (its only backend there:"
                " requests waited in gunicorn's socket during the restart)"
            )
        for side, release in sorted((entry.get("went_back") or {}).items()):
            if release is not None:
                line += f", {side} went back to {release} behind its gate"
        if entry.get("out_of_rotation"):
            line += ", OUT OF ROTATION at every lb"
        lines.append(line)
    for phase, m in sorted(data["migrations"].items(), key=lambda item: PHASES.index(item[0])):
        line = f"migrations {phase} on {m['host']}: "
        if m["first_install"]:
            line += f"first install of {', '.join(m['first_install'])}, everything in pre; "
        if phase == "reverse":
            line += f"reversed {', '.join(m.get('reversed') or []) or 'none'}"
        else:
            line += f"applied {', '.join(m['applied']) or 'none'}"
        if m.get("recorded"):
            line += f"; recorded as applied (their tables exist) {', '.join(m['recorded'])}"
        if m["relaxed"]:
            line += f"; relaxed {', '.join(m['relaxed'])}"
        if m["deferred"]:
            line += f"; deferred {', '.join(m['deferred'])}"
        if m["seconds"] is not None:
            line += f" ({m['seconds']} s)"
        if m.get("restore_point"):
            point = m["restore_point"]
            line += f"; restore point before it: {point['name']} at {point['lsn']} on {point['host']}"
        lines.append(line)
    lines.extend(f"FAILED: {failure}" for failure in data["failures"])
    return lines


def behind(hostvars, hosts: list, version: str) -> list[str]:
    """The hosts whose live release (django_app_live.current) is not `version`, in order."""
    out = []
    for host in dict.fromkeys(hosts):
        live = _get(hostvars[host], "django_app_live") if host in hostvars else None
        if not isinstance(live, dict) or live.get("current", "") != version:
            out.append(host)
    return out


def history_entry(data: dict, me: dict) -> dict:
    """One line of the deploy history: who ran what, from which releases to which, how it ended."""
    return {
        "action": data["action"],
        "version": data["version"],
        "environment": data["environment"],
        "result": data["result"],
        "failures": data["failures"],
        "started": data["started"],
        "seconds": data["seconds"],
        "user": me.get("user", ""),
        "controller": me.get("controller", ""),
        "job": me.get("job", ""),
        "hosts": {host: {"release": entry["release"], "was": entry["was"]} for host, entry in data["hosts"].items()},
    }


def history_lines(entries: list) -> list[str]:
    """One line per history entry: when (UTC), who, what, the result, how long, the hosts' releases."""
    lines = []
    for entry in entries:
        at = entry.get("started") or entry.get("at") or 0
        when = datetime.datetime.fromtimestamp(float(at), datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        hosts = ", ".join(
            f"{host} {(h.get('was') + ' -> ') if h.get('was') else ''}{h.get('release')}"
            for host, h in sorted((entry.get("hosts") or {}).items())
        )
        line = (
            f"{when} {entry.get('user', '?')}@{entry.get('controller', '?')}: {entry.get('action', '?')} "
            f"{entry.get('version', '?')} to {entry.get('environment', '?')} {str(entry.get('result', '?')).upper()} "
            f"in {entry.get('seconds', '?')} s"
        )
        if hosts:
            line += f" ({hosts})"
        if entry.get("failures"):
            line += f"; {' | '.join(entry['failures'])}"
        if entry.get("job"):
            line += f" [{entry['job']}]"
        lines.append(line)
    return lines


class FilterModule:
    """djangoops.stack.deploy_summary, deploy_summary_lines, deploy_behind, deploy_history_entry,
    deploy_history_lines."""

    def filters(self):
        return {
            "deploy_summary": lambda hostvars, hosts, run, all_hosts=None: summary(hostvars, hosts, run, all_hosts),
            "deploy_summary_lines": summary_lines,
            "deploy_behind": behind,
            "deploy_history_entry": history_entry,
            "deploy_history_lines": history_lines,
        }
