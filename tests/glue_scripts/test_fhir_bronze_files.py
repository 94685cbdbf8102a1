"""FHIR bronze and the raw files it is given (issue 20, "Data"): lines that are not UTF-8, corrupt
or empty .gz files, names the pipeline does not read, folder names with glob characters.

The pure file classification is tested without Spark; each other test runs the bronze job once on
real local Spark + Iceberg (its own warehouse) on a few hand-written files.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from lakelib.fhir import bronze_files as BF
from lakelib.fhir.jobs import run_bronze
from lakelib.fhir.rules import BRONZE_REASONS, FILE_REASONS, REASONS
from lakelib.io import raw_files
from lakelib.runtime.session import local_spark_session

READ = ("Patient", "Encounter", "Condition")
DB = "lake_bronze"


def patient(pid: str, **kw) -> str:
    return json.dumps({"resourceType": "Patient", "id": pid, **kw}, ensure_ascii=False)


def run(tmp_path: Path, raw: Path):
    session = local_spark_session(tmp_path / "warehouse")
    args = {"--catalog": "local", "--raw_path": raw.resolve().as_uri() + "/", "--bronze_database": DB}
    return session, run_bronze(session, args)


def log_rows(session) -> dict[str, tuple]:
    rows = session.table(f"local.{DB}.fhir_ingested_files").collect()
    return {r["source_file"]: (r["lines"], r["accepted"], r["quarantined"], r["reason"]) for r in rows}


def data_files(session, table: str) -> list[str]:
    return [r[0] for r in session.sql(f"SELECT file_path FROM local.{DB}.{table}.files").collect()]


# --- the pure file classification -------------------------------------------------------------

@pytest.mark.parametrize("name, size, expected", [
    ("Patient.ndjson", 10, ("read", "Patient", None)),
    ("Encounter.0001.ndjson.gz", 10, ("read", "Encounter", None)),
    ("Condition.part-1.ndjson", 0, ("read", "Condition", None)),  # an empty plain file: 0 lines
    ("Observation.ndjson", 10, ("ignored", None, "resource_type_not_read")),
    ("patient.ndjson", 10, ("ignored", None, "not_fhir_ndjson")),
    ("Patient.NDJSON", 10, ("ignored", None, "not_fhir_ndjson")),
    ("Patient.json", 10, ("ignored", None, "not_fhir_ndjson")),
    ("Patient.ndjson.bz2", 10, ("ignored", None, "not_fhir_ndjson")),
    ("Patient.ndjson.tmp", 10, ("ignored", None, "not_fhir_ndjson")),
    (".DS_Store", 10, ("ignored", None, "not_fhir_ndjson")),
    ("Patient.ndjson.gz", 0, ("quarantined", "Patient", "empty_gzip")),
])
def test_every_file_is_read_ignored_or_quarantined_with_a_reason(name, size, expected):
    v = BF.classify_file(name, size, READ)
    assert (v.action, v.resource_type, v.reason) == expected
    assert (v.detail is None) == (v.reason is None)
    if v.reason:
        assert v.reason in FILE_REASONS
        assert name in v.detail  # names the file ...
        assert "allowed" in v.detail  # ... and what is allowed


def test_ignored_names_say_what_is_wrong_with_them():
    detail = {n: BF.classify_file(n, 1, READ).detail for n in (
        "patient.ndjson", "Patient.NDJSON", "Patient.json", "Patient.ndjson.bz2", "Patient.ndjson.tmp",
        "Observation.ndjson")}
    assert "upper-case" in detail["patient.ndjson"]
    assert "lower-case" in detail["Patient.NDJSON"]
    assert ".ndjson" in detail["Patient.json"]
    assert "only gzip" in detail["Patient.ndjson.bz2"]
    assert "not <ResourceType>[.<part>].ndjson[.gz]" in detail["Patient.ndjson.tmp"]
    assert "Observation" in detail["Observation.ndjson"] and "Patient, Encounter, Condition" in detail[
        "Observation.ndjson"]


def test_the_name_rule_is_the_same_in_io_and_in_bronze():
    assert raw_files.FHIR_FILE_RE.pattern == BF.FHIR_FILE_RE.pattern


def test_file_and_line_reasons_are_distinct_and_documented():
    assert "invalid_utf8" in BRONZE_REASONS and not set(FILE_REASONS) & set(REASONS)
    text = (Path(__file__).resolve().parents[2] / "docs" / "fhir-data-model.md").read_text()
    for reason in FILE_REASONS:
        assert f"`{reason}`" in text, reason


def test_glob_characters_are_escaped_for_hadoop():
    assert raw_files.literal_path("file:/r/batch[1]/a{b,c}*?\\x") == "file:/r/batch\\[1\\]/a\\{b,c\\}\\*\\?\\\\x"
    assert raw_files.literal_path("s3://bucket/fhir/b-1/Patient.ndjson") == "s3://bucket/fhir/b-1/Patient.ndjson"


# --- the bronze job on such files --------------------------------------------------------------

def test_lines_that_are_not_utf8_are_quarantined_and_bronze_stays_readable(spark, tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    b = raw / "fhir" / "b1"
    b.mkdir(parents=True)
    (b / "Patient.ndjson").write_bytes(b"\n".join([
        patient("p1").encode(),
        patient("p2", name="José").encode("latin-1"),  # Latin-1: 0xE9 alone
        patient("p3", name="José").encode(),
        b'{"resourceType":"Patient","id":"p4","x":"\xed\xa0\x80"}',  # a UTF-8-encoded surrogate
        b'{"resourceType":"Patient","id":"p5","x":"\xc0\xaf"}',  # an overlong encoding
    ]) + b"\n")
    with gzip.open(b / "Patient.1.ndjson.gz", "wb") as fh:
        fh.write(patient("p6", name="Müller").encode("cp1252") + b"\n" + patient("p7").encode() + b"\n")
    session, m = run(tmp_path, raw)
    assert (m["input"], m["accepted"], m["quarantined"]) == (7, 3, 4)
    assert log_rows(session) == {"fhir/b1/Patient.ndjson": (5, 2, 3, None),
                                 "fhir/b1/Patient.1.ndjson.gz": (2, 1, 1, None)}
    q = session.sql(f"SELECT source_file, line_number, reason, resource_id, raw, detail "
                    f"FROM local.{DB}.fhir_quarantine ORDER BY source_file, line_number").collect()
    assert [tuple(r)[:4] for r in q] == [
        ("fhir/b1/Patient.1.ndjson.gz", 1, "invalid_utf8", "p6"),
        ("fhir/b1/Patient.ndjson", 2, "invalid_utf8", "p2"),
        ("fhir/b1/Patient.ndjson", 4, "invalid_utf8", "p4"),
        ("fhir/b1/Patient.ndjson", 5, "invalid_utf8", "p5"),
    ]
    assert "Jos\ufffd" in q[1]["raw"] and "allowed: UTF-8" in q[1]["detail"]
    for table in ("fhir_patient", "fhir_quarantine", "fhir_ingested_files"):
        for path in data_files(session, table):
            pq.read_table(path.removeprefix("file:")).validate(full=True)
            duckdb.sql(f"SELECT * FROM read_parquet('{path.removeprefix('file:')}')").fetchall()


def _gz_lines(n: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)  # incompressible enough that half the file is half the stream
    return gzip.compress("".join(patient(f"p{i}", pad=f"{rng.getrandbits(256):x}") + "\n"
                                 for i in range(n)).encode())


def test_a_corrupt_or_empty_gz_is_quarantined_as_a_file_and_the_others_are_read(spark, tmp_path):
    raw = tmp_path / "raw"
    b = raw / "fhir" / "b1"
    b.mkdir(parents=True)
    good = _gz_lines(300)
    (b / "Patient.ndjson.gz").write_bytes(good)
    (b / "Patient.1.ndjson.gz").write_bytes(good[: len(good) // 2])  # truncated
    flipped = bytearray(_gz_lines(300, seed=1))
    flipped[-6] ^= 0xFF  # in the CRC32 of the trailer
    (b / "Patient.2.ndjson.gz").write_bytes(bytes(flipped))
    (b / "Patient.3.ndjson.gz").write_bytes(b"")
    (b / "Patient.4.ndjson.gz").write_bytes(patient("x").encode() + b"\n")  # plain text named .gz
    (b / "Encounter.ndjson").write_text(json.dumps({"resourceType": "Encounter", "id": "e1"}) + "\n")
    session, m = run(tmp_path, raw)
    assert (m["input"], m["accepted"], m["quarantined"]) == (301, 301, 0)
    assert (m["files_ingested"], m["files_quarantined"], m["files_ignored"]) == (2, 4, 0)
    got = {f["source_file"]: (f["reason"], f["detail"]) for f in m["quarantined_files"]}
    assert sorted(got) == [f"fhir/b1/Patient.{i}.ndjson.gz" for i in (1, 2, 3, 4)]
    assert got["fhir/b1/Patient.3.ndjson.gz"][0] == "empty_gzip"
    for name in ("Patient.1", "Patient.2", "Patient.4"):
        reason, detail = got[f"fhir/b1/{name}.ndjson.gz"]
        assert reason == "corrupt_gzip" and f"fhir/b1/{name}.ndjson.gz" in detail and "allowed" in detail
    assert "EOF" in got["fhir/b1/Patient.1.ndjson.gz"][1] and "CRC" in got["fhir/b1/Patient.2.ndjson.gz"][1]
    logged = log_rows(session)
    assert logged["fhir/b1/Patient.ndjson.gz"] == (300, 300, 0, None)
    assert logged["fhir/b1/Patient.3.ndjson.gz"] == (0, 0, 0, "empty_gzip")
    assert logged["fhir/b1/Patient.1.ndjson.gz"] == (0, 0, 0, "corrupt_gzip")
    assert session.table(f"local.{DB}.fhir_patient").count() == 300
    # logged: a re-run reads none of them again (a repaired file comes under a new name)
    session2, m2 = run(tmp_path, raw)
    assert (m2["input"], m2["files_already_ingested"], m2["files_quarantined"]) == (0, 6, 0)


def test_files_the_pipeline_does_not_read_are_listed_with_the_reason(spark, tmp_path):
    raw = tmp_path / "raw"
    b = raw / "fhir" / "b1"
    b.mkdir(parents=True)
    names = ["patient.ndjson", "Patient.NDJSON", "Patient.json", "Patient.ndjson.bz2", "Patient.ndjson.tmp",
             "Observation.ndjson"]
    for n in names + ["Patient.ndjson"]:
        (b / n).write_text(patient("p1") + "\n")
    session, m = run(tmp_path, raw)
    assert (m["input"], m["files_ingested"], m["files_ignored"]) == (1, 1, 6)
    assert [(f["source_file"], f["reason"]) for f in m["ignored_files"]] == sorted(
        (f"fhir/b1/{n}", "resource_type_not_read" if n == "Observation.ndjson" else "not_fhir_ndjson")
        for n in names)
    assert all("name is not <ResourceType>[.<part>].ndjson[.gz]" in f["detail"]
               for f in m["ignored_files"] if f["reason"] == "not_fhir_ndjson")
    assert m["files_listed"] == 7


def test_folders_named_with_glob_characters_are_read_literally_and_once(spark, tmp_path):
    raw = tmp_path / "raw"
    folders = {"batch[1]": 1, "batch{a,b}": 2, "batch*": 3,  # and folders their globs would match:
               "batch1": 4, "batcha": 5, "batch-0001": 6}
    for folder, n in folders.items():
        (raw / "fhir" / folder).mkdir(parents=True)
        (raw / "fhir" / folder / "Patient.ndjson").write_text(
            "".join(patient(f"f{n}-{i}") + "\n" for i in range(n)))
    session, m = run(tmp_path, raw)
    assert (m["input"], m["accepted"], m["files_ingested"]) == (21, 21, 6)
    stored = session.sql(f"SELECT source_file, count(*), count(DISTINCT line_number) "
                         f"FROM local.{DB}.fhir_patient GROUP BY source_file").collect()
    assert sorted(tuple(r) for r in stored) == sorted((f"fhir/{f}/Patient.ndjson", n, n) for f, n in folders.items())
    ids = {r[0] for r in session.sql(f"SELECT resource_id FROM local.{DB}.fhir_patient").collect()}
    assert ids == {f"f{n}-{i}" for n in folders.values() for i in range(n)}


def test_an_ingest_log_made_by_an_older_release_gets_the_reason_columns(spark, tmp_path):
    from pyspark.sql.types import StructType

    from lakelib.fhir.schemas import INGEST_LOG
    from lakelib.io.tables import Lake

    session = local_spark_session(tmp_path / "warehouse")
    lake = Lake(session, "local", "an-older-release")
    lake.ensure_table(lake.table(DB, "fhir_ingested_files"),
                      StructType([f for f in INGEST_LOG.fields if f.name not in ("reason", "detail")]))
    raw = tmp_path / "raw"
    (raw / "fhir" / "b1").mkdir(parents=True)
    (raw / "fhir" / "b1" / "Patient.ndjson").write_text(patient("p1") + "\n")
    (raw / "fhir" / "b1" / "Patient.1.ndjson.gz").write_bytes(b"")
    session, m = run(tmp_path, raw)
    assert (m["files_ingested"], m["files_quarantined"]) == (1, 1)
    assert log_rows(session) == {"fhir/b1/Patient.ndjson": (1, 1, 0, None),
                                 "fhir/b1/Patient.1.ndjson.gz": (0, 0, 0, "empty_gzip")}
