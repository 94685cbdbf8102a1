"""The DuckDB reference on hand-written FHIR files whose gold rows were computed by hand.

Facilities: org-a (Organization/org-a), org-b (urn:uuid:org-b), org-c (conditional reference),
and one stay without serviceProvider (unknown). Expected rows, as-of 2024-12-31:

  e1  p1 A 01-10..01-12 LOS 2 disp "01"   index, readmitted by e2 (1 day)
  e2  p1 A 01-13..01-13 LOS 1 disp 1      index, readmitted by e3 (30 days)
  e3  p1 B 02-12..02-15 LOS 3 disp "07"   not index (AMA)
  e4  p1 B 03-17..04-01 LOS 15            end 03-31T22:30-05:00 = 04-01 UTC; index, not readmitted
  e5  p2 A 03-01..03-04 LOS 3             p2 died 03-06T01:00+02:00 = 03-05 UTC = discharge + 1: death
  e6  p3 C 01-05..01-08 LOS 3 disp "01"   not index: e7 starts on its discharge date (transfer)
  e7  p3 C 01-08..01-20 LOS 12 disp exp   death
  e8  p4 ? 01-02..01-05 LOS 3 disp "02"   ACUTE, facility unknown, not index (transfer)
  e10 p4 A 02-04..02-06 LOS 2             tie on lastUpdated -> the later line's "01" wins; index;
                                          e11 (open) starts 31 days later; e12 entered-in-error,
                                          e13 cancelled and e14 EMER inside 30 days do not count
HAI: c1 (A 2024-01: the later batch wins the tie, onset day 3), c3 (B 2024-04, T81.49XA),
c7 (C 2024-01: newest version has onset day 3); not HAI: c2 day 2 (day 3 in its local time), c4 T81.5, c5 wrong system,
c6 after discharge, c8 entered-in-error, c10 on an open stay.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from lakehouse.samples.fhir_reference import COLUMNS, quarantine_counts, reference_rows

A, B, C = "org-a", "org-b", "org-c"
SYS = "https://github.com/synthetichealth/synthea"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def patient(pid, deceased=None, updated="2024-01-01T00:00:00Z"):
    r = {"resourceType": "Patient", "id": pid, "meta": {"lastUpdated": updated}, "birthDate": "1950-01-01"}
    if deceased:
        r["deceasedDateTime"] = deceased
    return r


def enc(eid, pid, start, end=None, org=None, disp=None, cls="IMP", status="finished",
        updated="2024-06-01T00:00:00Z", disp_system="http://www.nubc.org/patient-discharge"):
    r = {"resourceType": "Encounter", "id": eid, "meta": {"lastUpdated": updated}, "status": status,
         "class": {"code": cls}, "subject": {"reference": f"Patient/{pid}"}, "period": {"start": start}}
    if end:
        r["period"]["end"] = end
    if org:
        r["serviceProvider"] = {"reference": org}
    if disp is not None:
        r["hospitalization"] = {"dischargeDisposition": {"coding": [{"system": disp_system, "code": disp}]}}
    return r


def cond(cid, pid, eid, code, onset, system=SNOMED, updated="2024-06-01T00:00:00Z", verification="confirmed"):
    return {"resourceType": "Condition", "id": cid, "meta": {"lastUpdated": updated},
            "verificationStatus": {"coding": [{"code": verification}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "404684003"},
                                {"system": system, "code": code}]},
            "subject": {"reference": f"urn:uuid:{pid}"}, "encounter": {"reference": f"Encounter/{eid}"},
            "onsetDateTime": onset}


def write(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


@pytest.fixture(scope="module")
def hand_input(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hand")
    b1, b2 = root / "fhir" / "batch-0001", root / "fhir" / "batch-0002"
    write(b1 / "Patient.ndjson", [
        patient("p1"), patient("p2", deceased="2024-03-06T01:00:00+02:00"), patient("p3"), patient("p4"),
        patient("p5", deceased="31/12/2024"),  # invalid_date -> quarantined, so p5 is unknown
        "",  # a blank line is a record too: invalid_json
    ])
    write(b1 / "Encounter.ndjson", [
        enc("e1", "p1", "2024-01-10T10:00:00Z", "2024-01-12T10:00:00Z", f"Organization/{A}", "01"),
        enc("e2", "p1", "2024-01-13T08:00:00Z", "2024-01-13T20:00:00Z", f"Organization/{A}", 1),
        enc("e3", "p1", "2024-02-12T01:30:00+00:00", "2024-02-15T10:00:00Z", f"urn:uuid:{B}", "07"),
        enc("e4", "p1", "2024-03-17T10:00:00Z", "2024-03-31T22:30:00-05:00", f"urn:uuid:{B}", "01"),
        enc("e5", "p2", "2024-03-01T10:00:00Z", "2024-03-04T10:00:00Z", f"Organization/{A}"),
        enc("e6", "p3", "2024-01-05T10:00:00Z", "2024-01-08T10:00:00Z", f"Organization?identifier={SYS}|{C}", "01"),
        enc("e7", "p3", "2024-01-08T15:00:00Z", "2024-01-20T10:00:00Z", f"Organization?identifier={SYS}|{C}",
            "exp", disp_system="http://terminology.hl7.org/CodeSystem/discharge-disposition"),
        enc("e8", "p4", "2024-01-02T10:00:00Z", "2024-01-05T10:00:00Z", None, "02", cls="ACUTE"),
        enc("e10", "p4", "2024-02-04T10:00:00Z", "2024-02-06T10:00:00Z", f"Organization/{A}", "07",
            updated="2024-02-07T00:00:00Z"),
        enc("e10", "p4", "2024-02-04T10:00:00Z", "2024-02-06T10:00:00Z", f"Organization/{A}", "01",
            updated="2024-02-07T01:00:00+01:00"),  # same instant, later line: wins
        enc("e11", "p4", "2024-03-08T10:00:00Z", None, f"Organization/{A}", status="in-progress"),
        enc("e12", "p4", "2024-02-10T10:00:00Z", "2024-02-11T10:00:00Z", f"Organization/{A}", "01",
            status="entered-in-error"),
        enc("e13", "p4", "2024-02-20T10:00:00Z", "2024-02-21T10:00:00Z", f"Organization/{A}", "01", status="cancelled"),
        enc("e14", "p4", "2024-02-15T10:00:00Z", "2024-02-15T12:00:00Z", f"Organization/{A}", cls="EMER"),
        # bad records: each would be an inpatient discharge at A in January if accepted
        '{"resourceType": "Encounter", "id": "bad1", ',
        {k: v for k, v in enc("x", "p1", "2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z", f"Organization/{A}").items()
         if k != "id"},
        dict(enc("bad3", "p1", "2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z", f"Organization/{A}"),
             resourceType="Patient"),
        {k: v for k, v in enc("bad4", "p1", "2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z").items()
         if k != "resourceType"},
        dict(enc("bad5", "p1", "2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z", f"Organization/{A}"),
             period={"end": "2024-01-04T10:00:00Z"}),
        enc("bad6", "p1", "2024-01-04T10:00:00Z", "2024-01-03T10:00:00Z", f"Organization/{A}"),
        enc("bad7", "p9", "2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z", f"Organization/{A}"),
        enc("bad8", "p5", "2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z", f"Organization/{A}"),
        enc("bad9", "p1", "2024-02-30T10:00:00Z", "2024-03-04T10:00:00Z", f"Organization/{A}"),
    ])
    write(b1 / "Condition.ndjson.gz", [
        cond("c1", "p1", "e1", "91302008", "2024-01-11T08:00:00Z", updated="2024-01-13T00:00:00Z"),
        cond("c2", "p1", "e1", "76571007", "2024-01-12T01:00:00+05:00"),  # 01-11 UTC: hospital day 2
        cond("c3", "p1", "e4", "T81.49XA", "2024-03-20T10:00:00Z", system=ICD10),
        cond("c4", "p1", "e4", "T81.5XXA", "2024-03-20T10:00:00Z", system=ICD10),
        cond("c5", "p1", "e4", "91302008", "2024-03-20T10:00:00Z", system=ICD10),
        cond("c6", "p3", "e7", "A04.71", "2024-01-21T10:00:00Z", system=ICD10),
        cond("c7", "p3", "e7", "T80.211A", "2024-01-09T10:00:00Z", system=ICD10, updated="2024-01-10T00:00:00Z"),
        cond("c7", "p3", "e7", "T80.211A", "2024-01-10T10:00:00Z", system=ICD10, updated="2024-01-11T00:00:00Z"),
        cond("c8", "p3", "e7", "T83.511A", "2024-01-12T10:00:00Z", system=ICD10, verification="entered-in-error"),
        cond("c10", "p4", "e11", "A04.72", "2024-03-12T10:00:00Z", system=ICD10),
        {k: v for k, v in cond("badc1", "p1", "e1", "91302008", "2024-01-12T08:00:00Z").items() if k != "code"},
        cond("badc2", "p9", "e1", "91302008", "2024-01-12T08:00:00Z"),
        cond("badc3", "p1", "e1", "91302008", "not-a-date"),
    ])
    write(b1 / "Observation.ndjson", [{"resourceType": "Observation", "id": "o1"}])  # not input
    no_meta = enc("e2", "p1", "2024-01-13T08:00:00Z", "2024-01-13T20:00:00Z", f"Organization/{A}", "07")
    del no_meta["meta"]  # no lastUpdated: older than any version, so it loses although ingested last
    write(b2 / "Encounter.001.ndjson", [no_meta])
    write(b2 / "Condition.ndjson", [
        cond("c1", "p1", "e1", "91302008", "2024-01-12T08:00:00Z", updated="2024-01-13T00:00:00Z"),  # tie: wins
        cond("c7", "p3", "e7", "T80.211A", "2024-01-25T10:00:00Z", system=ICD10,
             updated="2024-01-09T00:00:00Z"),  # stale
    ])
    return root


R = lambda *v: tuple(v)  # noqa: E731
EXPECTED_2024_12_31 = [
    R(A, "2024-01", 2, 0, 0.0, 3, 1.5, 2, 2, 1.0, 1, 1000 / 3),
    R(A, "2024-02", 1, 0, 0.0, 2, 2.0, 1, 0, 0.0, 0, 0.0),
    R(A, "2024-03", 1, 1, 1.0, 3, 3.0, 0, 0, None, 0, 0.0),
    R(B, "2024-02", 1, 0, 0.0, 3, 3.0, 0, 0, None, 0, 0.0),
    R(B, "2024-04", 1, 0, 0.0, 15, 15.0, 1, 0, 0.0, 1, 1000 / 15),
    R(C, "2024-01", 2, 1, 0.5, 15, 7.5, 0, 0, None, 1, 1000 / 15),
    R("unknown", "2024-01", 1, 0, 0.0, 3, 3.0, 0, 0, None, 0, 0.0),
]


def assert_rows(actual, expected):
    assert [r[:2] for r in actual] == [r[:2] for r in expected]
    for a, e in zip(actual, expected):
        for col, x, y in zip(COLUMNS, a, e):
            if isinstance(y, float):
                assert x is not None and math.isclose(x, y, rel_tol=1e-12), (a[:2], col, x, y)
            else:
                assert x == y, (a[:2], col, x, y)


def test_hand_computed_rows_with_explicit_as_of(hand_input):
    assert_rows(reference_rows(hand_input, as_of="2024-12-31"), EXPECTED_2024_12_31)


def test_default_as_of_is_the_latest_admission_or_discharge_date(hand_input):
    # latest date: e4's discharge 2024-04-01 -> only discharges up to 2024-03-02 are index stays
    expected = [r if r[:2] != (B, "2024-04") else R(B, "2024-04", 1, 0, 0.0, 15, 15.0, 0, 0, None, 1, 1000 / 15)
                for r in EXPECTED_2024_12_31]
    assert_rows(reference_rows(hand_input), expected)
    assert_rows(reference_rows(hand_input, as_of="2024-04-01"), expected)


def test_as_of_before_the_30_days_leaves_no_index_stays(hand_input):
    rows = reference_rows(hand_input, as_of="2024-02-11")  # 01-12 + 30 = 02-11: only e1
    assert {r[:2]: r[7:10] for r in rows if r[7]} == {(A, "2024-01"): (1, 1, 1.0)}


def test_every_bad_record_is_quarantined_with_its_reason(hand_input):
    assert quarantine_counts(hand_input) == {
        ("Encounter", "invalid_json"): 1,
        ("Encounter", "missing_id"): 1,
        ("Encounter", "resource_type_mismatch"): 1,
        ("Encounter", "missing_resource_type"): 1,
        ("Encounter", "missing_required_field"): 1,
        ("Encounter", "end_before_start"): 1,
        ("Encounter", "unknown_patient"): 2,  # p9 never existed; p5's only record was quarantined
        ("Encounter", "invalid_date"): 1,
        ("Condition", "missing_required_field"): 1,
        ("Condition", "unknown_patient"): 1,
        ("Condition", "invalid_date"): 1,
        ("Patient", "invalid_date"): 1,
        ("Patient", "invalid_json"): 1,
    }


def test_custom_hai_set_changes_only_hai(hand_input):
    rows = reference_rows(hand_input, as_of="2024-12-31", hai_codes=[(ICD10, "T81.5", True)])
    assert {r[:2]: r[10] for r in rows if r[10]} == {(B, "2024-04"): 1}  # c4 only
    assert [r[:10] for r in rows] == [r[:10] for r in reference_rows(hand_input, as_of="2024-12-31")]


def test_missing_input_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="input_dir: got .*allowed: a folder holding fhir/"):
        reference_rows(tmp_path / "nope")
