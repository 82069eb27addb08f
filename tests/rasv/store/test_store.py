"""The store's connection policy: shared mode holds no lock between operations."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import rasv
from rasv.store.db import Store
from rasv.store.migrations import MIGRATIONS, Migration, migrate


def test_shared_store_releases_the_file_between_operations(tmp_path):
    db = tmp_path / "a.duckdb"
    s = Store(db)
    s.rows("CREATE TABLE t(x INT)")
    # Another process can open the file read-write while we hold no operation.
    code = textwrap.dedent(f"""
        import duckdb
        con = duckdb.connect({str(db)!r})
        con.execute("INSERT INTO t VALUES (7)")
        con.close()
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    assert s.scalar("SELECT sum(x) FROM t") == 7


def test_a_write_that_lands_while_attaching_is_not_taken_for_ours(tmp_path, monkeypatch):
    # A page reads, then waits for the lock of a CLI import: that import's write must still be
    # reported by changed(), not followed as if this object had written it.
    db = tmp_path / "w.duckdb"
    mine, other = Store(db), Store(db)
    other.rows("CREATE TABLE t AS SELECT 1 AS x")
    assert mine.rows("SELECT count(*) FROM t") == [(1,)]
    assert mine.changed() is False  # the baseline
    attach = mine._attach

    def attach_after_another_write():
        other.rows("INSERT INTO t VALUES (2)")
        attach()

    monkeypatch.setattr(mine, "_attach", attach_after_another_write)
    mine.rows("SELECT 1")
    assert mine.changed() is True
    monkeypatch.setattr(mine, "_attach", attach)
    mine.rows("INSERT INTO t VALUES (3)")
    assert mine.changed() is False  # our own write still is ours


def test_exclusive_store_blocks_others_and_locked_error_is_clear(tmp_path):
    db = tmp_path / "b.duckdb"
    holder = Store(db, shared=False)
    holder.rows("CREATE TABLE t(x INT)")
    waiting = Store(db, lock_timeout=0.3)
    with pytest.raises(rasv.WorkspaceLocked) as info:
        waiting.rows("SELECT 1")
    assert "locked by another process" in str(info.value)
    holder.close()
    assert waiting.rows("SELECT count(*) FROM t") == [(0,)]


def test_transaction_rolls_back_on_error(tmp_path):
    s = Store(tmp_path / "c.duckdb")
    s.rows("CREATE TABLE t(x INT)")
    with pytest.raises(ZeroDivisionError), s.transaction() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
        1 / 0  # noqa: B018
    assert s.scalar("SELECT count(*) FROM t") == 0


def test_nested_operations_share_one_transaction(tmp_path):
    s = Store(tmp_path / "d.duckdb")
    s.rows("CREATE TABLE t(x INT)")
    with pytest.raises(RuntimeError), s.transaction():
        s.rows("INSERT INTO t VALUES (1)")  # joins the outer transaction
        raise RuntimeError
    assert s.scalar("SELECT count(*) FROM t") == 0


def test_threads_use_their_own_cursors(tmp_path):
    import threading

    s = Store(tmp_path / "e.duckdb")
    s.rows("CREATE TABLE t(x INT)")
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(50):
                with s.transaction() as cur:
                    cur.execute("INSERT INTO t VALUES (?)", [k * 100 + i])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert s.scalar("SELECT count(*) FROM t") == 200


def test_migrations_apply_once_and_in_order(tmp_path):
    s = Store(tmp_path / "m.duckdb")
    extra = [*MIGRATIONS, Migration("9999_probe", "CREATE TABLE probe(x INT)")]
    assert migrate(s, extra)[-1] == "9999_probe"
    assert migrate(s, extra) == []
    names = [r[0] for r in s.rows("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [m.name for m in extra]


def test_failed_migration_leaves_no_trace(tmp_path):
    s = Store(tmp_path / "f.duckdb")
    migrate(s)
    bad = [*MIGRATIONS, Migration("0500_bad", "CREATE TABLE ok(x INT); SELECT * FROM nope")]
    with pytest.raises(Exception, match="nope"):
        migrate(s, bad)
    assert s.scalar("SELECT count(*) FROM schema_migrations WHERE name = '0500_bad'") == 0
    assert s.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'ok'") == 0
