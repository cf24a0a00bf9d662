"""The django_copy module's pieces that need no database (plugins/modules/django_copy.py): the source
URL read and refused, the pgloader load file, the checksum queries. The copy itself runs against
MariaDB and PostgreSQL in the datacopy scenario; `make bench-datacopy` measures it."""

import importlib.util
import sys

import pytest

from tests.conftest import ROOT


def load_module():
    sys.path.insert(0, str(ROOT / ".collections"))  # the module imports its module_utils from there
    path = ROOT / "plugins" / "modules" / "django_copy.py"
    spec = importlib.util.spec_from_file_location("djangoops_django_copy_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


django_copy = load_module()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://u:p@host/db", "the scheme must be mysql:// or postgresql:// (got ftp://)"),
        ("mysql://u:p@host", "give a host and a database name"),
        ("mysql:///db", "give a host and a database name"),
    ],
)
def test_a_bad_source_is_refused_naming_it(tmp_path, url, message):
    with pytest.raises(django_copy.CopyError, match=r"^source: ") as raised:
        django_copy.Source(url, "default", str(tmp_path))
    assert message in str(raised.value)


def test_a_mysql_source_keeps_its_password_out_of_the_url_and_off_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setattr(django_copy.shutil, "which", lambda name: f"/usr/bin/{name}")
    source = django_copy.Source("mysql://legacy:p%40ss%3Aw%2Frd%22@db-old:3307/legacy", "default", str(tmp_path))
    assert source.label == "mysql://legacy@db-old:3307/legacy"
    assert source.password == 'p@ss:w/rd"'  # noqa: S105 - the test's own
    defaults = tmp_path / "source.cnf"
    assert defaults.stat().st_mode & 0o777 == 0o600
    assert "p@ss:w/rd" in defaults.read_text()  # read by the client only
    text = django_copy.load_file(source, "pgsql://app@db:5432/app?sslmode=require", ["airports_airport"], [], 4, False)
    assert "p@ss" not in text
    assert "FROM mysql://legacy@db-old:3307/legacy" in text
    assert "ALTER SCHEMA 'legacy' RENAME TO 'public'" in text
    assert "WITH data only, no foreign keys, reset no sequences, no truncate, on error stop" in text
    assert "type tinyint when (= precision 1) to boolean drop typemod using tinyint-to-boolean" in text
    assert "type datetime to timestamptz drop default drop not null using zero-dates-to-null" in text
    assert "INCLUDING ONLY TABLE NAMES MATCHING 'airports_airport'" in text


def test_column_rules_come_before_the_type_rules():
    source = type("S", (), {"mysql": True, "user": "u", "host": "h", "port": 3306, "name": "n"})()
    rule = 'column t.location to geography drop typemod using (lambda (wkt) (when wkt (format nil "SRID=4326;~a" wkt)))'
    text = django_copy.load_file(source, "pgsql://app@db:5432/app", ["t"], [rule], 1, False)
    assert text.index(rule) < text.index("type tinyint")


def test_a_postgresql_source_doubles_the_at_sign_pgloader_reads_as_the_end_of_the_password():
    source = type(
        "S",
        (),
        {
            "mysql": False,
            "user": "u",
            "host": "h",
            "port": 5432,
            "name": "n",
            "password": "a@b:c",
            "options": {"sslmode": "verify-full"},
        },
    )()
    text = django_copy.load_file(source, "pgsql://app@db:5432/app", ["t"], [], 1, False)
    assert "FROM pgsql://u:a@@b:c@h:5432/n?sslmode=require" in text
    assert "IN SCHEMA 'public'" in text


def test_the_checksums_read_the_same_text_on_both_sides():
    columns = [("id", "integer"), ("name", "varchar"), ("active", "boolean")]
    mysql = django_copy.checksum_sql("t", columns, mysql=True)
    postgresql = django_copy.checksum_sql("t", columns, mysql=False)
    assert "CONCAT_WS('|', COALESCE(CAST(`id` AS CHAR), '~')" in mysql
    assert "CONV(SUBSTRING(MD5(" in mysql
    assert """COALESCE("active"::int::text, '~')""" in postgresql
    assert "('x' || substr(md5(" in postgresql
    assert django_copy.column_kind("varchar(150)") == "varchar"
    assert django_copy.column_kind("geography(POINT,4326)") == ""
    assert django_copy.column_kind("double precision") == ""
