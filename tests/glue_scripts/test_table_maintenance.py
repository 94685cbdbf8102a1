"""Table maintenance (lakelib.maintenance) on real local Spark + Iceberg, driven by the declaration:
bronze and silver run with the arguments pipelines/fhir.yaml gives them, the maintenance job with the
arguments the model synthesizes (through `python -m lakehouse.runner maintain`).

What it must do: leave no file that no snapshot or metadata references (a crashed write's files
included), change no row, drop snapshots, and keep every snapshot silver's checkpoint still reads
from -- the next incremental silver run equals a from-scratch run. The same expiry without the
checkpoint-keeping (only the current snapshot left) breaks that next run: the end of the test shows
the failure the checkpoint-keeping prevents."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.model.pipelines import load_pipeline
from lakehouse.model.platform import job_arguments
from lakehouse.runner import cli, executor
from lakehouse.samples.fhir import write_batch
from lakelib.fhir import jobs as J
from lakelib.fhir.schemas import BRONZE_TABLES, SILVER_TABLES
from lakelib.io.tables import Lake
from lakelib.maintenance import jobs as M
from lakelib.runtime.args import JobArgumentError
from lakelib.runtime.session import local_spark_session

pytestmark = pytest.mark.heavy(minutes=3)

CFG = load_stack_config("dev")
FHIR = load_pipeline("fhir")
DB = {z: CFG.database_name(z) for z in ("bronze", "silver", "gold")}


# --- pure parts ----------------------------------------------------------------------------------

def test_the_expiry_cutoff_moves_back_to_the_oldest_checkpointed_snapshot():
    now, hour = 10 * M.HOUR_MS, M.HOUR_MS
    assert M.expiry_cutoff(now, 2, []) == now - 2 * hour
    assert M.expiry_cutoff(now, 2, [now - 5 * hour, now - 3 * hour]) == now - 5 * hour  # kept, with all later
    assert M.expiry_cutoff(now, 2, [now - hour]) == now - 2 * hour  # younger than the retention anyway


def test_bad_maintenance_arguments_are_named():
    dbs = {"bronze": "b", "silver": "s", "gold": None}
    assert M.parse_tables("bronze.a, silver.b", dbs) == [("bronze", "a"), ("silver", "b")]
    with pytest.raises(JobArgumentError, match="--tables: 'gold.c' needs --gold_database"):
        M.parse_tables("bronze.a,gold.c", dbs)
    with pytest.raises(JobArgumentError, match="--tables: got 'raw.x'; allowed: <zone>.<table>"):
        M.parse_tables("raw.x", dbs)
    assert M.parse_checkpoints("silver.b=bronze", [("silver", "b")]) == {("silver", "b"): "bronze"}
    with pytest.raises(JobArgumentError, match="--checkpoints: got 'silver.zz=bronze'"):
        M.parse_checkpoints("silver.zz=bronze", [("silver", "b")])
    for bad in ("-1", "two", "", None):
        with pytest.raises(JobArgumentError, match="--orphan_file_age_hours: got .*allowed: a whole number of hours"):
            M.hours("orphan_file_age_hours", bad)


# --- on a warehouse ------------------------------------------------------------------------------

def _args(job: str, raw: Path, wh: Path) -> dict[str, str]:
    return {**job_arguments(FHIR.job(job), executor.lake_location(CFG, raw, wh)), "--run_id": f"t-{job}"}


def _silver_rows(spark) -> dict[str, list[tuple]]:
    out = {}
    for rt, name in SILVER_TABLES.items():
        df = spark.table(f"local.{DB['silver']}.{name}").drop("silver_run_id", "updated_at", "ingest_seq")
        out[rt] = sorted(tuple(r) for r in df.collect())
    return out


def _bronze_then_silver(spark, raw: Path, wh: Path) -> None:
    J.run_bronze(spark, _args("bronze", raw, wh))
    J.run_silver(spark, _args("silver", raw, wh))


def _table_dir(wh: Path, zone: str, table: str) -> Path:
    return wh / DB[zone] / table


def _unreferenced(spark, wh: Path, zone: str, table: str) -> set[str]:
    """Files under the table's folder that neither a live snapshot nor the metadata references
    (Hadoop's .crc checksum files aside: they go with their file)."""
    t = f"local.{DB[zone]}.{table}"
    queries = (f"SELECT file_path FROM {t}.all_files", f"SELECT path FROM {t}.all_manifests",
               f"SELECT manifest_list FROM {t}.snapshots", f"SELECT file FROM {t}.metadata_log_entries")
    referenced = {r[0] for q in queries for r in spark.sql(q).collect()}
    referenced = {p.removeprefix("file:").replace("///", "/") for p in referenced}
    root = _table_dir(wh, zone, table)
    on_disk = {str(p) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".crc")
               and p.name != "version-hint.text"}
    crc_without_file = {str(p) for p in root.rglob(".*.crc") if not p.with_name(p.name[1:-4]).exists()}
    return (on_disk - referenced) | crc_without_file


def _plant_orphan(wh: Path, zone: str, table: str, hours_old: float) -> Path:
    """What a write that died before its commit leaves: a data file no snapshot names."""
    data = _table_dir(wh, zone, table) / "data"
    orphan = data / "00000-0-crashed-write-00001.parquet"
    shutil.copy(next(p for p in sorted(data.rglob("*.parquet"))), orphan)
    old = time.time() - hours_old * 3600
    os.utime(orphan, (old, old))
    return orphan


def _all_rows(spark) -> dict[str, list]:
    names = {"bronze": [*BRONZE_TABLES.values(), "fhir_ingested_files"], "silver": [*SILVER_TABLES.values(),
                                                                                   "fhir_checkpoints"]}
    return {f"{z}.{t}": sorted(map(str, spark.table(f"local.{DB[z]}.{t}").collect())) for z, ts in names.items()
            for t in ts}


def _snapshot_ids(spark, zone: str, table: str) -> list[int]:
    return [r[0] for r in spark.sql(f"SELECT snapshot_id FROM local.{DB[zone]}.{table}.snapshots "
                                    "ORDER BY committed_at").collect()]


def test_maintain_removes_orphans_and_snapshots_changes_no_row_and_silver_still_reads_its_checkpoint(tmp_path,
                                                                                                     capsys):
    raw, wh = tmp_path / "raw", tmp_path / "wh"
    spark = local_spark_session(wh)
    for batch in (1, 2):
        write_batch(raw, patients=6, seed=5, batch=batch)
        _bronze_then_silver(spark, raw, wh)  # silver's checkpoint: bronze's snapshot of batch 2
    for batch in (3, 4):  # appended after the checkpoint: not consumed yet
        write_batch(raw, patients=6, seed=5, batch=batch)
        J.run_bronze(spark, _args("bronze", raw, wh))
    bronze_data = [f"bronze.{t}" for t in BRONZE_TABLES.values()]
    before = {name: _snapshot_ids(spark, *name.split(".")) for name in bronze_data}
    assert {len(ids) for ids in before.values()} == {4}
    old_orphan = _plant_orphan(wh, "bronze", BRONZE_TABLES["Encounter"], hours_old=3)
    silver_orphan = _plant_orphan(wh, "silver", SILVER_TABLES["Patient"], hours_old=3)
    young = _plant_orphan(wh, "bronze", BRONZE_TABLES["Patient"], hours_old=0)  # an in-flight write's file
    assert str(old_orphan) in _unreferenced(spark, wh, "bronze", BRONZE_TABLES["Encounter"])  # the check can fail
    rows = _all_rows(spark)

    args = ["maintain", "--warehouse", str(wh), "--pipeline", "fhir", "--snapshot-retention-hours", "0",
            "--orphan-file-age-hours", "1"]
    assert cli.main(args) == 0
    result = json.loads((wh / "_runs" / "latest.json").read_text())["jobs"][0]["result"]
    tables = result["tables"]
    declared = FHIR.job("maintain").declared_writes()
    assert set(tables) | set(result["not_yet_created"]) == declared  # every table of the pipeline, once
    assert "gold.cms_facility_monthly" in result["not_yet_created"]  # gold never ran here
    assert set(bronze_data) | {f"silver.{t}" for t in SILVER_TABLES.values()} <= set(tables)
    assert not old_orphan.exists() and not silver_orphan.exists() and young.exists()
    assert tables[f"bronze.{BRONZE_TABLES['Encounter']}"]["orphan_files_removed"] == 1
    young.unlink()  # the "in-flight write" ends without committing; nothing else may be left behind
    for name in tables:
        assert _unreferenced(spark, wh, *name.split(".")) == set(), name
    assert _all_rows(spark) == rows  # maintenance changes no row
    for name in bronze_data:
        # batch 1's snapshot expired; the checkpointed one (batch 2) and every later one kept
        after = _snapshot_ids(spark, *name.split("."))
        assert before[name][0] not in after and set(before[name][1:]) <= set(after), (name, before[name], after)
        assert tables[name]["kept_for_checkpoints"] == [before[name][1]]
    # nothing protects the checkpoint table's own snapshots: all but the current one at most expire
    checkpoints = tables["silver.fhir_checkpoints"]
    assert checkpoints["snapshots_before"] == 2 and checkpoints["snapshots_expired"] >= 1
    assert sum(tables[name]["snapshots_expired"] for name in bronze_data) == len(bronze_data)
    assert "orphan files removed" in capsys.readouterr().out

    # silver resumes from its checkpoint across the maintenance and equals a from-scratch run
    J.run_silver(spark, _args("silver", raw, wh))
    scratch_wh = tmp_path / "scratch"
    scratch = local_spark_session(scratch_wh)
    _bronze_then_silver(scratch, raw, scratch_wh)
    got, want = _silver_rows(spark), _silver_rows(scratch)
    for rt in SILVER_TABLES:
        assert got[rt] == want[rt], rt

    # a naive expiry (retain_last=1, nothing protected) keeps only the current snapshot: with two
    # appends since silver's checkpoint the next silver run cannot read what it has not consumed
    lake = Lake(spark, "local", "naive")
    for t in BRONZE_TABLES.values():
        table = lake.table(DB["bronze"], t)
        for _ in range(2):  # two appends (of a stored row: the read fails before any parse)
            lake.append(lake.read(table).limit(1), table)
        spark.sql(f"CALL local.system.expire_snapshots(table => '{DB['bronze']}.{t}', "
                  "older_than => TIMESTAMP '2999-01-01 00:00:00', retain_last => 1)")
    with pytest.raises(Exception, match="(?i)snapshot"):
        J.run_silver(spark, _args("silver", raw, wh))
