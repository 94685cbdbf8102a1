"""One run of a pipeline, once `cli` has taken the warehouse lock and found something changed.

`execute(console, RunRequest(...))` starts Spark, runs the jobs under the live view (on a terminal;
elsewhere one line per job state change, report.StatusLines) with a PostgreSQL for `connection: true`
jobs, prints the pipeline's gold summary, writes the run report and, when every job succeeded, records
the run's fingerprint in the run state.
Executor functions are called through the module (`executor.read_table`), so a test that
patches them on `lakehouse.runner.executor` patches them here too.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..model.config import StackConfig
from ..model.pipelines import PipelineSpec
from . import crawler as local_crawler
from . import executor, report, summaries
from .state import RunState


@dataclass(frozen=True)
class RunRequest:
    """What to run where: the stack's declaration, the pipeline, the raw zone folder, the warehouse,
    the optional as-of date (YYYY-MM-DD, for the gold jobs), the fingerprint a success is recorded
    with (`input` hash and `args`) and the warehouse's run state to record it in."""

    cfg: StackConfig
    pipeline: PipelineSpec
    input_dir: Path
    warehouse: Path
    as_of: str | None
    fingerprint: dict[str, Any]
    state: RunState
    metrics_namespace: str | None = None  # publish each job's CloudWatch metrics there (off by default)


def execute(console, req: RunRequest) -> bool:
    """Run every job of the request; True when all succeeded (False: failures printed, state untouched)."""
    from rich.live import Live

    cfg, pipeline, warehouse = req.cfg, req.pipeline, req.warehouse
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    where = executor.lake_location(cfg, req.input_dir, warehouse)
    extra = {j.name: {"--run_id": run_id} for j in pipeline.jobs}
    if req.metrics_namespace:  # what the platform sets on deployed jobs (lakehouse.model.platform)
        for j in pipeline.jobs:
            extra[j.name].update({"--metrics_namespace": req.metrics_namespace, "--metrics_stack": cfg.stack})
    for j in pipeline.jobs:
        if req.as_of and any(a.zone == "gold" for a in j.writes):
            extra[j.name]["--as_of"] = req.as_of
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    console.print(f"stack [bold]{cfg.stack}[/] pipeline [bold]{pipeline.name}[/]: {req.input_dir} -> {warehouse} "
                  f"(catalog {executor.CATALOG}; waves: "
                  + " -> ".join("+".join(j.name for j in w) for w in pipeline.waves() if not w[0].is_maintenance) + ")")
    with executor.jvm_output_to_stderr():
        spark = executor.spark_session(warehouse)
    # the pipeline's crawler, played by schema inference over the raw files, before the first job
    crawled = local_crawler.crawl(spark, cfg, pipeline, req.input_dir, warehouse)
    if crawled is not None:
        for t in crawled.tables:
            console.print(local_crawler.describe(t), markup=False, highlight=False)
        for j in pipeline.jobs:
            if any(a.zone == "raw" and a.tables for a in j.reads):
                extra[j.name]["--inferred_catalog"] = crawled.catalog_uri
    view = report.ProgressView(f"{pipeline.name} on local Spark + Iceberg")
    view.runs = runs = executor.plan_runs(pipeline)
    interactive = report.is_interactive(console)
    live = Live(view, console=console, refresh_per_second=4, transient=False) if interactive \
        else contextlib.nullcontext()
    with executor.database_for(pipeline, warehouse) as db_args, live:
        for j in pipeline.jobs:
            if j.connection:
                extra[j.name].update(db_args)
        on_change = live.refresh if interactive else report.StatusLines(console, runs)
        executor.run_pipeline(spark, runs, where, extra, on_change=on_change)
    if not interactive:
        console.print(view)  # the whole table once, as the live view leaves it on a terminal
    console.print()
    failed = [r for r in runs if r.status == "failed"]
    gold: dict[str, dict] = {}
    if not failed:
        summary = summaries.summary_for(pipeline.name)
        for fq in summaries.gold_tables(pipeline, cfg):
            cols, rows = executor.read_table(spark, fq)
            gold[fq] = {"columns": cols, "rows": [list(r) for r in rows]}
            summary.print(console, fq, cols, rows, warehouse)
    run_report = {
        "run_id": run_id, "status": "failed" if failed else "succeeded", "stack": cfg.stack,
        "pipeline": pipeline.name, "input": str(req.input_dir.resolve()), "warehouse": str(warehouse.resolve()),
        "as_of": req.as_of, "started": started.isoformat(), "seconds": round(time.monotonic() - t0, 3),
        "catalog": executor.CATALOG, "databases": dict(where.databases),
        "jobs": [dict(r.as_dict(), aws=report.aws_settings(cfg, r.job)) for r in runs], "gold": gold,
        "crawler": None if crawled is None else crawled.tables,
    }
    json_path, html_path = report.write_report(warehouse, run_report)
    console.print(f"report: {html_path} and {json_path}")
    for r in runs:  # data-quality rules of severity warn that were breached (docs/data-quality.md)
        for q in r.result.get("quality") or ():
            if not q["passed"] and q["severity"] == "warn":
                console.print(f"data-quality warning: {r.job.key}: {q['table']}: {q['rule']} observed "
                              f"{q['observed']:.6g} ({q['detail']})", markup=False, highlight=False)
    for r in runs:  # a failed publish does not fail the job (lakelib.runtime.metrics): say so
        for what, outcome in (r.result.get("metrics_published") or {}).items():
            if outcome and outcome.get("status") == "failed":
                console.print(f"[yellow]job {r.job.key}: CloudWatch metrics ({what}) not published[/]: "
                              f"{outcome.get('error')}", markup=True, highlight=False)
    if failed:
        for r in failed:
            console.print(f"[bold red]job {r.job.key} failed[/]: {r.error}")
            console.print(r.result.get("traceback", ""), markup=False, highlight=False)
        skipped = [r.job.key for r in runs if r.status == "skipped"]
        if skipped:
            console.print(f"skipped (upstream failed): {', '.join(skipped)}")
        return False
    req.state.record(pipeline, req.fingerprint, run_id)
    console.print(f"[green]succeeded[/] in {run_report['seconds']:.1f}s")
    return True
