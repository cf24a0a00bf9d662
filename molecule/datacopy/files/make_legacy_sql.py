# ruff: noqa: S608 - SQL text written to a file, from this script's own constants
"""Write the legacy MySQL database of the datacopy scenario: the example app's tables as Django's MySQL
backend makes them, with rows of years of use (ids with gaps up to 111111, names with quotes, a
backslash and non-Latin text, NULLs, zero dates MySQL let in) and a table no model knows.

    python3 make_legacy_sql.py OUTPUT.sql
"""

import random
import sys

AIRPORTS = 400
DISTANCES = 5000
NAMES = ["Nord", "Sud", "Zürich Kloten", 'Café "Central"', "O'Hare", "Back\\slash", "Привет", "北京首都"]


def quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def main(path: str) -> None:
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    lines = [
        "SET SESSION sql_mode = '';",
        "CREATE TABLE django_migrations (id int AUTO_INCREMENT PRIMARY KEY, app varchar(255) NOT NULL,"
        " name varchar(255) NOT NULL, applied datetime(6) NOT NULL) ENGINE=InnoDB;",
        "INSERT INTO django_migrations (app, name, applied)"
        " VALUES ('airports', '0001_initial', '2019-03-01 10:00:00');",
        "CREATE TABLE airports_airport (id int AUTO_INCREMENT PRIMARY KEY, iata varchar(3) NOT NULL UNIQUE,"
        " name varchar(100) NOT NULL, location point NOT NULL, SPATIAL INDEX (location)) ENGINE=InnoDB;",
        "CREATE TABLE airports_distance (id bigint AUTO_INCREMENT PRIMARY KEY, km double NULL,"
        " requested_at datetime(6) NOT NULL, computed_at datetime(6) NULL, destination_id int NOT NULL,"
        " origin_id int NOT NULL,"
        " CONSTRAINT airports_distance_destination_fk FOREIGN KEY (destination_id)"
        " REFERENCES airports_airport (id),"
        " CONSTRAINT airports_distance_origin_fk FOREIGN KEY (origin_id)"
        " REFERENCES airports_airport (id)) ENGINE=InnoDB;",
        "CREATE TABLE legacy_audit (id int AUTO_INCREMENT PRIMARY KEY, action varchar(20) NOT NULL,"
        " reviewed tinyint(1) NOT NULL, at datetime NOT NULL) ENGINE=InnoDB;",
    ]
    airports, used, ident = [], set(), 0
    for number in range(AIRPORTS):
        # Dense from 1 at first (the next insert without an id collides, as in the seed), gaps after.
        ident += 1 if number < 100 else rng.randint(1, 40)
        code = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
        while code in used:
            code = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
        used.add(code)
        point = f"POINT({rng.uniform(-179, 179):.6f} {rng.uniform(-85, 85):.6f})"
        airports.append(
            f"({ident},{quote(code)},{quote(f'{rng.choice(NAMES)} {number}')},ST_GeomFromText('{point}', 4326))"
        )
    for start in range(0, len(airports), 100):
        lines.append(
            "INSERT INTO airports_airport (id, iata, name, location) VALUES "
            + ",".join(airports[start : start + 100])
            + ";"
        )
    ids = [int(row[1 : row.index(",")]) for row in airports]
    rows, ident = [], 1000
    for number in range(DISTANCES):
        ident += rng.randint(1, 30)
        origin, destination = rng.sample(ids, 2)
        km = "NULL" if number % 7 == 0 else f"{rng.uniform(10, 19000):.3f}"
        requested = (
            f"'20{rng.randint(18, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            f" {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}'"
        )
        computed = "NULL" if km == "NULL" else ("'0000-00-00 00:00:00'" if number % 11 == 0 else requested)
        rows.append(f"({ident},{km},{requested},{computed},{destination},{origin})")
    rows.append(f"(111111,42.5,'2024-12-31 23:59:59.999999','2025-01-01 00:00:00.000001',{ids[0]},{ids[1]})")
    for start in range(0, len(rows), 500):
        lines.append(
            "INSERT INTO airports_distance (id, km, requested_at, computed_at, destination_id, origin_id) VALUES "
            + ",".join(rows[start : start + 500])
            + ";"
        )
    audit = ",".join(
        f"({n + 1},'{rng.choice(['create', 'update', 'delete'])}',{n % 2},'2020-02-{n % 28 + 1:02d} 12:00:00')"
        for n in range(50)
    )
    lines.append(f"INSERT INTO legacy_audit (id, action, reviewed, at) VALUES {audit};")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
