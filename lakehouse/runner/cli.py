"""The command line of the local runner: `python -m lakehouse.runner [run|show|tables|maintain] ...`.

    python -m lakehouse.runner                      # sample data -> FHIR pipeline -> ./warehouse
    python -m lakehouse.runner run --input DIR --warehouse DIR --as-of 2024-12-31
    python -m lakehouse.runner show gold.cms_facility_monthly --warehouse ./warehouse
    python -m lakehouse.runner maintain --pipeline fhir --warehouse ./warehouse   # table maintenance

`run` reads the same declaration the Pulumi program reads (`load_stack_config(stack)`), takes the
warehouse lock (state.py), stops before Spark when nothing changed since the last successful run
("up to date"; `--force` runs the jobs anyway) and otherwise hands a `RunRequest` to
`run.execute` (executor.py runs the jobs wave by wave, report.py writes `<warehouse>/_runs/`).
Exit codes: 0 success or up to date, 1 a job failed, 2 a bad argument or configuration, 3 the
warehouse is in use by another run.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from ..model.config import load_stack_config
from ..model.errors import ConfigError
from ..model.zones import LAKE_ZONES
from ..samples import SAMPLE_PATIENTS, sample_writer
from . import executor, report
from .errors import RunnerError, WarehouseInUse
from .maintain import maintain
from .run import RunRequest, execute
from .state import RUNS_DIR, RunState, WarehouseLock, input_hash, what_changed

DEFAULT_INPUT = Path("sample_data")
DEFAULT_WAREHOUSE = Path("warehouse")
EXIT_JOB_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 3


def _console():
    from rich.console import Console

    # Piped output (CI logs, tests) gets a fixed width wide enough for the summary table.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def write_sample_data(console, pipeline: str, input_dir: Path) -> None:
    """The bundled sample of a pipeline (lakehouse.samples.SAMPLE_WRITERS), for runs without --input."""
    try:
        writer = sample_writer(pipeline)
    except LookupError as e:
        raise RunnerError(f"--input: none given, and {e}") from None
    console.print(writer.announce(input_dir))
    writer.write(input_dir)


def cmd_run(a: argparse.Namespace) -> int:
    console = _console()
    cfg = load_stack_config(a.stack)
    pipeline = executor.select_pipeline(cfg, a.pipeline)
    as_of = None
    if a.as_of:
        try:
            as_of = date.fromisoformat(a.as_of).isoformat()
        except ValueError:
            raise RunnerError(f"--as-of: got {a.as_of!r}; allowed: a date YYYY-MM-DD")
    input_dir, warehouse = Path(a.input or DEFAULT_INPUT), Path(a.warehouse)
    if a.input is None and not (input_dir / pipeline.name).is_dir():
        write_sample_data(console, pipeline.name, input_dir)
    if not input_dir.is_dir():
        raise RunnerError(f"--input: got {str(input_dir)!r}; allowed: an existing folder (the raw zone)")

    with WarehouseLock(warehouse) as lock:
        if lock.stale_pid:
            console.print(f"[yellow]took over a stale lock of pid {lock.stale_pid} (that run ended without removing "
                          "it; the OS lock went with it)[/]")
        executor.check_tables_in_place(warehouse)
        state = RunState.load(warehouse)
        run_args = {"stack": cfg.stack, "input": str(input_dir.resolve()), "as_of": as_of}
        reasons = what_changed(state.last(pipeline.name), input_dir, run_args)
        if not reasons and not a.force:
            last = state.last(pipeline.name)
            console.print(f"[green]up to date[/]: no new input and no change since run {last['run_id']} "
                          f"(report {warehouse / RUNS_DIR / (last['run_id'] + '.html')}); --force runs the jobs anyway")
            return 0
        console.print("running: " + ("--force" if a.force else "; ".join(reasons)))
        request = RunRequest(cfg=cfg, pipeline=pipeline, input_dir=input_dir, warehouse=warehouse, as_of=as_of,
                             fingerprint={"input": input_hash(input_dir), "args": run_args}, state=state,
                             metrics_namespace=a.metrics_namespace)
        return 0 if execute(console, request) else EXIT_JOB_FAILED


def cmd_show(a: argparse.Namespace) -> int:
    cfg = load_stack_config(a.stack)
    warehouse = Path(a.warehouse)
    parts = a.table.split(".")
    if len(parts) != 2:
        raise RunnerError(f"table: got {a.table!r}; allowed: <zone>.<table> (e.g. gold.cms_facility_monthly) "
                          "or <database>.<table>")
    db = cfg.database_name(parts[0]) if parts[0] in LAKE_ZONES else parts[0]
    fq = f"{db}.{parts[1]}"
    tables = executor.list_tables(warehouse)
    if fq not in tables:
        raise RunnerError(f"table: got {a.table!r} ({fq}); allowed: a table of warehouse {warehouse}: "
                          f"{tables or 'none yet - run `python -m lakehouse.runner` first'}")
    with executor.jvm_output_to_stderr():  # stdout carries only the CSV
        spark = executor.spark_session(warehouse)
    cols, rows = executor.read_table(spark, fq)
    report.print_csv(cols, rows, a.limit)
    return 0


def cmd_maintain(a: argparse.Namespace) -> int:
    """The pipeline's table-maintenance job (maintain.py), under the warehouse lock."""
    cfg = load_stack_config(a.stack)
    pipeline = executor.select_pipeline(cfg, a.pipeline)
    warehouse = Path(a.warehouse)
    if not executor.list_tables(warehouse):
        raise RunnerError(f"--warehouse: got {str(warehouse)!r}; allowed: a warehouse with tables (run "
                          "`python -m lakehouse.runner` first)")
    overrides = {}
    for option, value in (("snapshot_retention_hours", a.snapshot_retention_hours),
                          ("orphan_file_age_hours", a.orphan_file_age_hours)):
        if value is not None:
            if not value.isdigit():
                raise RunnerError(f"--{option.replace('_', '-')}: got {value!r}; allowed: a whole number of hours >= 0")
            overrides[f"--{option}"] = value
    console = _console()
    with WarehouseLock(warehouse):  # no local write is in flight while orphan files are removed
        executor.check_tables_in_place(warehouse)
        return 0 if maintain(console, cfg, pipeline, warehouse, overrides) else EXIT_JOB_FAILED


def cmd_tables(a: argparse.Namespace) -> int:
    for t in executor.list_tables(Path(a.warehouse)):
        print(t)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m lakehouse.runner",
                                 description="Run a declared pipeline on local Spark + Iceberg (default: run).")
    sub = ap.add_subparsers(dest="command")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE),
                       help="Iceberg warehouse folder (default ./warehouse)")
        p.add_argument("--stack", default="dev",
                       help="stack whose Pulumi.<stack>.yaml declares the pipelines (default dev)")

    r = sub.add_parser("run", help="run a pipeline (the default command)")
    common(r)
    r.add_argument("--input", help=f"raw zone folder holding fhir/ (default ./{DEFAULT_INPUT}, generated "
                                   f"with {SAMPLE_PATIENTS} patients when absent)")
    r.add_argument("--as-of", dest="as_of", help="as-of date YYYY-MM-DD for readmissions (gold --as_of)")
    r.add_argument("--pipeline", help="pipeline name (default fhir)")
    r.add_argument("--force", action="store_true", help="run the jobs even when nothing changed since the last run")
    r.add_argument("--metrics-namespace", dest="metrics_namespace", default=None,
                   help="publish each job's CloudWatch metrics (RunStarted, rows) to this namespace, to the "
                        "endpoint the AWS SDK is configured for (default: off)")
    s = sub.add_parser("show", help="print a table of a warehouse as CSV")
    s.add_argument("table", help="<zone>.<table> (e.g. silver.encounters) or <database>.<table>")
    s.add_argument("--limit", type=int, default=0, help="at most this many rows (default all)")
    common(s)
    t = sub.add_parser("tables", help="list the tables of a warehouse")
    common(t)
    m = sub.add_parser("maintain", help="compact, expire snapshots (keeping checkpointed ones) and remove orphan "
                                        "files of a pipeline's tables")
    common(m)
    m.add_argument("--pipeline", help="pipeline name (default fhir)")
    m.add_argument("--snapshot-retention-hours", dest="snapshot_retention_hours",
                   help="expire snapshots older than this (default: the declared value)")
    m.add_argument("--orphan-file-age-hours", dest="orphan_file_age_hours",
                   help="remove unreferenced files older than this (default: the declared value; the warehouse "
                        "lock makes a small value safe locally)")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "show", "tables", "maintain", "-h", "--help"):
        argv = ["run", *argv]
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        return {"run": cmd_run, "show": cmd_show, "tables": cmd_tables, "maintain": cmd_maintain}[a.command](a)
    except RunnerError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_LOCKED if isinstance(e, WarehouseInUse) else EXIT_USAGE
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
