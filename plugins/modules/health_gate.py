#!/usr/bin/python
# Copyright: djangoops.stack developers
# SPDX-License-Identifier: Apache-2.0 (the collection's license, see galaxy.yml)
"""The health gate of an app host: its own nginx must serve the new release's pages."""

# ruff: noqa: E402 - an Ansible module documents itself before its imports (ansible-test's order)

from __future__ import annotations

DOCUMENTATION = r"""
module: health_gate
short_description: Wait until an app host serves a list of pages (and, optionally, reports a version)
version_added: "0.1.0"
description:
  - Requests every path of O(paths) (the smoke URLs) on C(http://127.0.0.1:<port>) with the
    C(Host) header O(host), without following redirects, until each has answered below 500
    once, or O(timeout) seconds have passed. Needs nothing from the app (by default the deploy
    gives the site root).
  - A smoke URL that answers with a redirect to itself over HTTPS fails the gate at once too
    (C(SECURE_SSL_REDIRECT) answered before any view ran); other redirects are answers.
  - A smoke URL that answers 404 fails the gate at once (the path is wrong, or the release does
    not serve it, and waiting would not help), naming the path; so does a 400, Django's answer
    to a C(Host) outside C(ALLOWED_HOSTS) (no page of the release ran).
  - With O(health_path), that path must also answer 2xx; when its answer is a JSON object with a
    C(version) field, that field must equal O(version) (a process of the release before would
    report its own). A 404 there fails at once too.
  - Changes nothing; runs the same in check mode.
options:
  paths:
    description: The smoke URLs, paths starting with C(/); each must answer below 500 and not 404.
    type: list
    elements: str
    default: [/]
  health_path:
    description: A health endpoint that must answer 2xx (empty for none).
    type: str
    default: ""
  version:
    description: The version the health endpoint must report in its JSON C(version) field, if it has one.
    type: str
    default: ""
  port:
    description: The port the host's nginx listens on.
    type: int
    default: 8080
  host:
    description: The C(Host) header (a name in the app's C(ALLOWED_HOSTS)).
    type: str
    default: localhost
  timeout:
    description: Seconds to wait for every path to pass.
    type: int
    default: 60
  interval:
    description: Seconds between two rounds of requests.
    type: float
    default: 1.0
  forwarded_proto:
    description:
      - Sent as C(X-Forwarded-Proto) (empty sends none). The app host's nginx believes it from the
        host itself, so a project behind TLS (C(SECURE_SSL_REDIRECT) with C(SECURE_PROXY_SSL_HEADER))
        renders its pages for the gate as for its users.
    type: str
    choices: ["", http, https]
    default: ""
author:
  - djangoops.stack developers (@djangoops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; runs in check mode as in a real run.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Pass the health gate
  djangoops.stack.health_gate:
    paths: [/, /admin/login/]
    host: shop.example.com
    timeout: 60

- name: Also check the version a health endpoint reports
  djangoops.stack.health_gate:
    paths: [/]
    health_path: /healthz
    version: "2.0.0"
"""

RETURN = r"""
passed:
  description: Whether every path passed.
  returned: always
  type: bool
pages:
  description: Per path, the last answer (C(status), 0 when no HTTP answer), C(passed) and C(seconds) until it passed.
  returned: always
  type: dict
  sample: {"/": {"status": 200, "passed": true, "seconds": 1.2, "detail": ""}}
seconds:
  description: Seconds the gate took.
  returned: always
  type: float
"""

import http.client
import json
import time

from ansible.module_utils.basic import AnsibleModule


def request(port, host, path, timeout=5.0, proto=""):
    """GET path without following redirects -> (status, body excerpt); status 0 when no HTTP answer.
    A redirect's body is its Location header (what judge() needs of it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": host, "User-Agent": "djangoops-health-gate"}
    if proto:
        headers["X-Forwarded-Proto"] = proto
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if 300 <= response.status < 400:
            return response.status, f"Location: {response.getheader('Location', '')}"
        return response.status, response.read(4096).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def judge(path, status, body, health_path, version, host="localhost"):
    """-> 'pass', 'wait' (try again) or 'fail' (stop at once), and a detail for the message."""
    if status in (301, 302, 307, 308) and body.strip() == f"Location: https://{host}{path}":
        # Django's SECURE_SSL_REDIRECT before any view ran: the page itself was never served.
        return "fail", f"answered {status}, a redirect to https://{host}{path}: no page of the release ran"
    if status == 404:
        return "fail", "answered 404: the release does not serve this path"
    if status == 400:
        # Django's answer to a Host header outside ALLOWED_HOSTS: no page of the release ran.
        return "fail", "answered 400 Bad Request: is the Host header one of the app's ALLOWED_HOSTS"
    if path != health_path:
        if 0 < status < 500:
            return "pass", ""
        return "wait", body.strip()[:300]
    if not 200 <= status < 300:
        return "wait", body.strip()[:300]
    try:
        reported = json.loads(body).get("version")
    except (ValueError, AttributeError):
        reported = None
    if version and reported is not None and str(reported) != version:
        return "wait", f"reports version {reported!r}, expected {version!r}"
    return "pass", ""


def run_gate(params, clock=time.monotonic, sleep=time.sleep, get=request):
    """Poll until every path passed, one failed for good, or the timeout -> (passed, pages, seconds, msg)."""
    paths = list(dict.fromkeys(params["paths"] + ([params["health_path"]] if params["health_path"] else [])))
    start = clock()
    pages = {path: {"status": None, "passed": False, "seconds": None, "detail": "not requested"} for path in paths}
    while True:
        for path in paths:
            page = pages[path]
            if page["passed"]:
                continue
            status, body = get(params["port"], params["host"], path)
            verdict, detail = judge(path, status, body, params["health_path"], params["version"], params["host"])
            page.update(status=status, detail=detail)
            if verdict == "pass":
                page.update(passed=True, seconds=round(clock() - start, 1))
            elif verdict == "fail":
                if status == 400:
                    hint = "set deploy_health_host to a name in the app's ALLOWED_HOSTS"
                elif 300 <= status < 400:
                    hint = (
                        f"the gate sent X-Forwarded-Proto: {params['forwarded_proto'] or '(none)'}"
                        " (deploy_health_forwarded_proto, https by default, as the lb and a TLS terminator send):"
                        " the project must believe it (SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO',"
                        " 'https')), or list pages that answer over HTTP in deploy_smoke_urls"
                    )
                elif path != params["health_path"]:
                    hint = "set deploy_smoke_urls to pages the project serves"
                else:
                    hint = "set deploy_health_path to the project's health endpoint, or to '' for none"
                msg = f"GET {path} (Host {params['host']}) {detail}; {hint}"
                return False, pages, round(clock() - start, 1), msg
        elapsed = clock() - start
        if all(page["passed"] for page in pages.values()):
            return True, pages, round(elapsed, 1), ""
        if elapsed >= params["timeout"]:
            waiting = "; ".join(
                f"GET {path}: HTTP {page['status'] or 'none'} {page['detail']}".strip()
                for path, page in pages.items()
                if not page["passed"]
            )
            msg = f"not served within {params['timeout']} s (Host {params['host']}): {waiting}"
            return False, pages, round(elapsed, 1), msg
        sleep(params["interval"])


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "str", "default": ["/"]},
            "health_path": {"type": "str", "default": ""},
            "version": {"type": "str", "default": ""},
            "port": {"type": "int", "default": 8080},
            "host": {"type": "str", "default": "localhost"},
            "timeout": {"type": "int", "default": 60},
            "interval": {"type": "float", "default": 1.0},
            "forwarded_proto": {"type": "str", "default": "", "choices": ["", "http", "https"]},
        },
        supports_check_mode=True,
    )
    params = module.params
    bad = [path for path in params["paths"] + [params["health_path"] or "/"] if not path.startswith("/")]
    if bad:
        module.fail_json(msg=f"paths must start with '/': {', '.join(bad)}")
    if not params["paths"] and not params["health_path"]:
        module.fail_json(msg="nothing to check: give paths (smoke URLs) or health_path")
    passed, pages, seconds, msg = run_gate(
        params, get=lambda port, host, path: request(port, host, path, proto=params["forwarded_proto"])
    )
    if not passed:
        module.fail_json(msg=msg, passed=False, pages=pages, seconds=seconds)
    module.exit_json(changed=False, passed=True, pages=pages, seconds=seconds)


if __name__ == "__main__":
    main()
