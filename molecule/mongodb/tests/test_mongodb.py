"""MongoDB as the app host sees it, checked from mongodb-client over the scenario network."""

import json

import testinfra

SERVER = "mongodb-debian12"
APP_URI = f"mongodb://app:molecule-app-password@{SERVER}:27017/app?authSource=app&serverSelectionTimeoutMS=5000"

testinfra_hosts = ["mongodb-client"]

SCRIPT = """
import json, sys
import pymongo
from pymongo.errors import OperationFailure
client = pymongo.MongoClient(sys.argv[1])
if sys.argv[2] == "roundtrip":
    docs = client.app.airports
    docs.delete_many({"iata": "CDG"})
    docs.insert_one({"iata": "CDG", "name": "Paris Charles de Gaulle"})
    print(json.dumps(docs.find_one({"iata": "CDG"}, {"_id": 0})))
else:
    try:
        client.admin.command("listDatabases")
        print(json.dumps({"refused": False}))
    except OperationFailure as exc:
        print(json.dumps({"refused": True, "code": exc.code}))
"""


def run_client(host, uri, action):
    return json.loads(host.check_output("python3 -c %s %s %s", SCRIPT, uri, action))


def test_app_user_inserts_and_finds_a_document(host):
    assert run_client(host, APP_URI, "roundtrip") == {"iata": "CDG", "name": "Paris Charles de Gaulle"}


def test_unauthenticated_list_databases_is_refused(host):
    result = run_client(host, f"mongodb://{SERVER}:27017/?serverSelectionTimeoutMS=5000", "list")
    assert result["refused"] is True
    assert result["code"] == 13  # Unauthorized


def test_authorization_is_enabled_and_bind_is_as_named():
    server = testinfra.get_host(f"docker://{SERVER}")
    conf = server.file("/etc/mongod.conf").content_string
    assert "authorization: enabled" in conf
    own = server.interface("eth0").addresses[0]
    listening = server.check_output("ss -ltnH 'sport = :27017'")
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()}
    assert addresses == {"127.0.0.1", own}
