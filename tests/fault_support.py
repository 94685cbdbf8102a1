"""Fault tolerance: SIGKILL a real runner process at named points of a run, then run again to
completion; the warehouse must then equal a clean run's. And one run at a time per warehouse.

Each scenario = one subprocess run (`python -m lakehouse.runner run`, or the climate pipeline
through the runner's wave executor) killed with its whole process group (Python + driver JVM)
the moment its point is reached (lakehouse.runner.crash polls the warehouse / PostgreSQL), then one
completion run in this process (shared JVM). Points cover every job, inside and between Iceberg
commits, and inside the PostgreSQL load. Data is tiny (2-core CI); the clean baseline is shared.

The scenarios are split over test_fault_tolerance_{bronze,silver_gold,climate}.py so that the two
xdist workers can run them side by side; each module builds its own clean baseline.
"""

from __future__ import annotations

import json
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.runner import cli, crash, pg_local
from lakehouse.runner.state import LOCK_FILE
from lakehouse.samples.climate import write_sample
from lakehouse.samples.fhir import write_batch

REPO = Path(__file__).resolve().parents[2]
CFG = load_stack_config("dev")
BRONZE, SILVER, GOLD = (CFG.database_name(z) for z in ("bronze", "silver", "gold"))
ENV = {"TZ": "UTC", "LAKEHOUSE_DRIVER_MEMORY": "1g"}
LINEAGE = {"silver_run_id", "updated_at", "run_id", "ingested_at", "quarantined_at", "committed_at",
           "corrected_at", "loaded_at"}
FHIR_SILVER = {"patients": "patient_id", "encounters": "encounter_id", "conditions": "condition_id"}
FHIR_BRONZE = ("fhir_patient", "fhir_encounter", "fhir_condition")


def v(db: str, table: str) -> Callable[[Path], int]:
    return lambda wh: crash.iceberg_version(wh, db, table)


@dataclass(frozen=True)
class Point:
    name: str
    reached: Callable[[Path], bool]  # the kill happens at the first poll where this holds
    before: Callable[[Path], bool]  # still true after the kill: the kill landed before this commit

    def __str__(self) -> str:
        return self.name


def committed(db: str, table: str, n: int = 2) -> Callable[[Path], bool]:
    return lambda wh: crash.iceberg_version(wh, db, table) >= n


def writing(db: str, table: str) -> Callable[[Path], bool]:
    """Inside the first write into the table: files written, no version referencing them yet."""
    return lambda wh: crash.iceberg_uncommitted_files(wh, db, table, 1)


def not_committed(db: str, table: str) -> Callable[[Path], bool]:
    return lambda wh: crash.iceberg_version(wh, db, table) < 2


FHIR_POINTS = [
    Point("bronze: tables created, nothing appended", committed(BRONZE, "fhir_quarantine", 1),
          not_committed(BRONZE, "fhir_patient")),
    Point("bronze: inside the Patient append", writing(BRONZE, "fhir_patient"),
          not_committed(BRONZE, "fhir_ingested_files")),
    Point("bronze: Encounter committed, Condition not", committed(BRONZE, "fhir_encounter"),
          not_committed(BRONZE, "fhir_ingested_files")),
    Point("bronze: inside the quarantine commit", writing(BRONZE, "fhir_quarantine"),
          not_committed(BRONZE, "fhir_ingested_files")),
    Point("bronze: every table committed but the ingest log", committed(BRONZE, "fhir_quarantine"),
          not_committed(BRONZE, "fhir_ingested_files")),
    Point("silver: patients merged, encounters not", committed(SILVER, "patients"),
          not_committed(SILVER, "fhir_checkpoints")),
    Point("silver: inside the encounters MERGE", writing(SILVER, "encounters"),
          not_committed(SILVER, "fhir_checkpoints")),
    Point("silver: inside the quarantine insert", writing(SILVER, "fhir_quarantine"),
          not_committed(SILVER, "fhir_checkpoints")),
    Point("silver: all merged, checkpoint not committed", committed(SILVER, "fhir_quarantine"),
          not_committed(SILVER, "fhir_checkpoints")),
    Point("silver: waiting records replaced, checkpoint not committed", committed(SILVER, "fhir_waiting"),
          not_committed(SILVER, "fhir_checkpoints")),
    Point("gold: inside the overwrite", writing(GOLD, "cms_facility_monthly"),
          lambda wh: not (wh / "_runs" / "state.json").exists()),
    Point("gold: committed, run not recorded", committed(GOLD, "cms_facility_monthly"),
          lambda wh: not (wh / "_runs" / "state.json").exists()),
]
BRONZE_POINTS = [p for p in FHIR_POINTS if p.name.startswith("bronze:")]
SILVER_GOLD_POINTS = [p for p in FHIR_POINTS if not p.name.startswith("bronze:")]


# --- reading a warehouse --------------------------------------------------------------------------

def _spark(wh: Path):
    from lakelib.runtime.session import local_spark_session

    return local_spark_session(wh)


def _rows(spark, fq: str, drop=LINEAGE) -> list[tuple]:
    df = spark.table(f"local.{fq}")
    cols = [c for c in df.columns if c not in drop]
    return [tuple(r) for r in df.select(*cols).collect()]


def _dupes(rows: list) -> list:
    return [k for k, n in Counter(rows).items() if n > 1]


def fhir_state(wh: Path) -> dict:
    """Everything a clean run and a recovered run must agree on, and the duplicate checks."""
    spark = _spark(wh)
    out: dict = {"dupes": {}}
    for t, key in FHIR_SILVER.items():
        rows = _rows(spark, f"{SILVER}.{t}")
        out[f"silver.{t}"] = sorted(rows, key=repr)
        out["dupes"][f"silver.{t}"] = _dupes([r[0] for r in spark.table(f"local.{SILVER}.{t}").select(key).collect()])
    for t in FHIR_BRONZE:
        rows = _rows(spark, f"{BRONZE}.{t}")
        out[f"bronze.{t}"] = sorted(rows, key=repr)
        keys = spark.table(f"local.{BRONZE}.{t}").select("source_file", "line_number").collect()
        out["dupes"][f"bronze.{t}"] = _dupes([tuple(k) for k in keys])
    for db in (BRONZE, SILVER):
        q = _rows(spark, f"{db}.fhir_quarantine")
        out[f"{db}.quarantine"] = Counter(q)
        keys = spark.table(f"local.{db}.fhir_quarantine").select("stage", "source_file", "line_number", "reason")
        out["dupes"][f"{db}.fhir_quarantine"] = _dupes([tuple(k) for k in keys.collect()])
    waiting = _rows(spark, f"{SILVER}.fhir_waiting", drop=LINEAGE | {"waiting_since"})
    out["silver.fhir_waiting"] = sorted(waiting, key=repr)
    out["dupes"]["silver.fhir_waiting"] = _dupes([(r[4], r[5]) for r in waiting])  # source_file, line_number
    log = _rows(spark, f"{BRONZE}.fhir_ingested_files")
    out["bronze.fhir_ingested_files"] = sorted(log)
    out["dupes"]["bronze.fhir_ingested_files"] = _dupes([r[0] for r in log])
    out["gold"] = sorted(_rows(spark, f"{GOLD}.cms_facility_monthly"))
    out["dupes"]["gold"] = _dupes([r[:2] for r in out["gold"]])
    return out


def assert_recovered(state: dict, clean: dict) -> None:
    assert {k: v for k, v in state["dupes"].items() if v} == {}, "duplicate rows"
    for k in clean:
        if k != "dupes":
            assert state[k] == clean[k], k
    for k in (f"{BRONZE}.quarantine", f"{SILVER}.quarantine"):  # every record exactly once
        assert set(state[k].values()) == {1}, k


def runner_cmd(input_dir: Path, wh: Path) -> list[str]:
    return [sys.executable, "-m", "lakehouse.runner", "run", "--input", str(input_dir), "--warehouse", str(wh)]


# --- FHIR ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fhir(spark, tmp_path_factory):
    """Tiny input (every bad-record kind included) and the clean run's state."""
    root = tmp_path_factory.mktemp("fault_fhir")
    write_batch(root / "in", patients=16, seed=11)
    assert cli.main(["run", "--input", str(root / "in"), "--warehouse", str(root / "clean")]) == 0
    clean = fhir_state(root / "clean")
    assert clean["gold"] and clean[f"{BRONZE}.quarantine"] and clean[f"{SILVER}.quarantine"]
    assert clean["silver.fhir_waiting"]  # records whose patient never comes
    return {"root": root, "input": root / "in", "clean": clean}


def killed_run_then_rerun_equals_a_clean_run(fhir: dict, point: Point, tmp_path: Path) -> None:
    """One FHIR scenario: the run killed at `point`, its lock left behind and taken over by a rerun
    that succeeds, and the warehouse then equal to the clean run's."""
    wh = tmp_path / "wh"
    killed = crash.kill_at(runner_cmd(fhir["input"], wh), lambda: point.reached(wh), tmp_path / "killed.log",
                           env=ENV, cwd=REPO)
    log = killed.log.read_text(errors="replace")[-3000:]
    assert killed.reached and killed.returncode == -signal.SIGKILL, log
    assert point.before(wh), f"the kill landed after the next commit: {log}"
    assert (wh / LOCK_FILE).exists()  # the dead run's lock is left behind ...
    assert cli.main(["run", "--input", str(fhir["input"]), "--warehouse", str(wh)]) == 0  # ... and taken over
    report = json.loads((wh / "_runs" / "latest.json").read_text())
    assert report["status"] == "succeeded"
    assert_recovered(fhir_state(wh), fhir["clean"])


# --- climate (PostgreSQL loads) --------------------------------------------------------------

@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    """This module's own throwaway PostgreSQL (its tables are dropped between scenarios)."""
    home = tmp_path_factory.mktemp("fault_pg")
    try:
        with pg_local.local_postgres(home) as server:
            yield server
    finally:
        pg_local.remove(home)


CLIMATE_PG = ("locations", "climate_data", "health_data", "hospital_data")


def climate_cmd(raw: Path, wh: Path, pg_server, run_id: str) -> list[str]:
    return [sys.executable, "-m", "lakehouse.runner.crash", "pipeline", "--pipeline", "climate", "--input", str(raw),
            "--warehouse", str(wh), "--run-id", run_id, "--job-args", json.dumps(pg_server.job_arguments())]


def reset_pg(pg_server) -> None:
    with pg_server.connect() as c:
        for t in ("hospital_data", "health_data", "climate_data", "locations"):
            c.execute(f"DROP TABLE IF EXISTS {t} CASCADE")
        for (t,) in c.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE '%%__stage_%%'").fetchall():
            c.execute(f'DROP TABLE IF EXISTS "{t}"')


def climate_state(wh: Path, pg_server) -> dict:
    spark = _spark(wh)
    out: dict = {"dupes": {}}
    with pg_server.connect() as c:
        for t in CLIMATE_PG:
            out[f"pg.{t}"] = sorted(c.execute(
                f"SELECT * FROM {t}").fetchall(), key=repr)
        out["pg.stage_tables"] = sorted(r[0] for r in c.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE '%%__stage_%%'").fetchall())
    for t in CLIMATE_PG:  # lineage columns of PostgreSQL rows: drop loaded_at
        out[f"pg.{t}"] = [tuple(x for x in r if not hasattr(x, "tzinfo") or x.tzinfo is None) for r in out[f"pg.{t}"]]
    q = _rows(spark, f"{BRONZE}.climate_quarantine")
    out["bronze.climate_quarantine"] = Counter(q)
    out["dupes"]["bronze.climate_quarantine"] = _dupes([(r[0], r[1], r[2]) for r in q])
    corr = _rows(spark, f"{BRONZE}.climate_corrections")
    out["bronze.climate_corrections"] = Counter(corr)
    out["dupes"]["bronze.climate_corrections"] = _dupes(corr)
    files = _rows(spark, f"{BRONZE}.climate_ingested_files")
    out["bronze.climate_ingested_files"] = sorted(files)
    out["dupes"]["bronze.climate_ingested_files"] = _dupes([r[1] for r in files])
    out["gold"] = sorted(_rows(spark, f"{GOLD}.climate_daily_metrics"), key=repr)
    return out


@pytest.fixture(scope="module")
def climate(spark, pg, tmp_path_factory):
    root = tmp_path_factory.mktemp("fault_climate")
    write_sample(root / "raw", seed=5, locations=3, days=4, batch=1, bad_share=0.25)
    reset_pg(pg)
    runs = crash.run_declared_pipeline("climate", root / "raw", root / "clean", pg.job_arguments(), "clean")
    assert [r.status for r in runs] == ["succeeded"] * 5, [r.error for r in runs]
    clean = climate_state(root / "clean", pg)
    assert clean["bronze.climate_quarantine"] and clean["bronze.climate_corrections"]
    return {"root": root, "raw": root / "raw", "clean": clean}


CLIMATE_POINTS = [
    # name, point (warehouse, pg) -> bool, still true after the kill
    ("climate: inside the PostgreSQL load of climate_data (staging table filled, not merged)",
     lambda wh, pg: crash.pg_tables_like(pg.connect, "climate_data__stage_%"),
     lambda wh, pg: not any(r for r in _pg(pg, "SELECT 1 FROM climate_data LIMIT 1"))),
    ("climate: health_data loaded, its bronze audit not yet written",
     lambda wh, pg: bool(_pg(pg, "SELECT 1 FROM pg_tables WHERE tablename = 'health_data'"))
     and bool(_pg(pg, "SELECT 1 FROM health_data LIMIT 1")),
     lambda wh, pg: crash.iceberg_version(wh, BRONZE, "climate_ingested_files") < 4),
    ("climate: quarantine of a fact feed committed, its ingested-files row not",
     lambda wh, pg: crash.iceberg_version(wh, BRONZE, "climate_quarantine") >= 3,
     lambda wh, pg: crash.iceberg_version(wh, BRONZE, "climate_ingested_files") < 3),
]


def _pg(pg_server, sql: str) -> list:
    with pg_server.connect() as c:
        return c.execute(sql).fetchall()


