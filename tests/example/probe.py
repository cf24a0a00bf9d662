"""Run inside a release's venv (cwd: the release's src/): requests through Django's whole stack.

No database, cache or broker is reachable (the test points their URLs at closed ports), so this
exercises what works without them: the health check's failure report, the client address and
scheme behind the unix socket, the SSL redirect and its exemption, and input validation. Prints
one JSON object.
"""

import json
import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

import django

django.setup()

from django.test import Client  # noqa: E402 - after django.setup()

HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}
UNIX_SOCKET = {"REMOTE_ADDR": ""}


def summary(response):
    is_json = response.get("Content-Type", "").startswith("application/json")
    return {
        "status": response.status_code,
        "location": response.get("Location"),
        "json": json.loads(response.content) if is_json else None,
    }


client = Client(raise_request_exception=True)
post_json = {"content_type": "application/json", **HTTPS}
results = {
    "healthz": client.get("/healthz", **UNIX_SOCKET),
    "whoami_http": client.get("/whoami", **UNIX_SOCKET),
    "whoami_socket": client.get(
        "/whoami",
        **UNIX_SOCKET,
        **HTTPS,
        HTTP_X_REAL_IP="203.0.113.7",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7",
    ),
    "whoami_tcp": client.get("/whoami", REMOTE_ADDR="192.0.2.10", HTTP_X_REAL_IP="203.0.113.7", **HTTPS),
    "airports_put": client.put("/api/airports", **HTTPS),
    "airport_invalid": client.post(
        "/api/airports", {"iata": "TOOLONG", "name": "", "lat": 91, "lon": "x"}, **post_json
    ),
    "airport_not_json": client.post("/api/airports", "{", **post_json),
    "airport_not_object": client.post("/api/airports", "[1]", **post_json),
    "distance_invalid": client.post("/api/distances", {"origin": 3}, **post_json),
}
print(json.dumps({name: summary(response) for name, response in results.items()}))
