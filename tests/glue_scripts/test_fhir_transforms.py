"""FHIR Glue jobs on real local Spark + Iceberg: pure transforms on tiny DataFrames with explicit
schemas, then bronze -> silver -> gold `run()` on hand-written NDJSON with hand-computed gold rows,
re-runs, late data and crash recovery."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakelib.fhir import bronze as B
from lakelib.fhir import gold as G
from lakelib.fhir import silver as S
from lakelib.fhir.rules import BRONZE_REASONS, REASONS
from lakelib.fhir.schemas import BRONZE, CONDITIONS, ENCOUNTERS, PATIENTS
from lakelib.io.raw_files import LINES, fhir_resource_type, list_fhir_files, read_lines
from lakelib.io.tables import Lake
from lakelib.runtime import args as A
from lakelib.runtime.session import local_spark_session

REPO = Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc


def ts(text: str) -> dt.datetime:
    """A UTC instant as Spark returns it (naive, session time zone UTC)."""
    return dt.datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _fields(schema) -> list:
    """Names and types (nullability aside: Spark marks literal columns non-nullable)."""
    return [(f.name, f.dataType) for f in schema.fields]


# --- arguments -------------------------------------------------------------------------------

def test_resolve_strips_dashes_fills_defaults_and_names_every_missing_argument():
    spec = A.ArgSpec(required=("catalog", "raw_path", "bronze_database"), optional={"as_of": None, "x": "d"})
    assert A.resolve({"--catalog": "local", "raw_path": "file:///r/", "--bronze_database": "b", "--x": ""}, spec) == {
        "catalog": "local", "raw_path": "file:///r/", "bronze_database": "b", "as_of": None, "x": "d"}
    with pytest.raises(A.JobArgumentError) as e:
        A.resolve({"--catalog": "local", "--raw_path": " "}, spec)
    assert e.value.problems == [
        "--raw_path: missing (required; received: ['catalog', 'raw_path'])",
        "--bronze_database: missing (required; received: ['catalog', 'raw_path'])",
    ]


def test_identifier_refuses_sql_injection_and_names_the_argument():
    assert A.identifier("silver_database", "lakehouse_dev_silver") == "lakehouse_dev_silver"
    with pytest.raises(A.JobArgumentError, match=r"--silver_database: got 'x; DROP TABLE y'; allowed: letters"):
        A.identifier("silver_database", "x; DROP TABLE y")
    with pytest.raises(A.JobArgumentError, match=r"--catalog: got 'a`b'"):
        Lake(None, "a`b", "run")


def test_parse_argv_reads_both_spellings_without_awsglue():
    spec = A.ArgSpec(required=("catalog",), optional={"as_of": None})
    assert A.parse_argv(["gold.py", "--catalog", "local", "--as_of=2024-12-31", "--JOB_NAME", "j"], spec) == {
        "catalog": "local", "as_of": "2024-12-31", "JOB_NAME": "j"}
    with pytest.raises(A.JobArgumentError, match="argument 'stray'"):
        A.parse_argv(["gold.py", "stray"], spec)


def test_base_uri_requires_a_uri_and_adds_the_trailing_slash():
    assert A.base_uri("raw_path", "s3://raw-bucket") == "s3://raw-bucket/"
    with pytest.raises(A.JobArgumentError, match="--raw_path: got 'raw-bucket'; allowed: a URI"):
        A.base_uri("raw_path", "raw-bucket")


# --- raw files -----------------------------------------------------------------------------

def test_fhir_file_names_follow_the_brief():
    assert [fhir_resource_type(n) for n in (
        "Patient.ndjson", "Encounter.0003.ndjson.gz", "Condition.part-1.ndjson", "patient.ndjson",
        "Patient.json", "Observation.ndjson", "Patient.ndjson.zip",
    )] == ["Patient", "Encounter", "Condition", None, None, "Observation", None]


def test_read_lines_numbers_every_line_exactly_across_blocks_and_gzip(spark, tmp_path):
    root = tmp_path / "raw dir" / "fhir"
    (root / "batch-0002").mkdir(parents=True)
    (root / "batch-0001").mkdir(parents=True)
    big = [json.dumps({"resourceType": "Patient", "id": f"p{i}", "pad": "x" * 40}) for i in range(3000)]
    (root / "batch-0002" / "Patient.ndjson").write_text("\n".join(big) + "\n")
    with gzip.open(root / "batch-0001" / "Encounter.1.ndjson.gz", "wt") as fh:
        fh.write("a\n\nc\n")
    (root / "batch-0001" / "notes.txt").write_text("not input")
    (root / "batch-0001" / "Condition.ndjson").write_text("")
    files = list_fhir_files(spark, (tmp_path / "raw dir").as_uri() + "/")
    assert [(f.source_file, f.resource_type) for f in files] == [
        ("fhir/batch-0001/Condition.ndjson", "Condition"),
        ("fhir/batch-0001/Encounter.1.ndjson.gz", "Encounter"),
        ("fhir/batch-0002/Patient.ndjson", "Patient"),
    ]
    old = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "20000")  # ~10 blocks for the plain file
    try:
        lines = read_lines(spark, files)
        assert spark.read.text(files[2].path).rdd.getNumPartitions() > 5
        expected = [("fhir/batch-0001/Encounter.1.ndjson.gz", "Encounter", 1, "a"),
                    ("fhir/batch-0001/Encounter.1.ndjson.gz", "Encounter", 2, ""),
                    ("fhir/batch-0001/Encounter.1.ndjson.gz", "Encounter", 3, "c")]
        expected += [("fhir/batch-0002/Patient.ndjson", "Patient", i + 1, big[i]) for i in range(3000)]
        assertDataFrameEqual(lines, spark.createDataFrame(expected, LINES))
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", old)


# --- bronze transforms -------------------------------------------------------------------

CLASSIFIED = ("source_file string, line_number bigint, resource_type string, resource_id string, reason string, "
              "detail string")


BRONZE_LINES = [
    '{"resourceType":"Encounter","id":"e1"}',
    '{"resourceType":"Encounter","id":"e2"',  # truncated
    "",  # blank line
    None,  # a null row
    "42",
    '{"resourceType":"Encounter","id":"e3"} trailing',
    '{"id":"e4"}',
    '{"resourceType":"Patient","id":"p1"}',
    '{"resourceType":"Encounter"}',
    '{"resourceType":"Encounter","id":"  "}',
    '{"resourceType":"Encounter","id":17}',
    '{"resourceType":"Encounter","id":"e5"}{"resourceType":"Encounter","id":"e6"}',  # two objects
    "{'resourceType':'Encounter','id':'e7'}",  # single quotes are not JSON
    '{"resourceType":"Encounter","id":NaN}',  # nor is NaN
    '{"resourceType":"Encounter","id":"e12",}',  # nor a trailing comma
    '{"resourceType":"Encounter","id":{"value":"e8"}}',  # an object is no id
    '{"resourceType":5,"id":"e9"}',  # a number is no resource type
    '{"resourceType":"Encounter","id":"Encounter/e10"}',  # a reference is no id
    '{"resourceType":"Encounter","id":"e11\\n"}',  # nor is a trailing newline
    '{"resourceType":"Encounter","id":"' + "e" * 65 + '"}',  # too long
    '{"resourceType":"Encounter","id":"A-z.09"}',
    '{"resourceType":"  ","id":"e13"}',  # a blank resource type is a missing one
]


def test_bronze_classification_gives_every_bronze_reason(spark):
    f = "fhir/b/Encounter.ndjson"
    values = BRONZE_LINES
    lines = spark.createDataFrame([(f, "Encounter", i + 1, v) for i, v in enumerate(values)], LINES)
    got = B.with_line_classification(lines).select(*[c.split()[0] for c in CLASSIFIED.split(", ")])
    mismatch = "resourceType=Patient in a Encounter file"
    ID = r"[A-Za-z0-9\-\.]{1,64}"
    assertDataFrameEqual(got, spark.createDataFrame([
        (f, 1, "Encounter", "e1", None, None),
        (f, 2, "Encounter", None, "invalid_json", None),
        (f, 3, "Encounter", None, "invalid_json", None),
        (f, 4, "Encounter", None, "invalid_json", None),
        (f, 5, "Encounter", None, "invalid_json", None),
        (f, 6, "Encounter", "e3", "invalid_json", None),  # the id, when readable, helps whoever repairs it
        (f, 7, "Encounter", "e4", "missing_resource_type", None),
        (f, 8, "Encounter", "p1", "resource_type_mismatch", mismatch),
        (f, 9, "Encounter", None, "missing_id", None),
        (f, 10, "Encounter", None, "missing_id", None),
        (f, 11, "Encounter", "17", None, None),
        (f, 12, "Encounter", "e5", "invalid_json", None),
        (f, 13, "Encounter", "e7", "invalid_json", None),
        (f, 14, "Encounter", None, "invalid_json", None),
        (f, 15, "Encounter", None, "invalid_json", None),
        (f, 16, "Encounter", '{"value":"e8"}', "invalid_id", 'id={"value":"e8"}; allowed: ' + ID),
        (f, 17, "Encounter", "e9", "resource_type_mismatch", "resourceType=5 in a Encounter file"),
        (f, 18, "Encounter", "Encounter/e10", "invalid_id", "id=Encounter/e10; allowed: " + ID),
        (f, 19, "Encounter", "e11\n", "invalid_id", "id=e11\n; allowed: " + ID),
        (f, 20, "Encounter", "e" * 65, "invalid_id", f"id={'e' * 65}; allowed: " + ID),
        (f, 21, "Encounter", "A-z.09", None, None),
        (f, 22, "Encounter", "e13", "missing_resource_type", None),
    ], CLASSIFIED))


def test_bronze_reasons_equal_the_duckdb_references_line_for_line(spark, tmp_path):
    from lakehouse.samples.fhir_reference import quarantine_counts

    values = [line for line in BRONZE_LINES if line is not None]
    folder = tmp_path / "fhir" / "b"
    folder.mkdir(parents=True)
    (folder / "Encounter.ndjson").write_text("".join(v + "\n" for v in values))
    lines = spark.createDataFrame(
        [("fhir/b/Encounter.ndjson", "Encounter", i + 1, v) for i, v in enumerate(values)], LINES)
    spark_reasons = Counter(r.reason for r in B.with_line_classification(lines).collect() if r.reason)
    reference = {reason: n for (_, reason), n in quarantine_counts(tmp_path).items() if reason in BRONZE_REASONS}
    assert spark_reasons == reference


def test_bronze_rows_keep_the_raw_line_and_ingestion_metadata(spark):
    lines = spark.createDataFrame([
        ("fhir/b/Patient.ndjson", "Patient", 1, '{"resourceType":"Patient","id":"p1"}'),
        ("fhir/b/Patient.ndjson", "Patient", 2, "oops"),
        ("fhir/b/Encounter.ndjson", "Encounter", 1, '{"resourceType":"Encounter","id":"e1"}'),
    ], LINES)
    rows = B.to_bronze_rows(B.with_line_classification(lines), "Patient", 7, "run-7")
    assert _fields(rows.schema) == _fields(BRONZE)
    assertDataFrameEqual(rows.drop("ingested_at"), spark.createDataFrame(
        [("p1", "Patient", '{"resourceType":"Patient","id":"p1"}', "fhir/b/Patient.ndjson", 1, 7, "run-7")],
        "resource_id string, resource_type string, raw string, source_file string, line_number bigint, "
        "ingest_seq bigint, run_id string"))
    assertDataFrameEqual(B.count_by_file(B.with_line_classification(lines)), spark.createDataFrame(
        [("fhir/b/Patient.ndjson", 2, 1, 1), ("fhir/b/Encounter.ndjson", 1, 1, 0)],
        "source_file string, lines bigint, accepted bigint, quarantined bigint"))


def test_filter_unstored_drops_only_rows_already_stored(spark):
    rows = spark.createDataFrame([("f", 1, "a"), ("f", 2, "b"), ("g", 1, "c")],
                                 "source_file string, line_number bigint, v string")
    stored = spark.createDataFrame([("f", 2, "other"), ("h", 1, "x")],
                                   "source_file string, line_number bigint, v string")
    assertDataFrameEqual(B.filter_unstored(rows, stored), spark.createDataFrame(
        [("f", 1, "a"), ("g", 1, "c")], "source_file string, line_number bigint, v string"))


# --- silver transforms ----------------------------------------------------------------

def test_resolve_reference_handles_every_form_and_nulls(spark):
    refs = ["Patient/p1", "urn:uuid:9f3c", "Organization?identifier=https://github.com/synthetichealth/synthea|F-9",
            "Organization?identifier=F-8", "p2", "https://fhir.example/Patient/p3", None, "  "]
    df = spark.createDataFrame([(r,) for r in refs], "ref string")
    assertDataFrameEqual(
        df.select("ref", S.resolve_reference(F.col("ref")).alias("id")),
        spark.createDataFrame(list(zip(refs, ["p1", "9f3c", "F-9", "F-8", "p2", "p3", None, None])),
                              "ref string, id string"),
    )


def test_dispositions_are_two_digit_nubc_strings(spark):
    codes = ["1", "01", "02", "7", "exp", "20", "home", None]
    df = spark.createDataFrame([(c,) for c in codes], "code string")
    assertDataFrameEqual(
        df.select("code", S.normalise_disposition(F.col("code")).alias("n")),
        spark.createDataFrame(list(zip(codes, ["01", "01", "02", "07", "20", "20", "home", None])),
                              "code string, n string"),
    )


def _bronze(spark, rtype: str, resources: list[dict], seq: int = 1):
    """Bronze rows (schema BRONZE) of one file holding `resources`, one a line."""
    rows = [(r.get("id"), rtype, json.dumps(r), f"fhir/batch-0001/{rtype}.ndjson", i + 1, seq, "bronze-run", None)
            for i, r in enumerate(resources)]
    return spark.createDataFrame(rows, BRONZE)


QUARANTINE_VIEW = "resource_id string, reason string, detail string, line_number bigint"


def test_parse_patients_types_dates_in_utc_and_quarantines_bad_dates(spark):
    bronze = _bronze(spark, "Patient", [
        {"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": "2024-05-01T10:00:00+02:00"},
         "gender": "female", "birthDate": "1950-05-05", "deceasedDateTime": "2024-03-05T23:30:00-05:00"},
        {"resourceType": "Patient", "id": "p2"},  # nothing but the id: accepted, nulls
        {"resourceType": "Patient", "id": "p3", "deceasedDateTime": "31/12/2024"},
        {"resourceType": "Patient", "id": "p4", "meta": {"lastUpdated": "yesterday"}},
    ])
    parsed = S.parse_patients(bronze)
    assertDataFrameEqual(
        parsed.where("reason IS NULL").select("patient_id", "gender", "birth_date", "deceased_at", "deceased_date",
                                              "last_updated"),
        spark.createDataFrame([
            ("p1", "female", d("1950-05-05"), ts("2024-03-05T23:30:00-05:00"), d("2024-03-06"),
             ts("2024-05-01T08:00:00+00:00")),
            ("p2", None, None, None, None, None),
        ], "patient_id string, gender string, birth_date date, deceased_at timestamp, deceased_date date, "
           "last_updated timestamp"),
    )
    assertDataFrameEqual(parsed.where("reason IS NOT NULL").select("resource_id", "reason", "detail", "line_number"),
                         spark.createDataFrame([
                             ("p3", "invalid_date", "deceasedDateTime=31/12/2024", 3),
                             ("p4", "invalid_date", "meta.lastUpdated=yesterday", 4),
                         ], QUARANTINE_VIEW))


ENC = {"resourceType": "Encounter", "status": "finished", "class": {"code": "IMP"},
       "subject": {"reference": "Patient/p1"},
       "period": {"start": "2024-01-01T22:00:00-05:00", "end": "2024-01-05T10:00:00Z"}}


def enc(**kw) -> dict:
    out = json.loads(json.dumps(ENC))
    for k, v in kw.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def test_parse_encounters_flattens_resolves_and_gives_every_encounter_reason(spark):
    bronze = _bronze(spark, "Encounter", [
        enc(id="e1", serviceProvider={"reference": "Organization?identifier=https://github.com/synthetichealth/synthea|F1"},
            hospitalization={"dischargeDisposition": {
                "coding": [{"system": "http://www.nubc.org/patient-discharge", "code": 1}]}},
            meta={"lastUpdated": "2024-02-01T00:00:00Z"}, subject={"reference": "urn:uuid:p1"}),
        enc(id="e2", serviceProvider="Organization/F1", period={"start": "2024-01-02"}),  # wrong shape: facility absent
        enc(id="e3", subject=None),
        enc(id="e4", **{"class": None}),
        enc(id="e5", period={"end": "2024-01-05"}),
        enc(id="e6", period={"start": "2024-02-30T10:00:00Z"}),
        enc(id="e7", period={"start": "2024-01-05T10:00:00Z", "end": "2024-01-05T09:00:00Z"}),
        enc(id="e8", hospitalization={"dischargeDisposition": {"coding": [{"code": "exp"}]}}),
    ])
    parsed = S.parse_encounters(bronze)
    cols = ("encounter_id string, patient_id string, class_code string, period_start timestamp, "
            "period_end timestamp, admit_date date, discharge_date date, facility_id string, "
            "discharge_disposition string, last_updated timestamp")
    assertDataFrameEqual(parsed.where("reason IS NULL").select(*[c.split()[0] for c in cols.split(", ")]),
                         spark.createDataFrame([
        ("e1", "p1", "IMP", ts("2024-01-02T03:00:00+00:00"), ts("2024-01-05T10:00:00+00:00"),
         d("2024-01-02"), d("2024-01-05"), "F1", "01", ts("2024-02-01T00:00:00+00:00")),
        ("e2", "p1", "IMP", ts("2024-01-02T00:00:00+00:00"), None, d("2024-01-02"), None, None, None, None),
        ("e8", "p1", "IMP", ts("2024-01-02T03:00:00+00:00"), ts("2024-01-05T10:00:00+00:00"),
         d("2024-01-02"), d("2024-01-05"), None, "20", None),
    ], cols))
    assertDataFrameEqual(parsed.where("reason IS NOT NULL").select("resource_id", "reason", "detail", "line_number"),
                         spark.createDataFrame([
        ("e3", "missing_required_field", "subject", 3),
        ("e4", "missing_required_field", "class.code", 4),
        ("e5", "missing_required_field", "period.start", 5),
        ("e6", "invalid_date", "period.start=2024-02-30T10:00:00Z", 6),
        ("e7", "end_before_start", "period.start=2024-01-05T10:00:00Z period.end=2024-01-05T09:00:00Z", 7),
    ], QUARANTINE_VIEW))


def test_parse_conditions_keeps_codes_and_flags_entered_in_error(spark):
    cond = {"resourceType": "Condition", "subject": {"reference": "Patient/p1"},
            "encounter": {"reference": "Encounter/e1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91302008"}]},
            "onsetDateTime": "2024-01-03T12:00:00+01:00"}
    bronze = _bronze(spark, "Condition", [
        {**cond, "id": "c1", "verificationStatus": {"coding": [{"code": "confirmed"}, {"code": "entered-in-error"}]}},
        {**cond, "id": "c2", "code": {"coding": []}},
        {**cond, "id": "c3", "onsetDateTime": "not-a-date"},
        {**cond, "id": "c4", "subject": {"reference": ""}},
        {**cond, "id": "c5", "recordedDate": "garbage"},  # informational date: read as null, not quarantined
    ])
    parsed = S.parse_conditions(bronze)
    cols = ("condition_id string, patient_id string, encounter_id string, onset_date date, recorded_at timestamp, "
            "verification_status string")
    assertDataFrameEqual(parsed.where("reason IS NULL").select(*[c.split()[0] for c in cols.split(", ")]),
                         spark.createDataFrame([("c1", "p1", "e1", d("2024-01-03"), None, "entered-in-error"),
                                                ("c5", "p1", "e1", d("2024-01-03"), None, None)], cols))
    assert parsed.where("condition_id = 'c1'").first()["codes"][0].asDict() == {
        "system": "http://snomed.info/sct", "code": "91302008"}
    assertDataFrameEqual(parsed.where("reason IS NOT NULL").select("resource_id", "reason", "detail", "line_number"),
                         spark.createDataFrame([("c2", "missing_required_field", "code.coding", 2),
                                                ("c3", "invalid_date", "onsetDateTime=not-a-date", 3),
                                                ("c4", "missing_required_field", "subject", 4)], QUARANTINE_VIEW))


def test_unknown_patient_only_marks_rows_that_passed_every_other_check(spark):
    parsed = spark.createDataFrame([("e1", "p1", None, None), ("e2", "p9", None, None),
                                    ("e3", None, "missing_required_field", "subject"),
                                    ("e4", "p9", "invalid_date", "period.start=x")],
                                   "encounter_id string, patient_id string, reason string, detail string")
    ids = spark.createDataFrame([("p1",), ("p1",), (None,)], "patient_id string")
    assertDataFrameEqual(S.with_unknown_patient(parsed, ids), spark.createDataFrame([
        ("e1", "p1", None, None), ("e2", "p9", "unknown_patient", "subject=p9"),
        ("e3", None, "missing_required_field", "subject"), ("e4", "p9", "invalid_date", "period.start=x"),
    ], "encounter_id string, patient_id string, reason string, detail string"))


def test_only_quarantined_rows_keep_their_raw_line(spark):
    parsed = spark.createDataFrame([("e1", None, '{"id":"e1"}'), ("e2", "unknown_patient", '{"id":"e2"}'),
                                    ("e3", "invalid_date", None)], "encounter_id string, reason string, raw string")
    assertDataFrameEqual(S.with_raw_of_quarantined_only(parsed), spark.createDataFrame(
        [("e1", None, None), ("e2", "unknown_patient", '{"id":"e2"}'), ("e3", "invalid_date", None)],
        "encounter_id string, reason string, raw string"))


def test_latest_version_wins_by_last_updated_then_ingestion_order(spark):
    schema = "patient_id string, gender string, birth_date date, deceased_at timestamp, deceased_date date, " \
             "last_updated timestamp, ingest_seq bigint, source_file string, line_number bigint, reason string"
    t1, t2 = ts("2024-01-01T00:00:00+00:00"), ts("2024-02-01T00:00:00+00:00")
    parsed = spark.createDataFrame([
        ("a", "old", None, None, None, t1, 2, "fhir/b2/Patient.ndjson", 9, None),
        ("a", "new", None, None, None, t2, 1, "fhir/b1/Patient.ndjson", 1, None),  # greater lastUpdated wins
        ("b", "first", None, None, None, t1, 1, "fhir/b1/Patient.ndjson", 5, None),
        ("b", "later-run", None, None, None, t1, 2, "fhir/b0/Patient.ndjson", 1, None),  # tie: later run
        ("c", "line-1", None, None, None, t1, 1, "fhir/b1/Patient.ndjson", 1, None),
        ("c", "line-2", None, None, None, t1, 1, "fhir/b1/Patient.ndjson", 2, None),  # tie: later line
        ("d", "undated", None, None, None, None, 3, "fhir/b3/Patient.ndjson", 1, None),
        ("d", "dated", None, None, None, t1, 1, "fhir/b1/Patient.ndjson", 3, None),  # no lastUpdated = oldest
        ("e", "bad", None, None, None, t2, 9, "fhir/b9/Patient.ndjson", 1, "invalid_date"),
        ("e", "good", None, None, None, t1, 1, "fhir/b1/Patient.ndjson", 4, None),  # invalid never wins
        (None, None, None, None, None, None, 1, "fhir/b1/Patient.ndjson", 7, "missing_id"),  # null row
    ], schema)
    latest = S.to_silver_rows(parsed, "Patient", "silver-1")
    assert _fields(latest.schema) == _fields(PATIENTS)
    assertDataFrameEqual(latest.select("patient_id", "gender", "silver_run_id"), spark.createDataFrame(
        [("a", "new", "silver-1"), ("b", "later-run", "silver-1"), ("c", "line-2", "silver-1"),
         ("d", "dated", "silver-1"), ("e", "good", "silver-1")],
        "patient_id string, gender string, silver_run_id string"))


# --- gold transforms ------------------------------------------------------------------

def test_hai_codes_parse_with_default_and_reject_bad_entries():
    default = G.parse_hai_codes(None)
    assert G.HaiCode("http://hl7.org/fhir/sid/icd-10-cm", "T81.4", True) in default and len(default) == 7
    assert G.parse_hai_codes("s|a, t|B*") == (G.HaiCode("s", "a", False), G.HaiCode("t", "B", True))
    with pytest.raises(A.JobArgumentError) as e:
        G.parse_hai_codes("T81.4*,s|,|x,s|a*b")
    assert [p.split(";")[0] for p in e.value.problems] == [
        "--hai_codes: entry 'T81.4*' in 'T81.4*,s|,|x,s|a*b'", "--hai_codes: entry 's|' in 'T81.4*,s|,|x,s|a*b'",
        "--hai_codes: entry '|x' in 'T81.4*,s|,|x,s|a*b'", "--hai_codes: entry 's|a*b' in 'T81.4*,s|,|x,s|a*b'"]
    with pytest.raises(A.JobArgumentError, match="--as_of: got '2024-13-01'"):
        G.parse_as_of("2024-13-01")


def test_has_hai_code_matches_system_and_code_or_prefix(spark):
    sn, icd = "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"
    df = spark.createDataFrame([
        (1, [(sn, "91302008")]), (2, [(icd, "91302008")]), (3, [(icd, "T81.41XA")]), (4, [(icd, "T81.3")]),
        (5, [(sn, "x"), (icd, "A04.72")]), (6, None), (7, [(None, None)]),
    ], "n int, codes array<struct<system:string,code:string>>")
    got = df.select("n", G.has_hai_code(F.col("codes"), G.parse_hai_codes(None)).alias("hai"))
    assertDataFrameEqual(got, spark.createDataFrame(
        [(1, True), (2, False), (3, True), (4, False), (5, True), (6, False), (7, False)], "n int, hai boolean"))


def _enc_row(eid, pid, fac, start, end, disp="01", cls="IMP", status="finished"):
    s, e = (dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end) if end else None)
    return (eid, pid, status, cls, s, e, s.date(), e.date() if e else None, fac, disp, None, 1, "f", 1, "r", None)


def test_to_cms_facility_monthly_on_hand_computed_silver(spark):
    patients = spark.createDataFrame([
        ("p1", None, None, None, None, None, 1, "f", 1, "r", None),
        ("p2", None, None, dt.datetime(2024, 3, 6, 4, 30), d("2024-03-06"), None, 1, "f", 2, "r", None),
        ("p3", None, None, dt.datetime(2024, 4, 1), d("2024-04-01"), None, 1, "f", 3, "r", None),
    ], PATIENTS)
    encounters = spark.createDataFrame([
        _enc_row("a1", "p1", "F1", "2024-01-01", "2024-01-05"),  # readmitted on day 30 by a2
        _enc_row("a2", "p1", "F1", "2024-02-04", "2024-02-06"),  # day 31 to a3: not readmitted
        _enc_row("a3", "p4", None, "2024-01-08", "2024-01-08"),  # unknown facility, LOS 1; same-day a4
        _enc_row("a4", "p4", None, "2024-01-08", None),  # open stay: counted nowhere, but blocks a3
        _enc_row("b1", "p2", "F1", "2024-01-10", "2024-01-12", disp="02"),  # transfer: not index
        _enc_row("b2", "p2", "F1", "2024-03-01", "2024-03-05"),  # death by deceasedDateTime (+1 day)
        _enc_row("c1", "p3", "F1", "2024-01-20", "2024-01-22", disp="20"),  # death by disposition
        _enc_row("c2", "p3", "F1", "2024-01-25", "2024-01-26", status="entered-in-error"),  # excluded
        _enc_row("c3", "p3", "F1", "2024-01-27", "2024-01-28", cls="AMB"),  # not inpatient
    ], ENCOUNTERS)
    sn = "http://snomed.info/sct"
    conditions = spark.createDataFrame([
        ("h1", "p1", "a1", [(sn, "91302008")], None, d("2024-01-03"),
         None, None, None, None, None, None, 1, "f", 1, "r", None),  # day 3
        ("h2", "p1", "a1", [(sn, "76571007")], None, d("2024-01-02"),
         None, None, None, None, None, None, 1, "f", 2, "r", None),  # day 2
        ("h3", "p1", "a2", [(sn, "91302008")], None, d("2024-02-07"),
         None, None, None, None, None, None, 1, "f", 3, "r", None),  # after
        ("h4", "p1", "a1", [(sn, "91302008")], None, d("2024-01-04"),
         None, None, None, None, "entered-in-error", None, 1, "f", 4, "r", None),
    ], CONDITIONS)
    got = G.to_cms_facility_monthly(patients, encounters, conditions, G.parse_hai_codes(None), d("2024-03-07"))
    expected = [
        # F1 2024-01: a1 (LOS 4, index, readmitted), b1 (LOS 2, transfer), c1 (LOS 2, died)
        ("F1", "2024-01", 3, 1, 1 / 3, 8, 8 / 3, 1, 1, 1.0, 1, 1000 * 1 / 8),
        # F1 2024-02: a2 (LOS 2); index needs 02-06 + 30 = 03-07 <= as_of: yes
        ("F1", "2024-02", 1, 0, 0.0, 2, 2.0, 1, 0, 0.0, 0, 0.0),
        ("F1", "2024-03", 1, 1, 1.0, 4, 4.0, 0, 0, None, 0, 0.0),
        # a3: 01-08 + 30 <= as_of, but another stay starts on its discharge date
        ("unknown", "2024-01", 1, 0, 0.0, 1, 1.0, 0, 0, None, 0, 0.0),
    ]
    assert [tuple(r) for r in got.orderBy("facility_id", "month").collect()] == expected
    assert [f.name for f in got.schema.fields] == [
        "facility_id", "month", "discharges", "deaths", "mortality_rate", "patient_days", "alos",
        "index_stays", "readmissions", "readmission_rate", "hai_count", "hai_per_1000_patient_days"]
    # as_of one day earlier: a2 is no index stay yet; the default as_of is the latest admission or
    # discharge date of the counted inpatient stays (b2's discharge 03-05; c2 and c3 do not count)
    early = G.to_cms_facility_monthly(patients, encounters, conditions, G.parse_hai_codes(None), d("2024-03-06"))
    assert early.where("month = '2024-02'").select("index_stays", "readmission_rate").first() == (0, None)
    default = G.to_cms_facility_monthly(patients, encounters, conditions, G.parse_hai_codes(None), None)
    assertDataFrameEqual(
        default, G.to_cms_facility_monthly(patients, encounters, conditions, G.parse_hai_codes(None), d("2024-03-05")))
    assert default.where("month = '2024-02'").first()["index_stays"] == 0
    # a custom HAI set: day-2 septic shock never counts, sepsis alone still does
    only_shock = G.to_cms_facility_monthly(patients, encounters, conditions, G.parse_hai_codes(f"{sn}|76571007"), None)
    assert only_shock.agg(F.sum("hai_count")).first()[0] == 0


def test_quarantine_reasons_are_documented():
    text = (REPO / "docs" / "fhir-data-model.md").read_text()
    for reason in REASONS:
        assert f"`{reason}`" in text, reason


# --- the jobs end to end ------------------------------------------------------------------

def _entrypoint(job: str):
    spec = importlib.util.spec_from_file_location(f"fhir_{job}_entry", REPO / "glue_scripts" / "fhir" / f"{job}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ORG = "Organization?identifier=https://github.com/synthetichealth/synthea|"
SN, ICD = "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"


def _patient(pid, **kw):
    return {"resourceType": "Patient", "id": pid, "meta": {"lastUpdated": "2024-06-01T00:00:00Z"},
            "gender": "male", **kw}


def _encounter(eid, pid, fac, start, end, disp="01", updated="2024-06-01T00:00:00Z", cls="IMP", status="finished"):
    res = {"resourceType": "Encounter", "id": eid, "meta": {"lastUpdated": updated}, "status": status,
           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls},
           "subject": {"reference": f"Patient/{pid}"}, "period": {"start": start},
           "serviceProvider": {"reference": fac}}
    if end:
        res["period"]["end"] = end
    if disp is not None:
        res["hospitalization"] = {"dischargeDisposition": {
            "coding": [{"system": "http://www.nubc.org/patient-discharge", "code": disp}]}}
    return res


def _condition(cid, pid, eid, system, code, onset):
    return {"resourceType": "Condition", "id": cid, "meta": {"lastUpdated": "2024-06-01T00:00:00Z"},
            "subject": {"reference": f"urn:uuid:{pid}"}, "encounter": {"reference": f"Encounter/{eid}"},
            "code": {"coding": [{"system": system, "code": code}]}, "onsetDateTime": onset}


def _write(path: Path, lines: list, gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)


def _batch1(raw: Path) -> None:
    b = raw / "fhir" / "batch-0001"
    _write(b / "Patient.ndjson", [
        _patient("P1"), _patient("P2"),
        _patient("P3", deceasedDateTime="2024-03-05T23:30:00-05:00"),  # UTC date 03-06 = discharge + 1
        _patient("P4"), _patient("P5"),
        '{"resourceType":"Patient","id":"P6"',  # line 6: invalid_json
        _patient("P7", birthDate="1950-02-30"),  # line 7: invalid_date
    ])
    _write(b / "Encounter.ndjson", [
        _encounter("E1", "P1", "Organization/F1", "2024-01-01T09:00:00Z", "2024-01-05T12:00:00Z"),
        _encounter("E2", "P1", "Organization/F1", "2024-02-04T09:00:00Z", "2024-02-06T12:00:00Z", disp=1),  # day 30
        _encounter("E3", "P2", "Organization/F1", "2024-01-10T09:00:00Z", "2024-01-20T12:00:00Z",
                   updated="2024-01-01T00:00:00Z"),  # old version of E3
        _encounter("E3", "P2", "Organization/F1", "2024-01-10T09:00:00Z", "2024-01-12T12:00:00Z",
                   updated="2024-02-01T00:00:00Z"),  # current: E4 comes on day 31
        _encounter("E4", "P2", ORG + "F2", "2024-02-12T09:00:00Z", "2024-02-12T18:00:00Z"),  # same-day E5
        _encounter("E5", "P2", ORG + "F2", "2024-02-12T20:00:00Z", "2024-02-20T12:00:00Z"),
        _encounter("E6", "P3", ORG + "F2", "2024-03-01T09:00:00Z", "2024-03-05T12:00:00Z"),
        _encounter("E7", "P4", "Organization/F1", "2024-03-10T09:00:00Z", "2024-03-10T10:00:00Z", cls="AMB"),
        _encounter("E8", "P4", "Organization/F1", "2024-03-20T09:00:00Z", None),  # open: as_of = 03-20
        _encounter("E9", "P4", "Organization/F1", "2024-01-15T09:00:00Z", "2024-01-17T09:00:00Z",
                   status="entered-in-error"),
        _encounter("E10", "P5", "Organization/F1", "2024-01-20T09:00:00Z", "2024-01-22T09:00:00Z", disp="02"),
        _encounter("E11", "P9", "Organization/F1", "2024-01-20T09:00:00Z", "2024-01-22T09:00:00Z"),  # 12: no P9: waits
        _encounter("E12", "P1", "Organization/F1", "2024-01-20T09:00:00Z", "2024-01-19T09:00:00Z"),  # line 13
        "",  # line 14: blank
    ])
    _write(b / "Condition.part1.ndjson.gz", [
        _condition("C1", "P2", "E5", SN, "91302008", "2024-02-14T10:00:00Z"),  # day 3: HAI
        _condition("C2", "P2", "E5", SN, "76571007", "2024-02-13T10:00:00Z"),  # day 2: not HAI
        _condition("C3", "P1", "E1", ICD, "T81.41XA", "2024-01-03T10:00:00Z"),  # day 3, prefix: HAI
        _condition("C4", "P2", "E3", ICD, "91302008", "2024-01-12T10:00:00Z"),  # SNOMED code, ICD system
        {**_condition("C5", "P1", "E1", SN, "91302008", "2024-01-04T10:00:00Z"), "code": {}},  # line 5: missing code
        _patient("P8"),  # line 6: resource_type_mismatch
    ], gz=True)
    _write(raw / "fhir" / "batch-0001" / "Observation.ndjson", ['{"resourceType":"Observation","id":"o1"}'])


def _batch2(raw: Path) -> None:
    b = raw / "fhir" / "batch-0002"
    _write(b / "Encounter.ndjson", [
        # a readmission arriving after its index stay: E3 (discharged 01-12) readmitted on day 8
        _encounter("E13", "P2", "Organization/F1", "2024-01-20T09:00:00Z", "2024-01-25T09:00:00Z"),
        # a new version of E2: discharged later, left against advice -> no index stay any more
        _encounter("E2", "P1", "Organization/F1", "2024-02-04T09:00:00Z", "2024-02-08T12:00:00Z", disp="07",
                   updated="2024-07-01T00:00:00Z"),
        # a stale version of E6 (older lastUpdated) changes nothing
        _encounter("E6", "P3", ORG + "F2", "2024-03-01T09:00:00Z", "2024-03-30T12:00:00Z",
                   updated="2023-01-01T00:00:00Z"),
        '{"id":"E14"}',  # line 4: missing_resource_type
    ])


GOLD_1 = [
    # F1 2024-01: E1 (LOS 4, index, readmitted on day 30), E3 (LOS 2, index, E4 on day 31), E10 (LOS 2, transfer)
    ("F1", "2024-01", 3, 0, 0.0, 8, 8 / 3, 2, 1, 0.5, 1, 1000 * 1 / 8),
    # F1 2024-02: E2 (LOS 2, index: 02-06 + 30 <= as_of 03-20)
    ("F1", "2024-02", 1, 0, 0.0, 2, 2.0, 1, 0, 0.0, 0, 0.0),
    # F2 2024-02: E4 (LOS 1, 02-12 + 30 <= as_of but same-day stay E5: no index), E5 (LOS 8,
    # 02-20 + 30 > as_of); C1 is an HAI (day 3), C2 is not (day 2)
    ("F2", "2024-02", 2, 0, 0.0, 9, 4.5, 0, 0, None, 1, 1000 * 1 / 9),
    # F2 2024-03: E6 (LOS 4), P3 died the day after discharge
    ("F2", "2024-03", 1, 1, 1.0, 4, 4.0, 0, 0, None, 0, 0.0),
]
GOLD_2 = [
    # + E13 (LOS 5, index, readmitted by E4 on day 18); E3 now readmitted by E13 on day 8
    ("F1", "2024-01", 4, 0, 0.0, 13, 13 / 4, 3, 3, 1.0, 1, 1000 * 1 / 13),
    # E2 v2: LOS 4, disposition 07 -> no index stay
    ("F1", "2024-02", 1, 0, 0.0, 4, 4.0, 0, 0, None, 0, 0.0),
    GOLD_1[2], GOLD_1[3],
]


def _args(raw: Path) -> dict[str, str]:
    return {"--pipeline": "fhir", "--catalog": "local", "--raw_path": raw.resolve().as_uri() + "/",
            "--bronze_database": "lake_bronze", "--silver_database": "lake_silver", "--gold_database": "lake_gold"}


def _run_all(session, args):
    return [_entrypoint(job).run(session, args) for job in ("bronze", "silver", "gold")]


def _gold(session):
    return [tuple(r)
            for r in session.table("local.lake_gold.cms_facility_monthly").orderBy("facility_id", "month").collect()]


def _quarantine(session):
    rows = session.sql("SELECT stage, resource_type, resource_id, reason, source_file, line_number "
                       """FROM local.lake_bronze.fhir_quarantine
                          UNION ALL SELECT stage, resource_type, resource_id, reason, source_file, line_number
                          FROM local.lake_silver.fhir_quarantine""").collect()
    return sorted(tuple(r) for r in rows)


def test_pipeline_end_to_end_hand_computed_rerun_and_late_data(spark, tmp_path):
    from lakehouse.samples.fhir_reference import reference_rows

    raw = tmp_path / "raw"
    _batch1(raw)
    session = local_spark_session(tmp_path / "warehouse")
    args = _args(raw)
    bronze, silver, gold = _run_all(session, args)

    assert {
        k: bronze[k] for k in ("input", "accepted", "quarantined", "files_ingested", "files_ignored", "recovered")
    } == {"input": 27, "accepted": 24, "quarantined": 3, "files_ingested": 3, "files_ignored": 1, "recovered": 0}
    assert bronze["written"] == {"fhir_patient": 6, "fhir_encounter": 13, "fhir_condition": 5, "fhir_quarantine": 3}
    assert {k: silver[k] for k in ("input", "accepted", "quarantined", "waiting")} == {
        "input": 24, "accepted": 20, "quarantined": 3, "waiting": 1}  # E11's patient P9 has not arrived
    assert (gold["input"], gold["accepted"], gold["quarantined"], gold["as_of"], gold["discharges"]) == (
        10, 10, 0, "2024-03-20", 7)
    assert _gold(session) == GOLD_1
    assert _gold(session) == reference_rows(raw)
    b1 = "fhir/batch-0001/"
    assert _quarantine(session) == [
        ("bronze", "Condition", "P8", "resource_type_mismatch", b1 + "Condition.part1.ndjson.gz", 6),
        ("bronze", "Encounter", None, "invalid_json", b1 + "Encounter.ndjson", 14),
        ("bronze", "Patient", None, "invalid_json", b1 + "Patient.ndjson", 6),
        ("silver", "Condition", "C5", "missing_required_field", b1 + "Condition.part1.ndjson.gz", 5),
        ("silver", "Encounter", "E12", "end_before_start", b1 + "Encounter.ndjson", 13),
        ("silver", "Patient", "P7", "invalid_date", b1 + "Patient.ndjson", 7),
    ]
    assert (session.table("local.lake_silver.encounters").where("encounter_id = 'E3'").select("discharge_date")
            .collect() == [(d("2024-01-12"),)])

    # a re-run on the same files ingests nothing and changes nothing
    snapshots = session.table("local.lake_bronze.fhir_encounter.snapshots").count()
    bronze, silver, gold = _run_all(session, args)
    assert (bronze["input"], bronze["files_ingested"], bronze["files_already_ingested"]) == (0, 0, 3)
    assert (silver["input"], silver["bronze_snapshots"]) == (0, {})
    assert session.table("local.lake_bronze.fhir_encounter.snapshots").count() == snapshots
    assert session.table("local.lake_bronze.fhir_encounter").count() == 13
    assert _gold(session) == GOLD_1

    # late data: a readmission after its index stay, a newer and a stale version of old encounters
    _batch2(raw)
    bronze, silver, gold = _run_all(session, args)
    assert (bronze["input"], bronze["accepted"], bronze["quarantined"], bronze["ingest_seq"]) == (4, 3, 1, 2)
    # + E11, checked again: P9 has still not arrived
    assert (silver["input"], silver["accepted"], silver["quarantined"], silver["waiting"]) == (4, 3, 0, 1)
    assert _gold(session) == GOLD_2
    assert _gold(session) == reference_rows(raw)
    e6 = session.table("local.lake_silver.encounters").where("encounter_id = 'E6'").first()
    assert (e6["discharge_date"], e6["ingest_seq"]) == (d("2024-03-05"), 1)
    assert session.table("local.lake_silver.encounters").count() == 11  # E1-E10 and E13, once each
    assert session.table("local.lake_silver.encounters").groupBy("encounter_id").count().where("count > 1").count() == 0


def test_crash_before_the_ingest_log_or_checkpoint_neither_duplicates_nor_skips(spark, tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    _batch1(raw)
    session = local_spark_session(tmp_path / "warehouse")
    args = _args(raw)
    real_append = Lake.append

    def crash_on(table_name):
        def append(self, df, table):
            if table.name == table_name:
                raise RuntimeError(f"simulated crash before committing {table_name}")
            return real_append(self, df, table)
        return append

    monkeypatch.setattr(Lake, "append", crash_on("fhir_ingested_files"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        _entrypoint("bronze").run(session, args)
    assert session.table("local.lake_bronze.fhir_encounter").count() == 13  # data committed, log not
    monkeypatch.setattr(Lake, "append", real_append)
    bronze = _entrypoint("bronze").run(session, args)
    assert (bronze["input"], bronze["recovered"], sum(bronze["written"].values()), bronze["ingest_seq"]) == (
        27, 27, 0, 1)
    for table, rows in (("fhir_patient", 6), ("fhir_encounter", 13), ("fhir_condition", 5), ("fhir_quarantine", 3)):
        assert session.table(f"local.lake_bronze.{table}").count() == rows, table
    assert session.table("local.lake_bronze.fhir_ingested_files").count() == 3

    monkeypatch.setattr(Lake, "append", crash_on("fhir_checkpoints"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        _entrypoint("silver").run(session, args)
    monkeypatch.setattr(Lake, "append", real_append)
    silver = _entrypoint("silver").run(session, args)
    # replayed, idempotently: E11, written to fhir_waiting before the crash, is taken once
    assert (silver["input"], silver["accepted"], silver["quarantined"], silver["waiting"], silver["retried"]) == (
        24, 20, 3, 1, 1)
    assert session.table("local.lake_silver.encounters").count() == 10
    assert session.table("local.lake_silver.fhir_quarantine").count() == 3
    assert [r.resource_id for r in session.table("local.lake_silver.fhir_waiting").collect()] == ["E11"]
    _entrypoint("gold").run(session, args)
    assert _gold(session) == GOLD_1
