"""The shared table the workers use to let the least loaded one accept a new connection."""

from __future__ import annotations

from cds_hooks.accept_balance import ConnectionTable, prepare


def test_a_worker_sees_the_fewest_connections_held_by_the_other_live_workers():
    table = ConnectionTable(slots=4)
    first, second, third = table.join(101), table.join(102), table.join(103)
    assert len({first, second, third}) == 3
    table.publish(first, 4)
    table.publish(second, 1)
    table.publish(third, 3)
    assert table.fewest_elsewhere(first) == 1
    assert table.fewest_elsewhere(second) == 3
    table.leave(102)  # exited: its connections no longer count
    assert table.fewest_elsewhere(first) == 3
    replacement = table.join(104)  # a recycled worker reuses the free row, starting at zero
    assert replacement == second
    assert table.fewest_elsewhere(first) == 0


def test_a_lone_worker_and_a_full_table_leave_accepting_as_it_was():
    table = ConnectionTable(slots=1)
    row = table.join(201)
    assert table.fewest_elsewhere(row) is None  # nobody else to leave a connection to
    assert table.join(202) == -1  # no row: that worker accepts without balancing


def test_one_worker_gets_no_table():
    import cds_hooks.accept_balance as balance

    prepare(1)
    assert balance.table is None
    prepare(3)
    assert isinstance(balance.table, ConnectionTable)
    prepare(1)


def test_a_stuck_lock_leaves_a_new_worker_unbalanced_and_rows_still_freed(monkeypatch):
    import cds_hooks.accept_balance as balance

    monkeypatch.setattr(balance, "LOCK_TIMEOUT_S", 0.01)
    table = ConnectionTable(slots=2)
    row = table.join(301)
    table._lock.acquire()  # a worker killed while it held the lock
    assert table.join(302) == -1  # it accepts as gunicorn does rather than hang at start
    table.leave(301)  # the arbiter still frees the exited worker's row
    assert table.fewest_elsewhere(row + 1) is None
