"""Bronze written from hostile raw files stays readable by other engines and accounts for every
file and every line (issue 20, "Data").

One raw zone holds what real drops contain: lines that are not UTF-8, NUL bytes, multi-megabyte
lines, byte order marks, CRLF and lone CR line ends, empty lines, a truncated and an empty .gz,
names the pipeline does not read, folders named with glob characters. The bronze job runs once;
then every Parquet data file of every bronze table is read by DuckDB and by PyArrow (full UTF-8
validation), and the job's accounts are checked against the files as written:
lines of a file = accepted + quarantined (each line exactly once, with the expected reason) and
files listed = read + quarantined + ignored.
"""

from __future__ import annotations

import bz2
import gzip
import json
from collections import Counter
from pathlib import Path

from lakelib.fhir.jobs import run_bronze
from lakelib.runtime.session import local_spark_session

DB = "lake_bronze"
BOM = b"\xef\xbb\xbf"
MB = 1 << 20


def res(rtype: str, rid: str, **kw) -> bytes:
    return json.dumps({"resourceType": rtype, "id": rid, **kw}, ensure_ascii=False).encode()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def lines_file(path: Path, lines: list[tuple[bytes, str | None]], ends=(b"\n",), gz=False, bom=False):
    """Write `lines` (each with its expected bronze reason, None = accepted) ending in turn with
    each of `ends`; returns {line number: expected reason}."""
    body = b"".join(text + ends[i % len(ends)] for i, (text, _) in enumerate(lines))
    body = (BOM if bom else b"") + body
    write(path, gzip.compress(body) if gz else body)
    return {i + 1: reason for i, (_, reason) in enumerate(lines)}


def build(raw: Path) -> tuple[dict[str, dict[int, str | None]], dict[str, str], dict[str, str]]:
    """The raw zone: ({read file: {line: reason}}, {quarantined file: reason}, {ignored file: reason})."""
    fhir = raw / "fhir"
    read: dict[str, dict[int, str | None]] = {}
    p = "batch[1]/Patient.ndjson"
    read[p] = lines_file(fhir / p, [
        (res("Patient", "p1"), None),  # after the file's BOM: Hadoop's line reader drops it
        (b'{"resourceType":"Patient","id":"p2","x":"a\\u0000b"}', None),  # an escaped NUL is JSON
        (b'{"resourceType":"Patient","id":"p3","x":"a\x00b"}', "invalid_json"),  # a raw one is not
        (b'\x00{"resourceType":"Patient","id":"p4"}', "invalid_json"),
        (b"", "invalid_json"),
        (res("Patient", "p5", name="Jos\u00e9").replace("\u00e9".encode(), b"\xe9"), "invalid_utf8"),  # Latin-1
        (b"\xff\xfe", "invalid_utf8"),
        (res("Patient", "p6", pad="x" * (3 * MB)), None),  # a 3 MB line
        (b"y" * (3 * MB), "invalid_json"),
        (BOM + res("Patient", "p7"), "invalid_json"),  # a BOM inside the file is no whitespace
        (res("Patient", "p8", name="\U0001F600 \u00e9\u4e2d"), None),  # 4-, 2- and 3-byte UTF-8
        (b'{"resourceType":"Patient","id":"p9","x":"\xed\xa0\x80"}', "invalid_utf8"),  # an encoded surrogate
        (b"   ", "invalid_json"),
        (res("Patient", "p10"), None),
    ], ends=(b"\r\n", b"\n", b"\r"), bom=True)
    e = "batch{a,b}/Encounter.ndjson.gz"
    read[e] = lines_file(fhir / e, [
        (res("Encounter", "e1"), None),
        (res("Encounter", "e2", note="M\u00fcller").replace("\u00fc".encode(), b"\xfc"), "invalid_utf8"),
        (b"", "invalid_json"),
        (res("Patient", "p11"), "resource_type_mismatch"),
        (res("Encounter", "e3"), None),
    ], gz=True, bom=True)
    c = "batch*/Condition.ndjson"
    read[c] = lines_file(fhir / c, [(res("Condition", "c1"), None), (res("Condition", "c 2"), "invalid_id")],
                         ends=(b"\r\n",))
    d = "batch-0001/Patient.ndjson"  # a folder the glob batch* would match too
    read[d] = lines_file(fhir / d, [(res("Patient", "p12"), None)])
    z = "batch-0001/Condition.ndjson"  # an empty plain file: read, 0 lines
    write(fhir / z, b"")
    read[z] = {}

    quarantined = {"batch*/Condition.1.ndjson.gz": "corrupt_gzip", "batch*/Encounter.1.ndjson.gz": "empty_gzip",
                   "batch[1]/Patient.2.ndjson.gz": "corrupt_gzip"}
    whole = gzip.compress(b"".join(res("Condition", f"c{i}", pad=str(i * 7919) * 20) + b"\n" for i in range(2000)))
    write(fhir / "batch*/Condition.1.ndjson.gz", whole[: len(whole) // 2])  # truncated
    write(fhir / "batch*/Encounter.1.ndjson.gz", b"")
    write(fhir / "batch[1]/Patient.2.ndjson.gz", b"\x1f\x8b" + b"\x00" * 40)  # a gzip magic, then junk

    ignored = {"batch[1]/patient.ndjson": "not_fhir_ndjson", "batch[1]/Patient.ndjson.bz2": "not_fhir_ndjson",
               "batch-0001/notes.json": "not_fhir_ndjson", "batch-0001/Patient.ndjson.tmp": "not_fhir_ndjson",
               "batch{a,b}/Observation.ndjson": "resource_type_not_read"}
    for name in ignored:
        write(fhir / name, bz2.compress(res("Patient", "i1")) if name.endswith(".bz2") else res("Patient", "i1"))
    prefix = lambda d: {f"fhir/{k}": v for k, v in d.items()}  # noqa: E731
    return prefix(read), prefix(quarantined), prefix(ignored)


def test_bronze_from_hostile_files_is_readable_by_duckdb_and_pyarrow_and_accounts_for_everything(spark, tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    read, quarantined, ignored = build(raw)
    on_disk = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file())
    assert on_disk == sorted([*read, *quarantined, *ignored])
    session = local_spark_session(tmp_path / "warehouse")
    m = run_bronze(session, {"catalog": "local", "raw_path": raw.resolve().as_uri() + "/", "bronze_database": DB})

    # files: listed = read + quarantined + ignored, each with its reason
    assert (m["files_listed"], m["files_ingested"], m["files_quarantined"], m["files_ignored"]) == (
        len(on_disk), len(read), len(quarantined), len(ignored))
    assert {f["source_file"]: f["reason"] for f in m["quarantined_files"]} == quarantined
    assert {f["source_file"]: f["reason"] for f in m["ignored_files"]} == ignored
    log = {r["source_file"]: r for r in session.table(f"local.{DB}.fhir_ingested_files").collect()}
    assert set(log) == set(read) | set(quarantined)
    assert {f: r["reason"] for f, r in log.items() if r["reason"]} == quarantined

    # lines: every line of every read file exactly once, accepted or quarantined with its reason
    got: dict[tuple[str, int], list[str | None]] = {}
    for t in ("fhir_patient", "fhir_encounter", "fhir_condition"):
        for r in session.table(f"local.{DB}.{t}").select("source_file", "line_number").collect():
            got.setdefault((r[0], r[1]), []).append(None)
    for r in session.table(f"local.{DB}.fhir_quarantine").select("source_file", "line_number", "reason").collect():
        got.setdefault((r[0], r[1]), []).append(r[2])
    expected = {(f, n): [reason] for f, lines in read.items() for n, reason in lines.items()}
    assert got == expected
    for f, lines in read.items():
        row = log[f]
        assert (row["lines"], row["accepted"], row["quarantined"]) == (
            len(lines), sum(r is None for r in lines.values()), sum(r is not None for r in lines.values())), f
    n = sum(len(lines) for lines in read.values())
    assert (m["input"], m["accepted"] + m["quarantined"]) == (n, n)
    assert Counter(r for lines in read.values() for r in lines.values() if r) == Counter(
        {"invalid_json": 7, "invalid_utf8": 4, "resource_type_mismatch": 1, "invalid_id": 1})

    # every data file of every bronze table reads in DuckDB and PyArrow, strings validated
    for t in ("fhir_patient", "fhir_encounter", "fhir_condition", "fhir_quarantine", "fhir_ingested_files"):
        listed = session.sql(f"SELECT file_path FROM local.{DB}.{t}.files").collect()
        files = [r[0].removeprefix("file:") for r in listed]
        assert files, t
        rows = 0
        for path in files:
            table = pq.read_table(path)
            table.validate(full=True)
            table.to_pylist()
            rows += duckdb.sql(f"SELECT count(*) FROM (SELECT * FROM read_parquet('{path}'))").fetchone()[0]
            duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()
        assert rows == session.table(f"local.{DB}.{t}").count(), t
    raws = dict(session.sql(f"SELECT resource_id, raw FROM local.{DB}.fhir_patient").collect())
    assert raws["p2"].endswith('"a\\u0000b"}') and len(raws["p6"]) > 3 * MB and "\U0001F600" in raws["p8"]
