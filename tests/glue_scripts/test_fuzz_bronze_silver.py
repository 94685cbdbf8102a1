"""Property-based fuzzing (hypothesis) of malformed input through the real transforms on the
shared local Spark session: FHIR NDJSON lines through bronze classification and silver
parsing/validation/versioning, and climate CSV rows through parsing and validation.

Properties: nothing raises; every line is either accepted or quarantined, never both, never
lost (input = accepted + quarantined at each layer); every reason is one of the closed set; what
silver keeps has one row per id, chosen among accepted records only; accepted CSV rows satisfy
every rule and only accepted rows carry corrections. Few, small examples: one Spark job chain each.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.samples.fhir_reference import quarantine_counts
from lakelib.climate.ingest import parse_lines, to_accepted_rows, validate
from lakelib.climate.schemas import FEEDS
from lakelib.fhir import bronze as B
from lakelib.fhir import silver as S
from lakelib.fhir.rules import BRONZE_REASONS, SILVER_REASONS
from lakelib.fhir.schemas import SILVER_KEYS
from lakelib.io.raw_files import LINES

FUZZ = settings(max_examples=6, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
TYPES = ("Patient", "Encounter", "Condition")
IDS = ("p1", "p2", "e1", "e2", "c1")

# --- FHIR lines --------------------------------------------------------------------------------

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(
    ["", " ", "x" * 65, "p-1.2", "2024-02-30", "2024-13-01T00:00:00Z", "31/12/2024", "2024-05-01",
     "2024-05-01T10:00:00+09:00", "not-a-date", "Patient/p1", "urn:uuid:p2", "p1", "IMP", "20", "exp",
     "entered-in-error", "é\u0000x"]))
json_value = st.recursive(json_scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(["code", "system", "reference", "start", "end"]),
                                                kids, max_size=3)), max_leaves=6)


def template(rtype: str, rid: str) -> dict:
    base = {"resourceType": rtype, "id": rid, "meta": {"lastUpdated": "2024-06-01T00:00:00Z"}}
    if rtype == "Patient":
        return {**base, "birthDate": "1950-01-01", "deceasedDateTime": "2024-05-03T10:00:00-05:00"}
    if rtype == "Encounter":
        return {**base, "status": "finished", "class": {"code": "IMP"}, "subject": {"reference": "Patient/p1"},
                "period": {"start": "2024-05-01T10:00:00Z", "end": "2024-05-04T10:00:00Z"},
                "serviceProvider": {"reference": "Organization/f1"},
                "hospitalization": {"dischargeDisposition": {"coding": [{"code": "01"}]}}}
    return {**base, "subject": {"reference": "urn:uuid:p1"}, "encounter": {"reference": "Encounter/e1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91302008"}]},
            "onsetDateTime": "2024-05-03T00:00:00Z"}


PATHS = (("resourceType",), ("id",), ("meta", "lastUpdated"), ("birthDate",), ("deceasedDateTime",), ("status",),
         ("class",), ("class", "code"), ("subject",), ("subject", "reference"), ("period",), ("period", "start"),
         ("period", "end"), ("hospitalization",), ("code",), ("code", "coding"), ("onsetDateTime",),
         ("encounter", "reference"), ("verificationStatus",))


@st.composite
def fhir_line(draw) -> tuple[str, str]:
    """(file's resource type, line): a resource with a few fields deleted or replaced by any JSON
    value, or a damaged text (truncated, padded, doubled, arbitrary)."""
    file_type = draw(st.sampled_from(TYPES))
    res = template(draw(st.sampled_from(TYPES)) if draw(st.booleans()) else file_type, draw(st.sampled_from(IDS)))
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=3)):
        node = res
        for k in path[:-1]:
            node = node.get(k) if isinstance(node.get(k), dict) else None
            if node is None:
                break
        if node is not None:
            if draw(st.booleans()):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(json_value)
    text = json.dumps(res)
    damage = draw(st.sampled_from(["none", "none", "none", "truncate", "trailing", "twice", "array", "text", "blank",
                                   "single_quotes", "nan"]))
    if damage == "truncate":
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif damage == "trailing":
        text = text + draw(st.sampled_from([" ", "x", ",", "}", " {}"]))
    elif damage == "twice":
        text = text + text
    elif damage == "array":
        text = f"[{text}]"
    elif damage == "text":
        text = draw(st.text(max_size=30))
    elif damage == "blank":
        text = draw(st.sampled_from(["", "   ", "\t"]))
    elif damage == "single_quotes":
        text = text.replace('"', "'")
    elif damage == "nan":
        text = text.replace('"id": ', '"id": NaN, "x": ', 1)
    return file_type, text.replace("\n", " ").replace("\r", " ")


def reference_quarantine(root: Path, lines: list[tuple[str, str]]) -> Counter:
    """The DuckDB reference's quarantine counts for the same lines, one file per type."""
    folder = root / uuid.uuid4().hex / "fhir" / "batch-0001"
    folder.mkdir(parents=True)
    for rtype in TYPES:
        texts = [text for t, text in lines if t == rtype]
        if texts:
            (folder / f"{rtype}.ndjson").write_text("".join(f"{text}\n" for text in texts))
    return Counter(quarantine_counts(folder.parent.parent))


@FUZZ
@given(lines=st.lists(fhir_line(), min_size=1, max_size=14))
def test_malformed_fhir_lines_are_accepted_or_quarantined_never_lost(spark, tmp_path, lines):
    rows = [(f"fhir/batch-0001/{t}.ndjson", t, i + 1, text) for i, (t, text) in enumerate(lines)]
    classified = B.with_line_classification(spark.createDataFrame(rows, LINES)).cache()
    try:
        got = classified.select("line_number", "reason", "resource_id").collect()
        assert sorted(r.line_number for r in got) == list(range(1, len(rows) + 1))  # each line once
        assert {r.reason for r in got} <= BRONZE_REASONS | {None}
        assert all(r.resource_id and r.resource_id.strip() for r in got if r.reason is None)
        for i, (t, text) in enumerate(lines):
            if not text.strip():
                assert next(r.reason for r in got if r.line_number == i + 1) == "invalid_json", text
        quarantined = Counter((lines[r.line_number - 1][0], r.reason) for r in got if r.reason)

        patients = None
        for rtype in TYPES:  # Patient first, as the silver job does
            bronze = B.to_bronze_rows(classified, rtype, 1, "fuzz")
            n_in = bronze.count()
            parsed = {"Patient": S.parse_patients, "Encounter": S.parse_encounters,
                      "Condition": S.parse_conditions}[rtype](bronze)
            if rtype != "Patient":
                parsed = S.with_unknown_patient(parsed, patients)
            parsed = parsed.cache()
            c = S.count_outcomes(parsed).first()
            assert c["input"] == n_in == c["accepted"] + c["quarantined"], (rtype, c.asDict())
            assert {r.reason for r in parsed.select("reason").distinct().collect()} <= SILVER_REASONS | {None}
            latest = S.to_silver_rows(parsed, rtype, "fuzz")
            key = SILVER_KEYS[rtype]
            kept = [r[key] for r in latest.select(key).collect()]
            accepted_ids = {r[key] for r in parsed.where("reason IS NULL").select(key).collect()}
            assert len(kept) == len(set(kept)) and set(kept) == accepted_ids, rtype
            quarantined.update((rtype, r.reason) for r in parsed.where("reason IS NOT NULL").select("reason").collect())
            if rtype == "Patient":
                patients = latest.select("patient_id").cache()
                patients.count()
            parsed.unpersist()
        # the same verdicts, line type by reason, as the independent DuckDB reference
        assert quarantined == reference_quarantine(tmp_path, lines), lines
    finally:
        classified.unpersist()


# --- climate CSV rows ------------------------------------------------------------------------

csv_field = st.one_of(
    st.sampled_from(["", " ", "L1", "L2", "L9", "2024-07-01", "2024-07-02", "2024-02-30", "2024/07/01", "0", "1",
                     "-1", "-0.5", "0.5", "1.5", "12k", "NaN", "Infinity", "1e3", "3.5", "2147483648", "100",
                     "101", '"a,b"', '"', "x y"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6).map(
        lambda s: s.replace("\n", " ").replace("\r", " ")))


@st.composite
def csv_file(draw) -> tuple[str, list[str]]:
    name = draw(st.sampled_from(sorted(FEEDS)))
    fd = FEEDS[name]
    header = fd.header if draw(st.integers(0, 5)) else draw(st.sampled_from(["id,name", fd.header.upper(), ""]))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        n = len(fd.columns) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
        rows.append(",".join(draw(st.lists(csv_field, min_size=max(n, 0), max_size=max(n, 0)))))
    return name, [header, *rows]


@FUZZ
@given(f=csv_file())
def test_malformed_csv_rows_are_accepted_or_quarantined_never_lost(spark, f):
    name, lines = f
    fd = FEEDS[name]
    df = spark.createDataFrame([(text, f"climate/{name}/b/{name}.csv", i + 1) for i, text in enumerate(lines)],
                               "value string, _source_file string, _source_line bigint")
    known = spark.createDataFrame([("L1",), ("L2",)], "location_id string")
    v = validate(parse_lines(df, fd), fd, None if name == "locations" else known).cache()
    try:
        rows = v.collect()
        data_lines = [i + 1 for i, t in enumerate(lines) if i > 0 and t.strip()]
        assert sorted(r["_source_line"] for r in rows) == data_lines  # every data line exactly once
        ok = [r for r in rows if r["_reason"] is None]
        assert all(r["_corrections"] == [] for r in rows if r["_reason"] is not None)
        if lines[0].strip() != fd.header:
            assert ok == []
        keys = [tuple(r[k] for k in fd.key) for r in ok]
        assert len(keys) == len(set(keys)) and all(None not in k for k in keys)
        for r in ok:
            if name != "locations":
                assert r["location_id"] in ("L1", "L2")
            for col in ("flood_probability", "drought_probability", "heatwave_probability"):
                if name == "climate" and r[col] is not None:
                    assert 0 <= r[col] <= 1
            if name in ("health", "hospital"):
                assert all(r[c] is not None and r[c] >= 0 for c in fd.columns[2:])
            if name == "hospital":
                assert r["available_beds"] <= r["total_beds"]
        assert to_accepted_rows(v, fd).count() == len(ok)
    finally:
        v.unpersist()
