"""Silver's incremental cost: merge-on-read MERGEs (delete files instead of rewriting the
table) and the compaction that keeps delete files bounded, on real local Spark + Iceberg.

The job-level test runs bronze + silver over several generated batches with a low
compaction threshold and holds silver to a from-scratch run over the same files."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from lakehouse.samples.fhir import write_batch
from lakelib.fhir import jobs as J
from lakelib.fhir.schemas import SILVER_PROPERTIES, SILVER_TABLES
from lakelib.io.tables import Lake
from lakelib.runtime.args import JobArgumentError, positive_int
from lakelib.runtime.session import local_spark_session

COLUMNS = "id bigint, v string"


def _files(spark, table) -> dict[int, set[str]]:
    """Live files of a table by content (0 = data, 1 = position deletes)."""
    out: dict[int, set[str]] = {0: set(), 1: set()}
    for r in spark.sql(f"SELECT content, file_path FROM {table.meta('files')}").collect():
        out[r.content].add(r.file_path)
    return out


def _rows(spark, table) -> list[tuple]:
    return sorted(tuple(r) for r in spark.table(table.qualified).collect())


@pytest.fixture
def lake(tmp_path):
    return Lake(local_spark_session(tmp_path / "wh"), "local", "test-run")


def _table_with_three_files(lake: Lake, name: str, properties=None):
    t = lake.table("db", name)
    lake.ensure_table(t, COLUMNS, properties)
    spark = lake.spark
    lake.append(spark.range(0, 300).select("id", F.lit("v1").alias("v")).repartition(3, "id"), t)
    assert len(_files(spark, t)[0]) == 3
    return t


def test_ensure_table_brings_an_existing_table_to_the_asked_properties(lake):
    t = _table_with_three_files(lake, "old")  # made as an older release did: copy-on-write
    assert lake.properties(t).get("write.merge.mode") is None
    lake.ensure_table(t, COLUMNS, SILVER_PROPERTIES)
    assert {k: lake.properties(t).get(k) for k in SILVER_PROPERTIES} == SILVER_PROPERTIES
    assert len(_rows(lake.spark, t)) == 300  # properties only: no row touched
    versions = lake.spark.sql(f"SELECT * FROM {t.meta('metadata_log_entries')}").count()
    lake.ensure_table(t, COLUMNS, SILVER_PROPERTIES)  # already up to date: no new metadata version
    assert lake.spark.sql(f"SELECT * FROM {t.meta('metadata_log_entries')}").count() == versions


@pytest.mark.parametrize("properties,rewrites", [(None, True), (SILVER_PROPERTIES, False)])
def test_a_merge_rewrites_data_files_only_under_copy_on_write(lake, properties, rewrites):
    t = _table_with_three_files(lake, "cow" if rewrites else "mor", properties)
    before = _files(lake.spark, t)
    src = lake.spark.createDataFrame([(i, "v2") for i in (1, 2, 3, 4, 5, 1000)], COLUMNS)
    lake.upsert(src, t, "id", "true")
    after = _files(lake.spark, t)
    assert (not before[0] <= after[0]) is rewrites  # copy-on-write replaced the files it matched in
    assert bool(after[1]) is not rewrites  # merge-on-read wrote position deletes instead
    rows = dict(_rows(lake.spark, t))
    assert len(rows) == 301 and all(rows[i] == "v2" for i in (1, 2, 3, 4, 5, 1000)) and rows[6] == "v1"


def test_the_first_upsert_into_an_empty_table_is_an_append_later_ones_merge(lake):
    t = lake.table("db", "first")
    lake.ensure_table(t, COLUMNS, SILVER_PROPERTIES)
    lake.upsert(lake.spark.createDataFrame([(1, "a"), (2, "b")], COLUMNS), t, "id", "true")
    lake.upsert(lake.spark.createDataFrame([(2, "c"), (3, "d")], COLUMNS), t, "id", "true")
    ops = [r.operation
           for r in lake.spark.sql(f"SELECT operation FROM {t.meta('snapshots')} ORDER BY committed_at").collect()]
    assert ops == ["append", "overwrite"]  # a merge-on-read MERGE commits a row-delta ("overwrite")
    assert _rows(lake.spark, t) == [(1, "a"), (2, "c"), (3, "d")]


def test_compaction_drops_delete_files_keeps_every_row_and_then_does_nothing(lake):
    t = _table_with_three_files(lake, "compact", SILVER_PROPERTIES)
    for n in range(3):  # each MERGE touches every data file: one more delete file for each
        src = lake.spark.createDataFrame([(i, f"u{n}") for i in range(n, 300, 50)], COLUMNS)
        lake.upsert(src, t, "id", "true")
    rows, files = _rows(lake.spark, t), _files(lake.spark, t)
    assert len(files[1]) == 3  # and the new row versions are new small data files
    above = max(len(files[0]), len(files[1])) + 1  # fewer files and deletes than this: nothing to do
    assert lake.compact(t, delete_file_threshold=above)["rewritten_data_files_count"] == 0
    assert _files(lake.spark, t) == files
    result = lake.compact(t, delete_file_threshold=3)
    assert result["rewritten_data_files_count"] >= 3
    assert _files(lake.spark, t)[1] == set()  # no delete file left behind
    assert _rows(lake.spark, t) == rows
    snapshots = lake.spark.sql(f"SELECT * FROM {t.meta('snapshots')}").count()
    assert lake.compact(t, delete_file_threshold=3)["rewritten_data_files_count"] == 0
    assert lake.spark.sql(f"SELECT * FROM {t.meta('snapshots')}").count() == snapshots  # no empty commit


@pytest.mark.parametrize("value", ["0", "-1", "two", "", None])
def test_delete_file_threshold_must_be_a_positive_whole_number(value):
    with pytest.raises(JobArgumentError, match="--delete_file_threshold: got .*allowed: a whole number >= 1"):
        positive_int("delete_file_threshold", value)


def _silver(spark) -> dict[str, list[tuple]]:
    out = {}
    for rt, name in SILVER_TABLES.items():
        # lineage aside: which run stored a version, and in which ingest run it arrived
        df = spark.table(f"local.lake_silver.{name}").drop("silver_run_id", "updated_at", "ingest_seq")
        out[rt] = sorted(tuple(r) for r in df.collect())
    return out


def test_silver_over_many_batches_stays_compact_and_equals_a_from_scratch_run(tmp_path):
    raw = tmp_path / "raw"
    args = {"--catalog": "local", "--raw_path": raw.resolve().as_uri() + "/", "--bronze_database": "lake_bronze",
            "--silver_database": "lake_silver", "--delete_file_threshold": "2"}
    incremental = local_spark_session(tmp_path / "incremental")
    compacted = {}
    for batch in range(1, 5):  # later batches carry newer versions of earlier resources
        write_batch(raw, patients=40, seed=7, batch=batch)
        J.run_bronze(incremental, args)
        silver = J.run_silver(incremental, args)
        assert silver["input"] == silver["accepted"] + silver["quarantined"] + silver["waiting"]
        for name, n in silver["compacted"].items():
            compacted[name] = compacted.get(name, 0) + n
    lake = Lake(incremental, "local", "check")
    for rt, name in SILVER_TABLES.items():
        t = lake.table("lake_silver", name)
        assert lake.properties(t)["write.merge.mode"] == "merge-on-read"
        # compaction ran and left no data file with threshold-many delete files behind it
        assert compacted[name] > 0, (name, compacted)
        assert len(_files(incremental, t)[1]) < 2 * max(1, len(_files(incremental, t)[0]))

    scratch = local_spark_session(tmp_path / "scratch")
    J.run_bronze(scratch, args)
    J.run_silver(scratch, args)
    got, want = _silver(incremental), _silver(scratch)
    for rt in SILVER_TABLES:
        ids = [r[0] for r in got[rt]]
        assert len(ids) == len(set(ids)), f"{rt}: duplicate ids after merges and compaction"
        assert got[rt] == want[rt], rt
