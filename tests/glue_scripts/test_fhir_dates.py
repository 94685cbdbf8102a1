"""FHIR R4 date, dateTime and instant: the pipeline (Spark) and the DuckDB reference give the same
verdict on one table of strings, and that verdict is the FHIR R4 grammar plus calendar validity
(docs/fhir-data-model.md, "Dates").

Each case is one record with one date field set; the rest of the record is valid, so its outcome
is the date's: accepted (None), `invalid_date` (not the field's FHIR grammar, or no calendar date)
or `partial_date` (a valid year or year-month where the metrics need a day: Encounter period).
The Spark side runs silver's parse_* on bronze rows; the reference side runs
`quarantine_counts` on a folder holding the same record. Then the metric meaning of partial and
date-only values: gold from the Spark transforms equals the reference's on a small hand set.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lakehouse.samples import fhir_reference as REF
from lakelib.fhir import gold as G
from lakelib.fhir import silver as S
from lakelib.fhir.schemas import BRONZE

PATIENT = {"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": "2024-06-01T00:00:00Z"},
           "birthDate": "1950-01-01"}
ENCOUNTER = {"resourceType": "Encounter", "id": "e1", "meta": {"lastUpdated": "2024-06-01T00:00:00Z"},
             "status": "finished", "class": {"code": "IMP"}, "subject": {"reference": "Patient/p1"},
             "period": {"start": "2024-01-01T10:00:00Z"}}
CONDITION = {"resourceType": "Condition", "id": "c1", "meta": {"lastUpdated": "2024-06-01T00:00:00Z"},
             "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"},
             "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91302008"}]}}

# (field, FHIR type) -> where it goes in a record
FIELDS = {
    "meta.lastUpdated": ("Encounter", "instant"),
    "Encounter.period.start": ("Encounter", "dateTime"),
    "Encounter.period.end": ("Encounter", "dateTime"),
    "Patient.birthDate": ("Patient", "date"),
    "Patient.deceasedDateTime": ("Patient", "dateTime"),
    "Condition.onsetDateTime": ("Condition", "dateTime"),
}
OK, BAD, PARTIAL = None, "invalid_date", "partial_date"

INSTANTS = [
    ("2024-06-10T10:00:00Z", OK), ("2024-06-10T10:00:00.123Z", OK), ("2024-06-10T10:00:00.5-05:00", OK),
    ("2024-06-10T10:00:00.123456789+05:30", OK), ("2024-06-10T10:00:00.1234567890123Z", OK),  # R4: \.[0-9]+
    ("2024-06-10T10:00:00+14:00", OK), ("2024-06-10T10:00:00-13:59", OK), ("2024-06-10T10:00:00+00:00", OK),
    ("2024-02-29T10:00:00Z", OK), ("2024-06-30T23:59:60Z", OK),  # a leap second
    ("0950-06-10T10:00:00Z", OK),
    ("2024-06-10T10:00:00", BAD),  # a time needs a zone
    ("2024-06-10T10:00:00 Europe/Paris", BAD), ("2024-06-10T10:00:00[Europe/Paris]", BAD),
    ("2024-06-10T10:00:00+18:00", BAD), ("2024-06-10T10:00:00+14:01", BAD), ("2024-06-10T10:00:00-13:60", BAD),
    ("2024-06-10T10:00:00+0200", BAD), ("2024-06-10T10:00:00+02", BAD), ("2024-06-10T10:00:00UTC", BAD),
    ("2024-06-10T10:00Z", BAD),  # seconds are required
    ("2024-06-10T24:00:00Z", BAD), ("2024-06-10T10:60:00Z", BAD), ("2024-06-10T10:00:61Z", BAD),
    ("2024-06-10T10:00:00.Z", BAD), ("2024-06-10t10:00:00z", BAD), ("2024-06-10 10:00:00Z", BAD),
    (" 2024-06-10T10:00:00Z", BAD), ("2024-06-10T10:00:00Z ", BAD), ("2024-06-10T10:00:00Z\n", BAD),
    ("2023-02-29T10:00:00Z", BAD), ("2024-04-31T10:00:00Z", BAD), ("2024-02-30T10:00:00Z", BAD),  # no such day
    ("0000-06-10T10:00:00Z", BAD), ("+2024-06-10T10:00:00Z", BAD), ("12024-06-10T10:00:00Z", BAD),
    ("2024-06-10", BAD), ("2024-06", BAD), ("2024", BAD),  # an instant is a full date-time
]
DATE_TIMES = [
    ("2024-06-10T10:00:00Z", OK), ("2024-06-10T22:30:00-05:00", OK), ("2024-06-10T10:00:00.25+09:00", OK),
    ("2024-06-10", OK), ("2024-02-29", OK), ("2024-06-30T23:59:60Z", OK),
    ("2024-06-10T10:00:00", BAD), ("2024-06-10T10:00:00 Europe/Paris", BAD), ("2024-06-10T10:00:00+18:00", BAD),
    ("2024-06-10T10:00Z", BAD), ("2024-06-10T10Z", BAD), ("2024-06-10T", BAD), ("2024-06-10Z", BAD),
    ("2023-02-29", BAD), ("2024-04-31", BAD), ("2024-13", BAD), ("2024-00", BAD), ("2024-06-00", BAD),
    ("2024-6-1", BAD), ("20240610", BAD), ("24", BAD), ("", BAD), ("31/12/2024", BAD), ("not-a-date", BAD),
    ("0000", BAD), ("2024-06-10T10:00:00+14:00", OK),
]
DATES = [
    ("1950", OK), ("1950-06", OK), ("1950-06-15", OK), ("1952-02-29", OK), ("0950", OK),
    ("1950-06-15T00:00:00Z", BAD),  # a date has no time
    ("1950-02-29", BAD), ("1950-13", BAD), ("1950-06-31", BAD), ("195", BAD), ("0000", BAD), ("1950-6", BAD),
]

CASES = (
    [("meta.lastUpdated", v, want) for v, want in INSTANTS]
    # period.start is what admission, LOS and (with period.end) the month are computed from: a day
    # at least; a year or year-month is valid FHIR but partial_date
    + [("Encounter.period.start", v, want) for v, want in DATE_TIMES]
    + [("Encounter.period.start", "2024", PARTIAL), ("Encounter.period.start", "2024-06", PARTIAL),
       ("Encounter.period.end", "2024-06-10", OK), ("Encounter.period.end", "2024-06", PARTIAL),
       ("Encounter.period.end", "2025", PARTIAL), ("Encounter.period.end", "2024-06-10T10:00:00", BAD)]
    + [("Patient.birthDate", v, want) for v, want in DATES]
    # partial values are accepted where the metrics can do without a day (they then place nothing on a day)
    + [("Patient.deceasedDateTime", v, want) for v, want in
       [("2024", OK), ("2024-03", OK), ("2024-03-05", OK), ("2024-03-05T10:00:00", BAD), ("2023-02-29", BAD)]]
    + [("Condition.onsetDateTime", v, want) for v, want in
       [("2024", OK), ("2024-03", OK), ("2024-03-05", OK), ("2024-03-05T10:00:00+18:00", BAD), ("2024-02-30", BAD)]]
)


def record(field: str, value: str) -> tuple[str, dict]:
    rtype = FIELDS[field][0]
    res = json.loads(json.dumps({"Patient": PATIENT, "Encounter": ENCOUNTER, "Condition": CONDITION}[rtype]))
    if field == "meta.lastUpdated":
        res["meta"]["lastUpdated"] = value
    elif field == "Encounter.period.start":
        res["period"]["start"] = value
    elif field == "Encounter.period.end":
        res["period"]["end"] = value
    else:
        res[field.split(".", 1)[1]] = value
    return rtype, res


def spark_verdicts(spark, cases) -> list:
    parsers = {"Patient": S.parse_patients, "Encounter": S.parse_encounters, "Condition": S.parse_conditions}
    out: dict[int, object] = {}
    for rtype, parse in parsers.items():
        rows = []
        for i, (field, value, _) in enumerate(cases):
            t, res = record(field, value)
            if t == rtype:
                rows.append((f"r{i}", t, json.dumps(res), f"fhir/batch-0001/{t}.ndjson", i + 1, 1, "r", None))
        if rows:
            for r in parse(spark.createDataFrame(rows, BRONZE)).select("line_number", "reason").collect():
                out[r.line_number - 1] = r.reason
    return [out[i] for i in range(len(cases))]


def reference_verdict(root: Path, field: str, value: str):
    rtype, res = record(field, value)
    folder = root / "fhir" / "batch-0001"
    folder.mkdir(parents=True)
    (folder / f"{rtype}.ndjson").write_text(json.dumps(res) + "\n")
    if rtype != "Patient":
        (folder / "Patient.ndjson").write_text(json.dumps(PATIENT) + "\n")
    reasons = [r for (_, r), n in REF.quarantine_counts(root).items() for _ in range(n)]
    assert len(reasons) <= 1, reasons
    return reasons[0] if reasons else None


def test_date_grammars_pipeline_and_reference_agree_with_fhir_r4(spark, tmp_path):
    spark_got = spark_verdicts(spark, CASES)
    ref_got = [reference_verdict(tmp_path / str(i), field, value) for i, (field, value, _) in enumerate(CASES)]
    wrong = [(field, value, want, s, r) for (field, value, want), s, r in zip(CASES, spark_got, ref_got)
             if not (want == s == r)]
    assert wrong == [], "(field, value, expected, spark, reference):\n" + "\n".join(map(repr, wrong))


# --- what partial and date-only values mean for the metrics ---------------------------------------

def _enc(eid: str, pid: str, start: str, end: str | None, disp: str = "01") -> dict:
    res = {**ENCOUNTER, "id": eid, "subject": {"reference": f"Patient/{pid}"}, "period": {"start": start},
           "serviceProvider": {"reference": "Organization/F1"},
           "hospitalization": {"dischargeDisposition": {"coding": [{"code": disp}]}}}
    if end:
        res["period"]["end"] = end
    return res


def _cond(cid: str, eid: str, onset: str) -> dict:
    return {**CONDITION, "id": cid, "encounter": {"reference": f"Encounter/{eid}"}, "onsetDateTime": onset}


MEANING = {
    "Patient": [
        {**PATIENT, "id": "p1"},
        {**PATIENT, "id": "p2", "birthDate": "1950", "deceasedDateTime": "2024-03"},  # year only: no day to compare
        {**PATIENT, "id": "p3", "birthDate": "1950-06", "deceasedDateTime": "2024-05-06"},  # date only: that day
    ],
    "Encounter": [
        _enc("e1", "p1", "2024-01-10", "2024-01-12"),  # date-only start and end: LOS 2, January
        _enc("e2", "p1", "2024-02-10T22:00:00-05:00", "2024-02-11"),  # start 02-11 UTC, end that day: LOS 1
        _enc("e3", "p2", "2024-03-01T10:00:00Z", "2024-03-05T10:00:00Z"),  # deceased 2024-03: not a death by date
        _enc("e4", "p3", "2024-05-01T10:00:00Z", "2024-05-05T10:00:00Z"),  # deceased 05-06 = discharge + 1: death
        _enc("e5", "p1", "2024-04", "2024-04-20T10:00:00Z"),  # partial_date: counts nowhere
        _enc("e6", "p1", "2024-06-01T10:00:00Z", "2024-06"),  # partial_date
        _enc("e7", "p1", "2024-07-01T10:00:00+14:00", "2024-07-03T10:00:00-13:00"),  # 06-30 .. 07-03 UTC
        _enc("e8", "p1", "2024-08-01T10:00:00Z", "2024-08-01T09:00:00Z"),  # end_before_start (instants)
        _enc("e9", "p1", "2024-08-10T10:00:00Z", "2024-08-10"),  # date-only end on the start's day: kept
        _enc("e10", "p1", "2024-09-10T10:00:00Z", "2024-09-09"),  # end_before_start (dates)
    ],
    "Condition": [
        _cond("c1", "e1", "2024-01-12"),  # date-only onset on hospital day 3: HAI
        _cond("c2", "e7", "2024-07"),  # partial onset: no day, so no HAI
        _cond("c3", "e7", "2024-07-02T23:30:00-05:00"),  # 07-03 UTC: day 4, HAI
    ],
}


def _meaning_input(root: Path) -> Path:
    folder = root / "fhir" / "batch-0001"
    folder.mkdir(parents=True)
    for rtype, resources in MEANING.items():
        (folder / f"{rtype}.ndjson").write_text("".join(json.dumps(r) + "\n" for r in resources))
    return root


def test_partial_and_date_only_values_mean_the_same_in_pipeline_and_reference(spark, tmp_path):
    root = _meaning_input(tmp_path)
    parsed = {}
    for rtype, parse in (("Patient", S.parse_patients), ("Encounter", S.parse_encounters),
                         ("Condition", S.parse_conditions)):
        rows = [(r["id"], rtype, json.dumps(r), f"fhir/batch-0001/{rtype}.ndjson", i + 1, 1, "r", None)
                for i, r in enumerate(MEANING[rtype])]
        parsed[rtype] = parse(spark.createDataFrame(rows, BRONZE))
    quarantined = sorted((r.resource_id, r.reason) for p in parsed.values()
                         for r in p.where("reason IS NOT NULL").select("resource_id", "reason").collect())
    assert quarantined == [("e10", "end_before_start"), ("e5", "partial_date"), ("e6", "partial_date"),
                           ("e8", "end_before_start")]
    assert REF.quarantine_counts(root) == {("Encounter", "partial_date"): 2, ("Encounter", "end_before_start"): 2}
    silver = {t: S.to_silver_rows(p, t, "r") for t, p in parsed.items()}
    births = {r.patient_id: str(r.birth_date) for r in silver["Patient"].collect()}
    assert births == {"p1": "1950-01-01", "p2": "1950-01-01", "p3": "1950-06-01"}  # a partial date's first day
    gold = sorted(tuple(r) for r in G.to_cms_facility_monthly(
        silver["Patient"], silver["Encounter"], silver["Condition"], G.parse_hai_codes(None), None).collect())
    expected = REF.reference_rows(root)
    assert [r[:4] for r in gold] == [r[:4] for r in expected] == [
        ("F1", "2024-01", 1, 0), ("F1", "2024-02", 1, 0), ("F1", "2024-03", 1, 0), ("F1", "2024-05", 1, 1),
        ("F1", "2024-07", 1, 0), ("F1", "2024-08", 1, 0)]
    for g, e in zip(gold, expected):
        for x, y in zip(g, e):
            assert (x is None and y is None) or (x == y if not isinstance(y, float) else math.isclose(x, y)), (g, e)
    by_month = {r[1]: r for r in gold}
    assert by_month["2024-01"][5] == 2 and by_month["2024-01"][10] == 1  # LOS 2, c1 is an HAI
    assert by_month["2024-07"][5] == 3 and by_month["2024-07"][10] == 1  # 06-30 .. 07-03 UTC; c3 only
    assert by_month["2024-08"][5] == 1  # e9: same-day date-only end


@pytest.mark.parametrize("grammar", ["date", "dateTime", "instant"])
def test_the_reference_carries_the_pipelines_grammar_text(grammar):
    """One grammar: the reference keeps its own copy (it shares no code with glue_scripts/), and
    the copy is the pipeline's text, byte for byte."""
    from lakelib.fhir import dates as D

    assert REF.FHIR_DATE_GRAMMARS[grammar] == D.GRAMMARS[grammar]
