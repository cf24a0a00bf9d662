"""django_sequences: the seed's IntegrityError after rows were copied with their ids, and its fix.

A copy that inserts rows with explicit ids (pgloader, loaddata, a chunked bulk_create) leaves the
table's sequence where it was: the next insert without an id fails with a duplicate key. The module
lists such sequences in check mode, per alias, and sets them past the largest id otherwise."""

import re

import psycopg
import pytest

from .helpers import PROJECTS, ROOT, module_args, run_module

PROJECT = PROJECTS / "airports_v1"
SETTINGS = "airportsite.settings"
SEQUENCES = ROOT / "plugins" / "modules" / "django_sequences.py"
COPIED = 500


def test_a_sequence_behind_copied_rows_is_listed_in_check_mode_then_reset(postgres, db, tmp_path):
    env = postgres.env(db)
    migrated = run_module(tmp_path, module_args(PROJECT, SETTINGS, env, phase="all"))
    assert not migrated.failed, migrated.result
    with psycopg.connect(postgres.dsn(db), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO airports_airport (id, iata, name)"
            " SELECT i, lpad(i::text, 3, '0'), 'copied ' || i FROM generate_series(1, %s) i",
            [COPIED],
        )
        # The seed's error, reproduced: the sequence still starts at 1.
        with pytest.raises(psycopg.errors.UniqueViolation, match=r"Key \(id\)=\(1\) already exists"):
            conn.execute("INSERT INTO airports_airport (iata, name) VALUES ('NEW', 'inserted without an id')")

        listed = run_module(tmp_path, module_args(PROJECT, SETTINGS, env), check_mode=True, module=SEQUENCES)
        assert not listed.failed, listed.result
        behind = listed.result["databases"]["default"]["behind"]
        assert [(b["table"], b["column"], b["next"], b["max"]) for b in behind] == [
            ("airports_airport", "id", 2, COPIED)
        ], behind
        assert listed.result["databases"]["default"]["reset"] == []
        assert re.search(
            r"default: 1 of \d+ sequences behind: \S*airports_airport_id_seq"
            r" \(next 2, airports_airport\.id up to 500\)",
            listed.result["msg"],
        ), listed.result["msg"]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO airports_airport (iata, name) VALUES ('NEW', 'check mode changed nothing')")

        reset = run_module(tmp_path, module_args(PROJECT, SETTINGS, env), module=SEQUENCES)
        assert not reset.failed, reset.result
        assert reset.result["changed"]
        assert reset.result["databases"]["default"]["reset"] == [behind[0]["sequence"]]
        new_id = conn.execute(
            "INSERT INTO airports_airport (iata, name) VALUES ('NEW', 'after') RETURNING id"
        ).fetchone()
        assert new_id == (COPIED + 1,)

        again = run_module(tmp_path, module_args(PROJECT, SETTINGS, env), module=SEQUENCES)
        assert not again.failed, again.result
        assert not again.result["changed"], "a sequence past its table's largest id was reset again"
        assert again.result["databases"]["default"]["behind"] == []
        assert again.result["databases"]["default"]["checked"] >= 1


def test_an_unknown_alias_is_named(postgres, db, tmp_path):
    run = run_module(tmp_path, module_args(PROJECT, SETTINGS, postgres.env(db), databases=["nope"]), module=SEQUENCES)
    assert run.failed
    assert "databases: nope not in the settings' DATABASES (default)" in run.result["msg"]
