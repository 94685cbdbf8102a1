"""Crash injection from outside: SIGKILL a running pipeline the moment a named point is reached.

The jobs need no hook: every point is something a run leaves behind as it goes, polled by the
caller while the run is in flight:

- `iceberg_version(warehouse, db, table) >= n`: the table's n-th metadata version exists (a Hadoop
  catalog commit is the rename to `metadata/v<n>.metadata.json`), i.e. just after a commit;
- `iceberg_uncommitted_files(...)`: data files or a manifest list written under the table that no
  committed version references yet, i.e. inside a write, before or during its commit;
- `pg_tables_like(connect, pattern)`: a PostgreSQL table (a JDBC staging table) exists, i.e.
  inside a load, before its INSERT ... ON CONFLICT transaction.

`kill_at(cmd, point, ...)` starts the command in its own process group (the runner's Python and
its driver JVM), polls `point()` every few milliseconds and kills the whole group with SIGKILL as
soon as it holds, as a machine or container dying would. `python -m lakehouse.runner.crash pipeline ...`
runs a declared pipeline through the runner's wave executor with extra job arguments (the
climate pipeline's JDBC target), for pipelines the runner's CLI does not wire up itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

_VERSION = re.compile(r"^v(\d+)\.(?:[a-z0-9]+\.)?metadata\.json$")


def iceberg_version(warehouse: Path, database: str, table: str) -> int:
    """Latest committed metadata version of a Hadoop-catalog table (0 = no table yet)."""
    meta = Path(warehouse) / database / table / "metadata"
    best = 0
    try:
        for name in os.listdir(meta):
            m = _VERSION.match(name)
            if m:
                best = max(best, int(m.group(1)))
    except FileNotFoundError:
        return 0
    return best


def iceberg_uncommitted_files(warehouse: Path, database: str, table: str, committed_version: int) -> bool:
    """True while the table is at `committed_version` but a write has already put data files
    (or a manifest list) under it: the kill then lands inside the write or its commit."""
    root = Path(warehouse) / database / table
    if iceberg_version(warehouse, database, table) != committed_version:
        return False
    data = root / "data"
    try:
        has_data = any(True for _ in data.rglob("*.parquet"))
    except FileNotFoundError:
        has_data = False
    try:
        snaps = [n for n in os.listdir(root / "metadata") if n.startswith("snap-")]
    except FileNotFoundError:
        snaps = []
    # v1 of a created table has no snapshot; each later version added one
    return (committed_version == 1 and has_data) or len(snaps) >= committed_version


def pg_tables_like(connect: Callable, pattern: str) -> bool:
    with connect() as c:
        return bool(c.execute("SELECT 1 FROM pg_tables WHERE tablename LIKE %s", (pattern,)).fetchall())


@dataclass
class Killed:
    returncode: int | None  # -9 when the kill landed, 0/other when the run ended first
    seconds: float
    reached: bool  # the point was seen before the process ended
    log: Path


def kill_at(cmd: Sequence[str], point: Callable[[], bool], log: Path, env: dict | None = None,
            cwd: Path | None = None, timeout: float = 600.0, poll: float = 0.01) -> Killed:
    """Run `cmd`; SIGKILL its whole process group as soon as `point()` holds."""
    t0 = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        reached = False
        try:
            while proc.poll() is None:
                try:
                    reached = point()
                except Exception:  # a half-written file or a table being created: poll again
                    reached = False
                if reached:
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                if time.monotonic() - t0 > timeout:
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                time.sleep(poll)
            proc.wait()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        _reap_group(proc.pid)
    return Killed(proc.returncode, time.monotonic() - t0, reached, Path(log))


def _reap_group(pgid: int) -> None:
    """Wait until no process of the killed group is left (the JVM dies with its group)."""
    for _ in range(200):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


# --- a pipeline run with extra job arguments ------------------------------------------------------

def run_declared_pipeline(pipeline: str, input_dir: Path, warehouse: Path, job_args: dict[str, str],
                          run_id: str, stack: str = "dev") -> list:
    """Every job of `pipeline`, wave by wave, through the runner's own executor."""
    from ..model.config import load_stack_config
    from . import executor

    cfg = load_stack_config(stack)
    spec = executor.select_pipeline(cfg, pipeline)
    spark = executor.spark_session(warehouse)
    runs = executor.plan_runs(spec)
    extra = {j.name: {**job_args, "--run_id": run_id} for j in spec.jobs}
    executor.run_pipeline(spark, runs, executor.lake_location(cfg, input_dir, warehouse), extra)
    return runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lakehouse.runner.crash")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pipeline", help="run a declared pipeline with extra job arguments")
    p.add_argument("--pipeline", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--warehouse", required=True)
    p.add_argument("--run-id", required=True)
    p.add_argument("--job-args", default="{}", help='JSON object, e.g. {"--jdbc_url": "..."}')
    a = ap.parse_args(argv)
    runs = run_declared_pipeline(a.pipeline, Path(a.input), Path(a.warehouse), json.loads(a.job_args), a.run_id)
    failed = [f"{r.job.key}: {r.error}" for r in runs if r.status != "succeeded"]
    print(json.dumps({r.job.name: r.status for r in runs}))
    for f in failed:
        print(f, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
