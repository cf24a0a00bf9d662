"""lock_timeout: a migration that waits for a lock fails fast, leaves the schema as it was, and is
retried per the policy."""

import threading
import time

import psycopg


def hold_lock(cases, table):
    """Another connection reads the table inside an open transaction: its ACCESS SHARE lock blocks
    the ACCESS EXCLUSIVE lock every ALTER TABLE needs, as a long request or report would."""
    conn = psycopg.connect(cases.pg.dsn(cases.name))
    conn.execute(f"SELECT count(*) FROM {table}").fetchall()  # noqa: S608 - a fixed test table name
    return conn


def test_a_blocked_migration_fails_within_the_lock_timeout_and_changes_nothing(cases):
    apps = ["additive"]
    cases.baseline(apps, "additive:0001_initial")
    before = cases.snap()
    holder = hold_lock(cases, "additive_book")
    try:
        run = cases.run(apps, "pre", lock_timeout=2, retries=0)
        still_held = holder.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    finally:
        holder.close()

    assert run.failed
    assert still_held  # the module gave up while the lock was still held: it did not wait it out
    attempts = run.db()["attempts"]
    assert [a["sqlstate"] for a in attempts] == ["55P03"]
    assert "lock timeout" in attempts[0]["error"]
    assert "lock_timeout=2.0s" in run.result["msg"]
    assert run.db()["failed"] == "additive.0002_grow"
    print(f"\nmsg: {run.result['msg']}")
    print(
        f"\nlock_timeout 2s: the blocked migration gave up after {attempts[0]['seconds']:.2f}s "
        f"(module run {run.seconds:.2f}s in all, Django start-up included)"
    )
    assert run.db()["applied"] == []
    assert cases.snap() == before  # no column, no index, no table, nothing recorded


def test_a_blocked_migration_is_retried_until_the_lock_is_released(cases):
    apps = ["additive"]
    cases.baseline(apps, "additive:0001_initial")
    holder = hold_lock(cases, "additive_book")
    released = threading.Timer(2.5, holder.close)
    released.start()
    started = time.monotonic()
    try:
        run = cases.run(apps, "pre", lock_timeout=1, retries=5, retry_delay=0.5)
    finally:
        released.cancel()
        holder.close()

    assert not run.failed, run.result
    attempts = run.db()["attempts"]
    assert attempts
    assert {a["sqlstate"] for a in attempts} == {"55P03"}
    waited = ", ".join(f"{a['seconds']:.2f}s" for a in attempts)
    print(
        f"\nlock held 2.5s, lock_timeout 1s: {len(attempts)} attempt(s) timed out after {waited}, "
        f"then applied; {time.monotonic() - started:.1f}s in all"
    )
    assert run.db()["applied"] == ["additive.0002_grow", "additive.0003_fill"]
