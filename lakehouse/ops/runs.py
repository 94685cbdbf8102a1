"""Glue job runs and workflow runs as rows of a table, and the loop that watches them.

`fetch_workflow_run` / `fetch_job_run` are the only functions that read run state from
Glue; tests replace them where moto does not model an API (moto's workflow runs have no
graph and its job runs never fail). Everything else is pure: API dicts in, rows out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from rich.console import Console
from rich.live import Live
from rich.table import Table

JOB_TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"}
JOB_FAILED = JOB_TERMINAL - {"SUCCEEDED"}
WORKFLOW_DONE = {"COMPLETED", "STOPPED", "ERROR"}
NOT_STARTED = "NOT STARTED"
# DPUs of one worker, to estimate DPU-seconds when Glue reports none (it reports DPUSeconds
# only for auto-scaling and Flex runs).
DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0, "Standard": 1.0}


def fetch_workflow_run(glue: Any, workflow: str, run_id: str) -> dict[str, Any]:
    """GetWorkflowRun with its graph: the job runs started by the run's triggers."""
    return glue.get_workflow_run(Name=workflow, RunId=run_id, IncludeGraph=True)["Run"]


def fetch_job_run(glue: Any, job: str, run_id: str) -> dict[str, Any]:
    return glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]


@dataclass(frozen=True)
class JobRow:
    job: str  # the pipeline's job name (or the Glue job name when unknown)
    run_id: str
    state: str
    attempt: int
    seconds: float | None
    dpu_seconds: float | None
    dpu_estimated: bool
    error: str


@dataclass(frozen=True)
class RunStatus:
    title: str
    run_id: str
    status: str  # workflow run Status or job run state
    rows: tuple[JobRow, ...]
    done: bool
    problems: tuple[str, ...]  # why the run counts as failed; empty = success so far

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def _seconds(run: dict[str, Any], now: datetime) -> float | None:
    if run.get("JobRunState") in JOB_TERMINAL and run.get("ExecutionTime"):
        return float(run["ExecutionTime"])
    started = run.get("StartedOn")
    if not isinstance(started, datetime):
        return None
    end = run.get("CompletedOn") if run.get("JobRunState") in JOB_TERMINAL else None
    end = end if isinstance(end, datetime) else now
    return max(0.0, (end - started).total_seconds())


def _dpu_seconds(run: dict[str, Any], seconds: float | None) -> tuple[float | None, bool]:
    if run.get("DPUSeconds") is not None:
        return float(run["DPUSeconds"]), False
    if seconds is None:
        return None, False
    dpus = run.get("MaxCapacity")
    if not dpus and run.get("NumberOfWorkers") and run.get("WorkerType") in DPU_PER_WORKER:
        dpus = run["NumberOfWorkers"] * DPU_PER_WORKER[run["WorkerType"]]
    return (float(dpus) * seconds, True) if dpus else (None, False)


def job_row(job: str, run: dict[str, Any] | None, now: datetime) -> JobRow:
    if not run:
        return JobRow(job, "", NOT_STARTED, 0, None, None, False, "")
    seconds = _seconds(run, now)
    dpu, estimated = _dpu_seconds(run, seconds)
    return JobRow(
        job=job, run_id=str(run.get("Id", "")), state=str(run.get("JobRunState", "?")),
        attempt=int(run.get("Attempt") or 0), seconds=seconds, dpu_seconds=dpu,
        dpu_estimated=estimated, error=str(run.get("ErrorMessage") or ""),
    )


def _latest(runs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The last attempt of a job in one workflow run (retries add attempts)."""
    if not runs:
        return None
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return max(runs, key=lambda r: (r.get("Attempt") or 0, r.get("StartedOn") or epoch))


def workflow_status(workflow: str, run: dict[str, Any], jobs: Sequence[tuple[str, str]],
                    now: datetime | None = None) -> RunStatus:
    """Rows for `jobs` ((pipeline job name, Glue job name), in pipeline order) from a workflow run."""
    now = now or datetime.now(timezone.utc)
    by_glue_name: dict[str, dict[str, Any] | None] = {}
    for node in (run.get("Graph") or {}).get("Nodes", []):
        if node.get("Type") == "JOB":
            by_glue_name[node["Name"]] = _latest((node.get("JobDetails") or {}).get("JobRuns", []))
    labels = dict((glue, label) for label, glue in jobs)
    names = [glue for _, glue in jobs] + [n for n in by_glue_name if n not in labels]
    rows = tuple(job_row(labels.get(n, n), by_glue_name.get(n), now) for n in names)
    status = str(run.get("Status", "?"))
    problems = [f"{r.job}: {r.state}" + (f" ({r.error})" if r.error else "") for r in rows if r.state in JOB_FAILED]
    if status in ("STOPPED", "ERROR"):
        problems.append(f"workflow run {status}" + (f": {run['ErrorMessage']}" if run.get("ErrorMessage") else ""))
    stats = run.get("Statistics") or {}
    unhealthy = sum(int(stats.get(k) or 0)
                    for k in ("FailedActions", "TimeoutActions", "ErroredActions", "StoppedActions"))
    if unhealthy > sum(1 for r in rows if r.state in JOB_FAILED):
        problems.append(f"Glue counts {unhealthy} failed, timed-out, errored or stopped actions")
    if status in WORKFLOW_DONE and not problems:
        # A run whose conditional trigger was never activated completes "successfully"
        # without ever starting the downstream jobs.
        problems.extend(f"{r.job}: never started (is its trigger ACTIVATED?)" for r in rows if r.state == NOT_STARTED)
    return RunStatus(
        title=f"workflow {workflow}", run_id=str(run.get("WorkflowRunId", "")), status=status,
        rows=rows, done=status in WORKFLOW_DONE, problems=tuple(problems),
    )


def job_status(label: str, glue_job: str, run: dict[str, Any], now: datetime | None = None) -> RunStatus:
    row = job_row(label, run, now or datetime.now(timezone.utc))
    problems = (f"{label}: {row.state}" + (f" ({row.error})" if row.error else ""),) if row.state in JOB_FAILED else ()
    return RunStatus(title=f"job {glue_job}", run_id=row.run_id, status=row.state, rows=(row,),
                     done=row.state in JOB_TERMINAL, problems=problems)


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def fmt_dpu(row: JobRow) -> str:
    if row.dpu_seconds is None:
        return "-"
    return ("~" if row.dpu_estimated else "") + f"{row.dpu_seconds:,.0f}"


STATE_STYLE = {"SUCCEEDED": "green", "RUNNING": "cyan", "STARTING": "cyan", "WAITING": "cyan",
               NOT_STARTED: "dim"} | {s: "bold red" for s in JOB_FAILED}


def render(status: RunStatus) -> Table:
    table = Table(title=f"{status.title} run {status.run_id}: {status.status}", title_justify="left")
    for col in ("Job", "State", "Attempt", "Duration", "DPU-seconds", "Run id", "Error"):
        table.add_column(col, overflow="fold")
    for r in status.rows:
        table.add_row(r.job, f"[{STATE_STYLE.get(r.state, 'yellow')}]{r.state}[/]", str(r.attempt) if r.run_id else "-",
                      fmt_seconds(r.seconds), fmt_dpu(r), r.run_id or "-", r.error or "")
    table.caption = ("~ = estimated from workers x execution time "
                     "(Glue reports DPUSeconds for auto scaling and Flex only)"
                     if any(r.dpu_estimated for r in status.rows) else None)
    return table


def watch(fetch: Callable[[], RunStatus], console: Console, interval: float,
          sleep: Callable[[float], None] = time.sleep) -> RunStatus:
    """Poll until the run ends, redrawing the table; returns the final status.

    On a terminal the table updates in place; elsewhere (CI logs, pipes) each state change
    is printed as one line and the table once at the end.
    """
    status = fetch()
    if console.is_terminal:
        with Live(render(status), console=console, refresh_per_second=4) as live:
            while not status.done:
                sleep(interval)
                status = fetch()
                live.update(render(status))
        return status
    seen: dict[str, str] = {}
    while True:
        for r in status.rows:
            if seen.get(r.job) != r.state:
                seen[r.job] = r.state
                console.print(f"{status.title}: {r.job} {r.state}" + (f" ({r.error})" if r.error else ""),
                              soft_wrap=True, markup=False, highlight=False)
        if status.done:
            console.print(render(status))
            return status
        sleep(interval)
        status = fetch()


def summary(status: RunStatus) -> str:
    if status.failed:
        return f"FAILED: {status.title} run {status.run_id} ended {status.status}; " + "; ".join(status.problems)
    return f"SUCCEEDED: {status.title} run {status.run_id} ended {status.status}"
