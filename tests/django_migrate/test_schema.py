"""Phase schema, the rollback's check: does the live schema have every table and column the models
of a release to return to need? Against a real PostgreSQL, with the seeds' Airport: the new release
(airports_v2) dropped `name`, which the old one (airports_v1) reads.

The check with v1's code fails naming the column, the migrations v1 does not know and the one to
reverse to; the reversal with v2's code puts the column back (and a reversal that would drop
v2's own column is refused); the check with v1's code then passes
and relaxes the column (NOT NULL without a default after the reversal) so that v2, still serving
while hosts switch back, keeps inserting rows without it.
"""

import psycopg

from .helpers import PROJECTS, columns, manage, module_args, nullable, run_module, snapshot

V1, V2 = PROJECTS / "airports_v1", PROJECTS / "airports_v2"
SETTINGS = "airportsite.settings"


def test_the_schema_check_names_a_dropped_column_and_passes_once_the_reversal_put_it_back(postgres, db, tmp_path):
    env = postgres.env(db)
    manage(V2, env, "migrate", "--verbosity=0")
    assert "name" not in columns(snapshot(postgres, db), "airports_airport")

    own = run_module(tmp_path, module_args(V2, SETTINGS, env, phase="schema"))
    assert not own.failed, own.result
    assert own.db()["missing_columns"] == []
    assert own.db()["unknown_migrations"] == []

    refused = run_module(tmp_path, module_args(V1, SETTINGS, env, phase="schema"))
    assert refused.failed
    assert "this code's models need column airports_airport.name, which the database lacks" in refused.result["msg"]
    assert refused.db()["missing_columns"] == ["airports_airport.name"]
    assert refused.db()["missing_tables"] == []
    assert refused.db()["unknown_migrations"] == [
        "airports.0002_airport_country",
        "airports.0003_remove_airport_name",
    ]
    assert refused.db()["reverse_to"] == ["airports:0001_initial"]
    assert not refused.result["changed"]

    # The reversal, with the code that has the migrations: back to 0001 would drop country, which
    # v2 (still serving during a rollback) reads: refused before any change.
    too_far = run_module(tmp_path, module_args(V2, SETTINGS, env, phase="reverse", targets=["airports:0001"]))
    assert too_far.failed
    assert "airports.0002_airport_country (AddField airport.country)" in too_far.result["msg"]
    assert too_far.db()["would_reverse"] == ["airports.0003_remove_airport_name", "airports.0002_airport_country"]
    assert not too_far.result["changed"]
    assert "name" not in columns(snapshot(postgres, db), "airports_airport")

    back_to_0002 = module_args(V2, SETTINGS, env, phase="reverse", targets=["airports:0002"])
    dry = run_module(tmp_path, back_to_0002, check_mode=True)
    assert not dry.failed, dry.result
    assert dry.db()["would_reverse"] == ["airports.0003_remove_airport_name"]
    assert not dry.result["changed"]

    reversed_ = run_module(tmp_path, back_to_0002)
    assert not reversed_.failed, reversed_.result
    assert reversed_.db()["reversed"] == ["airports.0003_remove_airport_name"]
    assert reversed_.result["changed"]
    assert columns(snapshot(postgres, db), "airports_airport") == {"id", "iata", "country", "name"}
    assert not nullable(snapshot(postgres, db), "airports_airport", "name")

    checked = run_module(
        tmp_path, module_args(V1, SETTINGS, env, phase="schema"), check_mode=True
    )  # check mode: reports, changes nothing
    assert not checked.failed, checked.result
    assert checked.db()["relaxed"] == []

    passed = run_module(tmp_path, module_args(V1, SETTINGS, env, phase="schema", relax=["airports_airport.name"]))
    assert not passed.failed, passed.result
    assert passed.result["changed"]
    assert passed.db()["relaxed"] == [{"table": "airports_airport", "column": "name"}]
    assert nullable(snapshot(postgres, db), "airports_airport", "name")
    with psycopg.connect(postgres.dsn(db), autocommit=True) as conn:
        conn.execute("INSERT INTO airports_airport (iata, country) VALUES ('OSL', 'NO')")  # as v2 writes it: no name

    again = run_module(tmp_path, module_args(V1, SETTINGS, env, phase="schema", relax=["airports_airport.name"]))
    assert not again.failed, again.result
    assert not again.result["changed"]
