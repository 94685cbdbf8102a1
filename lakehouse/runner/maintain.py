"""`python -m lakehouse.runner maintain`: a pipeline's table-maintenance job on a local warehouse.

The same job the Glue workflow runs after the pipeline's last jobs (lakehouse.model.pipelines
`maintenance_job`, glue_scripts/maintenance/maintain_tables.py), with the declared arguments unless
overridden. `cli` holds the warehouse lock while it runs, so no local write is in flight and a short
orphan-file age is safe here. The run report (<warehouse>/_runs/) carries, per table, what each step
removed or rewrote. The run state is not touched: maintenance changes no row, so it neither makes the
next `run` necessary nor lets it be skipped.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from ..model.config import StackConfig
from ..model.pipelines import PipelineSpec
from . import executor, report
from .errors import RunnerError


def maintenance_job(pipeline: PipelineSpec):
    for j in pipeline.jobs:
        if j.is_maintenance:
            return j
    raise RunnerError(f"--pipeline: got {pipeline.name!r}, which writes no Iceberg table and so has no "
                      "maintenance job")


def maintain(console, cfg: StackConfig, pipeline: PipelineSpec, warehouse: Path, overrides: dict[str, str]) -> bool:
    """Run the maintenance job once; True when it succeeded. `overrides`: job arguments replacing the
    declared ones (e.g. {"--orphan_file_age_hours": "0"})."""
    job = maintenance_job(pipeline)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-maintain"
    where = executor.lake_location(cfg, warehouse, warehouse)  # the raw zone is not used
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    console.print(f"stack [bold]{cfg.stack}[/] pipeline [bold]{pipeline.name}[/]: table maintenance of "
                  f"{warehouse} ({job.arguments['--tables']})")
    with executor.jvm_output_to_stderr():
        spark = executor.spark_session(warehouse)
    runs = executor.plan_runs(pipeline, maintenance=True)[-1:]
    runs[0].wave = 0
    executor.run_pipeline(spark, runs, where, {job.name: {"--run_id": run_id, **overrides}},
                          on_change=report.StatusLines(console, runs))
    r = runs[0]
    for name, t in (r.result.get("tables") or {}).items():
        console.print(f"  {name}: {t['rows']} rows; snapshots {t['snapshots_before']} -> {t['snapshots_after']}"
                      f" (kept for checkpoints: {len(t['kept_for_checkpoints'])}); data files rewritten "
                      f"{t['rewritten_data_files']} -> {t['added_data_files']}; manifests rewritten "
                      f"{t['rewritten_manifests']}; files expired {sum(t['expired_files'].values())}; "
                      f"orphan files removed {t['orphan_files_removed']}", markup=False, highlight=False)
    run_report = {
        "run_id": run_id, "command": "maintain", "status": r.status, "stack": cfg.stack, "pipeline": pipeline.name,
        "input": None, "warehouse": str(warehouse.resolve()), "as_of": None, "started": started.isoformat(),
        "seconds": round(time.monotonic() - t0, 3), "catalog": executor.CATALOG, "databases": dict(where.databases),
        "jobs": [dict(r.as_dict(), aws=report.aws_settings(cfg, job))], "gold": {},
    }
    json_path, html_path = report.write_report(warehouse, run_report)
    console.print(f"report: {html_path} and {json_path}")
    if r.status != "succeeded":
        console.print(f"[bold red]job {job.key} failed[/]: {r.error}")
        console.print(r.result.get("traceback", ""), markup=False, highlight=False)
        return False
    console.print(f"[green]succeeded[/] in {run_report['seconds']:.1f}s")
    return True
