"""One run per warehouse: an OS lock (flock) that the kernel releases, not a PID to interpret.

Issue 20: with a PID file two runners started together could both hold the warehouse (11 of 60
trials), and a PID reused by an unrelated process made a dead run's lock look in use.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.runner.errors import WarehouseInUse
from lakehouse.runner.state import LOCK_FILE, WarehouseLock

TRIALS = 40
CONTENDERS = 3
REPO = Path(__file__).resolve().parents[2]


def _contend(warehouse: str, start, tried, results) -> None:
    """Take the lock as soon as every contender is ready; hold it until every contender has tried."""
    start.wait(timeout=30)
    try:
        with WarehouseLock(Path(warehouse)):
            results.put("held")
            tried.wait(timeout=30)
    except WarehouseInUse:
        results.put("refused")
        tried.wait(timeout=30)


def test_runners_started_together_never_both_hold_the_warehouse(tmp_path):
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for trial in range(TRIALS):
        start, tried, results = ctx.Barrier(CONTENDERS), ctx.Barrier(CONTENDERS), ctx.Queue()
        wh = tmp_path / f"wh{trial}"
        procs = [ctx.Process(target=_contend, args=(str(wh), start, tried, results)) for _ in range(CONTENDERS)]
        for p in procs:
            p.start()
        got = sorted(results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        outcomes.append(got)
    assert [o for o in outcomes if o != ["held"] + ["refused"] * (CONTENDERS - 1)] == []
    assert not any((tmp_path / f"wh{t}" / LOCK_FILE).exists() for t in range(TRIALS))  # released on exit


def test_a_lock_file_naming_a_live_process_that_holds_no_lock_does_not_block(tmp_path):
    # The PID of a dead run, since reused by an unrelated live process (here: our parent).
    (tmp_path / LOCK_FILE).write_text(f"{os.getppid()} 2026-01-01T00:00:00+00:00\n")
    with WarehouseLock(tmp_path) as lock:
        assert lock.stale_pid == os.getppid()
        assert (tmp_path / LOCK_FILE).read_text().split()[0] == str(os.getpid())
    assert not (tmp_path / LOCK_FILE).exists()


HOLD = ("import sys, time; from pathlib import Path; from lakehouse.runner.state import WarehouseLock\n"
        "with WarehouseLock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n")


def test_a_held_lock_refuses_naming_its_holder_and_the_kernel_releases_it_when_the_holder_dies(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseInUse) as e:
            WarehouseLock(tmp_path).__enter__()
        assert str(e.value) == (f"warehouse {tmp_path} is in use by another run (pid {holder.pid}, lock "
                                f"{tmp_path / LOCK_FILE}); wait for it to finish")
        assert (tmp_path / LOCK_FILE).read_text().split()[0] == str(holder.pid)  # the refused run left it alone
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the lock file stays behind
        holder.wait()
        holder.stdout.close()
    assert (tmp_path / LOCK_FILE).exists()
    with WarehouseLock(tmp_path) as lock:  # the kernel released the dead holder's lock
        assert lock.stale_pid == holder.pid
