#!/usr/bin/python3
"""Docker's HEALTHCHECK: GET http://127.0.0.1:8000/healthz inside the container, exit 0 on 200.

``/healthz`` asks the database, the cache and the broker (and MongoDB when configured); the JSON
answer (or the error) is printed so that ``docker inspect`` shows why a container is unhealthy.
The Host header is the first of DJANGO_ALLOWED_HOSTS, so the check passes Django's host validation
whatever names the operator allows. Standard library only; proxies from the environment are ignored.
"""

import os
import re
import sys
import urllib.error
import urllib.request

URL = "http://127.0.0.1:8000/healthz"
TIMEOUT = 8


def host_header() -> str:
    for host in re.split(r"[,\s]+", os.environ.get("DJANGO_ALLOWED_HOSTS", "")):
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


def main() -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(URL, headers={"Host": host_header()})
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            print(response.status, response.read(2000).decode("utf-8", "replace"))
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read(2000).decode("utf-8", "replace"))
    except OSError as exc:
        print(f"no answer from {URL}: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
