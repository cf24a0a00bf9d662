"""A stand-in for one release's app servers: inserts and reads Airport rows in a loop with that
release's code, and counts what fails.

    python airport_client.py --project projects/airports_v1 --mode old --control DIR

Bounded: stops after --max-requests requests, after --max-seconds, or when DIR/stop exists. Writes
its count of requests to DIR/progress as it goes and prints a JSON summary at the end. One request
is what a page of the seeds' app does: create an airport, list the latest ones, fetch one back.
"""

import argparse
import json
import os
import string
import sys
import time
from collections import Counter
from pathlib import Path


def code(index, first_letters):
    first = first_letters[index // 676 % len(first_letters)]
    return first + string.ascii_uppercase[index // 26 % 26] + string.ascii_uppercase[index % 26]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--mode", choices=["old", "new"], required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--max-requests", type=int, default=8000)
    parser.add_argument("--max-seconds", type=float, default=90)
    parser.add_argument("--pause", type=float, default=0.01)
    options = parser.parse_args()

    sys.path.insert(0, options.project)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airportsite.settings")
    import django

    django.setup()
    from airports.models import Airport

    control = Path(options.control)
    # Old and new code write disjoint codes so their rows never collide on the unique iata.
    letters = string.ascii_uppercase[:13] if options.mode == "old" else string.ascii_uppercase[13:]
    limit = min(options.max_requests, 13 * 676)
    errors, examples, done = Counter(), [], 0
    deadline = time.monotonic() + options.max_seconds
    while done < limit and time.monotonic() < deadline and not (control / "stop").exists():
        iata = code(done, letters)
        try:
            if options.mode == "old":
                Airport.objects.create(iata=iata, name=f"Airport {iata}")
                [a.name for a in Airport.objects.order_by("-id")[:5]]
                Airport.objects.get(iata=iata).name  # noqa: B018 - the read is the point
            else:
                Airport.objects.create(iata=iata)
                [a.country for a in Airport.objects.order_by("-id")[:5]]
                Airport.objects.get(iata=iata).country  # noqa: B018
        except Exception as exc:
            errors[type(exc).__name__] += 1
            if len(examples) < 3:
                examples.append(str(exc).splitlines()[0])
        done += 1
        if done % 10 == 0:
            (control / "progress").write_text(str(done))
        time.sleep(options.pause)
    (control / "progress").write_text(str(done))
    print(
        json.dumps(
            {
                "mode": options.mode,
                "requests": done,
                "errors": sum(errors.values()),
                "by_type": dict(errors),
                "examples": examples,
            }
        )
    )


if __name__ == "__main__":
    main()
