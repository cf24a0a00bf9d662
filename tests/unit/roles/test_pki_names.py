"""pki's certificates name addresses as IP entries and everything else as DNS entries
(vars/main.yml's __pki_san): Python's ssl, unlike libpq, matches a client's address only against
IP entries, so an app that reaches Redis or PostgreSQL by address needs them."""

import pytest

from tests.unit.roles.role_templates import render, role_variables

VARS = role_variables("pki")


def san(names: list[str], address_dns_names: bool = False) -> list[str]:
    variables = {**VARS, "pki_names": names, "pki_address_dns_names": address_dns_names}
    return render("{{ __pki_san }}", variables)


@pytest.mark.parametrize(
    ("name", "entry"),
    [
        pytest.param("db1", "DNS:db1", id="host-name"),
        pytest.param("db1.example.com", "DNS:db1.example.com", id="fqdn"),
        pytest.param("localhost", "DNS:localhost", id="localhost"),
        pytest.param("127.0.0.1", "IP:127.0.0.1", id="loopback-v4"),
        pytest.param("172.18.0.2", "IP:172.18.0.2", id="private-v4"),
        pytest.param("::1", "IP:::1", id="loopback-v6"),
        pytest.param("fd00:10::5", "IP:fd00:10::5", id="private-v6"),
        pytest.param("10.0.0.1.nip.io", "DNS:10.0.0.1.nip.io", id="name-that-starts-like-an-address"),
    ],
)
def test_each_name_becomes_its_kind_of_entry(name, entry):
    assert san([name]) == [entry]


def test_the_order_is_kept():
    assert san(["db1", "127.0.0.1", "10.0.0.5"]) == ["DNS:db1", "IP:127.0.0.1", "IP:10.0.0.5"]


def test_addresses_are_dns_entries_too_when_asked():
    """pgBackRest 2.45 matches the host it connects to against DNS entries only (pki_address_dns_names)."""
    assert san(["backup", "10.0.0.5", "fd00::5"], address_dns_names=True) == [
        "DNS:backup",
        "IP:10.0.0.5",
        "IP:fd00::5",
        "DNS:10.0.0.5",
        "DNS:fd00::5",
    ]
