"""One job run: its arguments, its run id, what it wrote, and the reconciliation of its counts.

Every job starts with `JobRun.start(name, args, spec)` and returns `run.finish(metrics)`:
metrics checked (input = accepted + quarantined [+ waiting], else ReconciliationError) plus "writes",
the sorted list of every store the run wrote. The io layer records each write in `run.writes`
(lakelib.io: tables, jdbc, extracts); jobs never list them by hand. With `--metrics_namespace` set
(the platform sets it on every deployed job), start publishes RunStarted and finish the reconciled
row counts to CloudWatch, and the result gains "metrics_published" (lakelib.runtime.metrics).
A job with data-quality rules (`--quality_rules`) evaluates them through lakelib.io.quality.check
and its result gains "quality" (each rule's outcome); finish refuses a run that skipped them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

from . import metrics as cloudwatch
from .args import ArgSpec, normalise, resolve
from .quality import Rule, parse_rules

# the lake zones whose --<zone>_database / --<zone>_path arguments name where a write landed
LAKE_ZONES = ("bronze", "silver", "gold")
POSTGRES = "postgres"


class ReconciliationError(RuntimeError):
    """input != accepted + quarantined: a job lost or invented rows."""


def run_id(args: Mapping[str, str | None]) -> str:
    """The run's id: --run_id (the local runner, tests), else Glue's JOB_RUN_ID, else a new
    local-<UTC time>-<random> id."""
    return args.get("run_id") or args.get("JOB_RUN_ID") or (
        f"local-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    )


def reconcile(job: str, metrics: dict) -> dict:
    """`metrics` unchanged when input = accepted + quarantined + waiting; ReconciliationError
    otherwise. `waiting` (records held for something that has not arrived yet, e.g. an Encounter's
    Patient; retried by the next run) is optional: 0 when absent."""
    waiting = metrics.get("waiting", 0)
    if metrics["input"] != metrics["accepted"] + metrics["quarantined"] + waiting:
        raise ReconciliationError(
            f"{job}: input {metrics['input']} != accepted {metrics['accepted']} + quarantined "
            f"{metrics['quarantined']}" + (f" + waiting {waiting}" if "waiting" in metrics else "")
            + f"; metrics: {metrics}"
        )
    return metrics


def _folder(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


class Writes:
    """Every store a run wrote: "<zone>.<table>" for an Iceberg table (the zone whose
    --<zone>_database names the table's database; the database name itself when none does),
    "postgres.<table>" for a PostgreSQL table, "<zone>:<prefix>" for files under a zone's
    prefix (the zone whose --<zone>_path is the base URI)."""

    def __init__(self, args: Mapping[str, str | None] | None = None):
        args = args or {}
        self._zone_of_database: dict[str, str] = {}
        self._zone_of_uri: dict[str, str] = {}
        for zone in LAKE_ZONES:
            if args.get(f"{zone}_database"):
                self._zone_of_database.setdefault(str(args[f"{zone}_database"]), zone)
            if args.get(f"{zone}_path"):
                self._zone_of_uri.setdefault(_folder(str(args[f"{zone}_path"])), zone)
        self._done: set[str] = set()

    def table(self, database: str, name: str) -> None:
        self._done.add(f"{self._zone_of_database.get(database, database)}.{name}")

    def postgres(self, table: str) -> None:
        self._done.add(f"{POSTGRES}.{table}")

    def prefix(self, base_uri: str, prefix: str) -> None:
        self._done.add(f"{self._zone_of_uri.get(_folder(base_uri), base_uri)}:{prefix}")

    def sorted(self) -> list[str]:
        return sorted(self._done)


@dataclass
class JobRun:
    job: str  # e.g. fhir.bronze, for messages
    args: dict[str, str | None]  # resolved against the job's ArgSpec (names without dashes)
    run_id: str
    writes: Writes
    target: cloudwatch.MetricsTarget | None = None  # None: metrics publishing off
    started: dict | None = None  # what publishing RunStarted did
    quality: list[dict] = field(default_factory=list)  # every data-quality rule evaluated (lakelib.io.quality)
    checked: set[tuple[str, str]] = field(default_factory=set)  # (zone, table) whose rules were evaluated

    @cached_property
    def rules(self) -> tuple[Rule, ...]:
        """--quality_rules: the data-quality rules of the tables the job writes (JobArgumentError if malformed)."""
        return parse_rules(self.args.get("quality_rules"))

    @classmethod
    def start(cls, job: str, args: Mapping[str, object], spec: ArgSpec) -> "JobRun":
        a = resolve(args, spec)
        target = cloudwatch.MetricsTarget.from_args(normalise(args), job)
        started = None
        if target is not None:
            started = cloudwatch.publish(target, cloudwatch.started_data(target, cloudwatch.now()))
        return cls(job, a, run_id(a), Writes(a), target, started)

    def reconcile(self, metrics: dict) -> dict:
        return reconcile(self.job, metrics)

    def finish(self, metrics: dict) -> dict:
        """What run(spark, args) returns: the reconciled metrics plus "writes" (and, when publishing,
        "metrics_published": what publishing RunStarted and the row counts did)."""
        # a job whose declared data-quality rules were not evaluated fails rather than pass unchecked
        unchecked = sorted({f"{r.zone}.{r.table}" for r in self.rules} - {f"{z}.{t}" for z, t in self.checked})
        if unchecked:
            raise RuntimeError(f"{self.job}: the data-quality rules of {unchecked} were not evaluated "
                               "(lakelib.io.quality.check)")
        result = {**self.reconcile(metrics), "writes": self.writes.sorted()}
        if self.rules:
            result["quality"] = self.quality  # each rule's outcome, for the run report
        if self.target is not None:
            rows = cloudwatch.publish(self.target, cloudwatch.row_data(self.target, result, cloudwatch.now()))
            result["metrics_published"] = {"started": self.started, "rows": rows}
        return result
