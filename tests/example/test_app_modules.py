"""The example app's pure modules: the airport data set and the client-address middleware."""

import json
import re

import pytest

from .conftest import EXAMPLE, load_module


@pytest.fixture(scope="module")
def dataset():
    return load_module("djangoops_example_dataset", EXAMPLE / "airports" / "dataset.py")


@pytest.fixture(scope="module")
def middleware():
    return load_module("djangoops_example_middleware", EXAMPLE / "airports" / "middleware.py")


def test_real_airports(dataset):
    real = dataset.real_airports()
    assert len(real) >= 100
    assert len({a["iata"] for a in real}) == len(real)
    for airport in real:
        assert re.fullmatch(r"[A-Z]{3}", airport["iata"]), airport
        assert airport["name"]
        assert -90 <= airport["lat"] <= 90
        assert -180 <= airport["lon"] <= 180
    by_code = {a["iata"]: a for a in real}
    assert round(by_code["CDG"]["lat"]) == 49
    assert round(by_code["JFK"]["lon"]) == -74


def test_dataset_is_larger_than_200_kb_and_only_just(dataset):
    rows = dataset.dataset()
    body = dataset.render(rows)
    assert len(body) > dataset.TARGET_BYTES > 200 * 1024
    assert len(dataset.render(rows[:-1])) <= dataset.TARGET_BYTES
    assert json.loads(body) == rows


def test_dataset_is_deterministic_and_codes_never_clash_with_real_ones(dataset):
    rows = dataset.dataset()
    assert rows == dataset.dataset()
    codes = [row["iata"] for row in rows]
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 3 for code in codes)
    synthetic = [row for row in rows if not row["iata"].isalpha()]
    assert synthetic[0]["iata"] == "Z00"
    assert len(synthetic) > 2000
    assert all(-60 <= row["lat"] <= 70 and -180 <= row["lon"] <= 180 for row in synthetic)


def test_dataset_target_is_a_parameter(dataset):
    small = dataset.dataset(target_bytes=20_000)
    assert 20_000 < len(dataset.render(small)) < 21_000


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        # gunicorn on a unix socket: no peer address; nginx's X-Real-IP is the client
        ({"REMOTE_ADDR": "", "HTTP_X_REAL_IP": "203.0.113.7"}, "203.0.113.7"),
        ({"REMOTE_ADDR": "", "HTTP_X_REAL_IP": "2001:db8::7"}, "2001:db8::7"),
        # only X-Forwarded-For: its last entry is the one nginx appended, never the client's own first entry
        ({"REMOTE_ADDR": "", "HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.7"}, "203.0.113.7"),
        # a TCP peer (runserver, a TCP bind): the headers could come from anyone, keep the peer
        ({"REMOTE_ADDR": "192.0.2.10", "HTTP_X_REAL_IP": "203.0.113.7"}, None),
        # garbage is ignored
        ({"REMOTE_ADDR": "", "HTTP_X_REAL_IP": "not-an-address"}, None),
        ({"REMOTE_ADDR": ""}, None),
    ],
)
def test_client_address(middleware, meta, expected):
    assert middleware.client_address(meta) == expected


def test_middleware_sets_remote_addr(middleware):
    class Request:
        def __init__(self):
            self.META = {"REMOTE_ADDR": "", "HTTP_X_REAL_IP": "203.0.113.7"}

    seen = []
    middleware.UnixSocketClientAddressMiddleware(lambda request: seen.append(request.META["REMOTE_ADDR"]))(Request())
    assert seen == ["203.0.113.7"]
