"""Running a pipeline's jobs on local Spark + Iceberg, wave by wave, as the Glue workflow does.

Where things live locally (`lake_location`: raw = the input folder, a lake zone = its database
folder of the Iceberg Hadoop catalog `local`), the Spark session, loading a Glue script's
`run(spark, args)`, checking its result, and `run_pipeline`: each job in `plan_runs` order with
`job_arguments(job, LakeLocation(...))`, a job whose upstream job did not succeed is skipped.
No console and no report here: `run.execute` adds those; crash.py and bench use this directly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager
from urllib.parse import unquote, urlparse

from ..model.config import StackConfig
from ..model.pipelines import GLUE_SCRIPTS_DIR, JobSpec, PipelineSpec
from ..model.platform import LakeLocation, job_arguments
from ..model.zones import LAKE_ZONES
from .errors import RunnerError

CATALOG = "local"


# --- where things live ----------------------------------------------------------------

def lake_location(cfg: StackConfig, input_dir: Path, warehouse: Path) -> LakeLocation:
    """Local binding of the zones: raw = the input folder; a lake zone = its database folder
    in the Iceberg Hadoop catalog (where `<db>.<table>` lives, like `s3://<zone bucket>/<table>/`)."""
    uris = {"raw": input_dir.resolve().as_uri() + "/"}
    for zone in LAKE_ZONES:
        uris[zone] = (warehouse.resolve() / cfg.database_name(zone)).as_uri() + "/"
    return LakeLocation(catalog=CATALOG, zone_uris=uris,
                        databases={z: cfg.database_name(z) for z in LAKE_ZONES})


def select_pipeline(cfg: StackConfig, name: str | None) -> PipelineSpec:
    names = [p.name for p in cfg.pipelines]
    wanted = name or ("fhir" if "fhir" in names else names[0])
    for p in cfg.pipelines:
        if p.name == wanted:
            return p
    raise RunnerError(f"--pipeline: got {wanted!r}; allowed: the pipelines of stack {cfg.stack!r}: {names}")


def _metadata_dirs(warehouse: Path) -> list[Path]:
    """The metadata folder (`<database>/<table>/metadata`) of every Iceberg table in a Hadoop-catalog
    warehouse, sorted (no Spark)."""
    if not warehouse.is_dir():
        return []
    return sorted(m for m in warehouse.glob("*/*/metadata") if (m / "version-hint.text").is_file())


def _table_name(metadata_dir: Path) -> str:
    return f"{metadata_dir.parent.parent.name}.{metadata_dir.parent.name}"


def list_tables(warehouse: Path) -> list[str]:
    """`<database>.<table>` of every Iceberg table in a Hadoop-catalog warehouse (no Spark)."""
    return [_table_name(m) for m in _metadata_dirs(warehouse)]


def table_location(metadata_dir: Path) -> Path | None:
    """The location the current metadata of a Hadoop-catalog table records (None when there is none:
    the runner's tables keep uncompressed metadata, `v<N>.metadata.json`)."""
    current = metadata_dir / f"v{(metadata_dir / 'version-hint.text').read_text().strip()}.metadata.json"
    if not current.is_file():
        return None
    return Path(unquote(urlparse(json.loads(current.read_text(encoding="utf-8"))["location"]).path))


def check_tables_in_place(warehouse: Path) -> None:
    """Refuse a warehouse whose tables are stored elsewhere. Iceberg records each table's absolute
    location, so a copied folder still reads and writes the original's files, and maintenance of the
    copy deletes files the original reads; a moved folder points at files that are gone."""
    elsewhere = {}
    for m in _metadata_dirs(warehouse):
        location = table_location(m)
        if location is not None and location.resolve() != m.parent.resolve():
            elsewhere[_table_name(m)] = location
    if elsewhere:
        (table, location), more = next(iter(elsewhere.items())), len(elsewhere) - 1
        raise RunnerError(
            f"--warehouse: got {str(warehouse)!r}, but its table {table} is stored at {str(location)!r}"
            + (f" (and {more} more tables elsewhere)" if more else "")
            + ": the folder was copied or moved from there, and Iceberg tables keep their location, so "
            "running or maintaining it would change that lake's files; allowed: a warehouse the runner "
            "wrote where it is (run the pipeline into a new --warehouse for a second lake)")


def database_for(pipeline: PipelineSpec, warehouse: Path) -> ContextManager[dict[str, str]]:
    """Extra job arguments for `connection: true` jobs, as a context manager: a configured
    PostgreSQL (LAKEHOUSE_JDBC_URL, credentials in LAKEHOUSE_JDBC_USER/PASSWORD, and with
    LAKEHOUSE_JDBC_CA_FILE its certificate verified against that CA file) or else a throwaway
    local server, TLS with a CA of its own, that lives as long as the run."""
    if not any(j.connection for j in pipeline.jobs):
        return contextlib.nullcontext({})
    if os.environ.get("LAKEHOUSE_JDBC_URL"):
        ca_file = os.environ.get("LAKEHOUSE_JDBC_CA_FILE")
        return contextlib.nullcontext({"--jdbc_url": os.environ["LAKEHOUSE_JDBC_URL"],
                                       **({"--jdbc_ca_file": ca_file} if ca_file else {})})
    from .pg_local import local_jdbc_for_pipeline

    return local_jdbc_for_pipeline(warehouse)


# --- Spark -------------------------------------------------------------------------------

def _lakelib_importable() -> None:
    if str(GLUE_SCRIPTS_DIR) not in sys.path:
        sys.path.insert(0, str(GLUE_SCRIPTS_DIR))  # lakelib, as --extra-py-files provides it on Glue


def spark_session(warehouse: Path):
    """The local SparkSession from glue_scripts/lakelib (the one place that builds sessions)."""
    _lakelib_importable()
    import lakelib.runtime.session as session

    try:
        return session.local_spark_session(warehouse)
    except session.MissingJarError as e:
        raise RunnerError(f"local Spark cannot start: {e}") from None


@contextlib.contextmanager
def jvm_output_to_stderr():
    """Point file descriptor 1 at stderr while the JVM starts: the Spark JVM inherits it, so
    whatever it prints (JVM notices, log lines) never mixes with our stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def read_table(spark, fq: str) -> tuple[list[str], list[tuple]]:
    """Columns and rows of `<db>.<table>` in the local catalog, sorted by every column."""
    df = spark.table(f"{CATALOG}.{fq}")
    rows = [tuple(r) for r in df.collect()]
    rows.sort(key=lambda r: tuple((v is None, str(v) if not isinstance(v, (int, float)) else v) for v in r))
    return list(df.columns), rows


# --- running jobs ------------------------------------------------------------------------

@dataclass
class JobRun:
    job: JobSpec
    wave: int
    status: str = "waiting"  # waiting | running | succeeded | failed | skipped
    started: float | None = None
    seconds: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job.name, "key": self.job.key, "wave": self.wave,
                "depends_on": list(self.job.depends_on), "script": self.job.script, "status": self.status,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "input": self.result.get("input"), "accepted": self.result.get("accepted"),
                "quarantined": self.result.get("quarantined"), "waiting": self.result.get("waiting"),
                "result": self.result, "error": self.error}


def load_script(job: JobSpec) -> Callable[[Any, dict[str, str]], dict]:
    """Import glue_scripts/<script> as a fresh module and return its `run(spark, args)`."""
    path = GLUE_SCRIPTS_DIR / job.script
    _lakelib_importable()
    spec = importlib.util.spec_from_file_location(f"glue_job_{job.pipeline}_{job.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if not callable(run):
        raise RunnerError(f"{path}: no module-level run(spark, args) (the Glue entrypoint contract)")
    return run


def check_result(job: JobSpec, result: Any) -> dict:
    if not isinstance(result, dict) or not all(isinstance(result.get(k), int)
                                               for k in ("input", "accepted", "quarantined")):
        raise RuntimeError(f"{job.key}: run() returned {result!r}; expected a dict with integer "
                           "input, accepted and quarantined")
    waiting = result.get("waiting", 0)  # records held for a reference that has not arrived yet
    if not isinstance(waiting, int) or result["input"] != result["accepted"] + result["quarantined"] + waiting:
        raise RuntimeError(f"{job.key}: input {result['input']} != accepted {result['accepted']} + "
                           f"quarantined {result['quarantined']}" + (f" + waiting {waiting}" if "waiting" in result
                                                                     else ""))
    # On AWS the job's role only allows what its declaration names: fail here the way IAM would there.
    writes = result.get("writes")
    if not isinstance(writes, list):
        raise RuntimeError(f"{job.key}: run() returned no 'writes' list (lakelib.runtime.job records every write)")
    undeclared = sorted(set(writes) - job.declared_writes())
    if undeclared:
        raise RuntimeError(f"{job.key}: wrote {undeclared}, which its declaration ({job.pipeline}.yaml writes) "
                           f"does not name; declared: {sorted(job.declared_writes())}")
    return result


def plan_runs(pipeline: PipelineSpec, maintenance: bool = False) -> list[JobRun]:
    """One JobRun per job, wave after wave (the Glue workflow's trigger order). The table-maintenance
    job only with `maintenance` (`python -m lakehouse.runner maintain` runs it on its own): it changes
    no row, and every end-to-end run would pay for it."""
    return [JobRun(job, w) for w, wave in enumerate(pipeline.waves()) for job in wave
            if maintenance or not job.is_maintenance]


def run_pipeline(spark, runs: list[JobRun], where: LakeLocation, extra_args: dict[str, dict[str, str]],
                 on_change: Callable[[], None] = lambda: None) -> list[JobRun]:
    """Every job in `runs` order; a job whose upstream job did not succeed is skipped."""
    by_name = {r.job.name: r for r in runs}
    for r in runs:
        if any(d in by_name and by_name[d].status != "succeeded" for d in r.job.depends_on):  # not planned: ran before
            r.status = "skipped"
            on_change()
            continue
        args = {**job_arguments(r.job, where), **extra_args.get(r.job.name, {})}
        r.status, r.started = "running", time.monotonic()
        on_change()
        try:
            r.result = check_result(r.job, load_script(r.job)(spark, args))
            r.status = "succeeded"
        except Exception as e:  # a job failure is reported, downstream jobs are skipped
            r.status = "failed"
            r.error = f"{type(e).__name__}: {e}"
            r.result = {"traceback": traceback.format_exc(limit=8)}
            if isinstance(getattr(e, "quality", None), list):  # lakelib's QualityError: every rule's outcome
                r.result["quality"] = e.quality
        r.seconds = time.monotonic() - r.started
        on_change()
    return runs
