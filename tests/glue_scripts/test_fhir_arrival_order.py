"""Arrival order: gold does not depend on how the input was cut into batches, nor on the order they
came in. A bulk export delivers resource types separately and out of order, so Encounters and
Conditions may arrive before their Patient: silver holds them in `fhir_waiting` and checks them
again on every run until the patient arrives (docs/fhir-data-model.md, "Records waiting for their
patient"); every silver run reconciles input = accepted + quarantined + waiting.

- A hand scenario through the jobs (bronze + silver per batch, gold at the end): counts per run,
  the waiting table, gold = the DuckDB reference.
- A property (hypothesis, few examples: each is a chain of real Spark + Iceberg runs): a generated
  sample's records split into batches of one resource type each, in random order (Patients
  after their Encounters sometimes, last in the explicit example), run batch by batch; gold equals
  the single-batch run of the unsplit sample and the reference over the split files. The split
  keeps the order of the versions of one resource (the only order the contract makes gold depend on:
  ties on meta.lastUpdated go to the version ingested last).
"""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from lakehouse.samples.fhir import write_batch
from lakehouse.samples.fhir_reference import COLUMNS, input_files, quarantine_counts, reference_rows
from lakelib.fhir import jobs
from lakelib.fhir import silver as S
from lakelib.runtime.args import JobArgumentError
from lakelib.runtime.session import local_spark_session

pytestmark = pytest.mark.heavy(minutes=3)


def _args(raw: Path, **extra: str) -> dict[str, str]:
    return {"--catalog": "local", "--raw_path": raw.resolve().as_uri() + "/", "--bronze_database": "lake_bronze",
            "--silver_database": "lake_silver", "--gold_database": "lake_gold", **extra}


def _gold(session) -> list[tuple]:
    return sorted(tuple(r) for r in session.table("local.lake_gold.cms_facility_monthly").collect())


def _assert_same_rows(actual: list[tuple], expected: list[tuple]) -> None:
    assert [r[:2] for r in actual] == [r[:2] for r in expected]
    for a, e in zip(actual, expected):
        for col, x, y in zip(COLUMNS, a, e):
            if isinstance(y, float):
                assert x is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (a[:2], col, x, y)
            else:
                assert x == y, (a[:2], col, x, y)


def _write(folder: Path, name: str, lines: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))


# --- a hand scenario -----------------------------------------------------------------------------

UPDATED = {"lastUpdated": "2024-06-01T00:00:00Z"}


def _enc(eid: str, pid: str, start: str, end: str) -> dict:
    return {"resourceType": "Encounter", "id": eid, "meta": UPDATED, "status": "finished", "class": {"code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"}, "period": {"start": start, "end": end},
            "serviceProvider": {"reference": "Organization/F1"}}


def _hand_batches(stage: Path) -> list[Path]:
    """Encounters (p1's and p9's) and a Condition first, then the Patient p1; p9 never comes."""
    b = [stage / f"batch-000{i}" for i in (1, 2)]
    _write(b[0], "Encounter.ndjson", [_enc("e1", "p1", "2024-01-01T10:00:00Z", "2024-01-05T10:00:00Z"),
                                      _enc("e9", "p9", "2024-01-02T10:00:00Z", "2024-01-04T10:00:00Z")])
    _write(b[0], "Condition.ndjson", [{
        "resourceType": "Condition", "id": "c1", "meta": UPDATED, "subject": {"reference": "urn:uuid:p1"},
        "encounter": {"reference": "Encounter/e1"}, "onsetDateTime": "2024-01-03T12:00:00Z",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91302008"}]}}])
    _write(b[1], "Patient.ndjson", [{"resourceType": "Patient", "id": "p1", "meta": UPDATED}])
    return b


def _counts(m: dict) -> tuple:
    return tuple(m.get(k) for k in ("input", "accepted", "quarantined", "waiting", "retried"))


def test_records_wait_for_their_patient_and_gold_does_not_depend_on_arrival_order(spark, tmp_path):
    raw = tmp_path / "raw"
    session = local_spark_session(tmp_path / "wh")
    silver = []
    for batch in _hand_batches(tmp_path / "stage"):  # the batches arrive one by one
        (raw / "fhir").mkdir(parents=True, exist_ok=True)
        batch.rename(raw / "fhir" / batch.name)
        jobs.run_bronze(session, _args(raw))
        silver.append(jobs.run_silver(session, _args(raw)))
    jobs.run_gold(session, _args(raw))

    expected = reference_rows(raw)
    assert expected == [("F1", "2024-01", 1, 0, 0.0, 4, 4.0, 0, 0, None, 1, 250.0)]  # e1, with c1 as an HAI
    _assert_same_rows(_gold(session), expected)
    # (input, accepted, quarantined, waiting, retried) of each silver run
    assert [_counts(m) for m in silver] == [
        (3, 0, 0, 3, 0),  # e1, e9 and c1 wait
        (4, 3, 0, 1, 3),  # p1 arrives, the three are checked again: p1, e1, c1 accepted; e9 waits on
    ]
    assert silver[0]["by_type"]["Encounter"] == {"input": 2, "accepted": 0, "quarantined": 0, "waiting": 2,
                                                 "retried": 0}
    assert silver[1]["by_type"]["Condition"] == {"input": 1, "accepted": 1, "quarantined": 0, "waiting": 0,
                                                 "retried": 1}
    held = session.table("local.lake_silver.fhir_waiting").select(
        "resource_type", "resource_id", "patient_id", "source_file", "line_number", "waiting_since_seq").collect()
    assert [tuple(r) for r in held] == [("Encounter", "e9", "p9", "fhir/batch-0001/Encounter.ndjson", 2, 1)]
    assert session.table("local.lake_silver.fhir_quarantine").count() == 0
    assert sorted(r[0] for r in session.table("local.lake_silver.encounters").select("encounter_id").collect()) == [
        "e1"]
    # what the reference says of e9 (its patient is in no file) is what the pipeline holds
    assert quarantine_counts(raw) == {("Encounter", "unknown_patient"): 1}


def test_a_record_waits_at_most_max_waiting_runs_then_is_unknown_patient(spark):
    """The age is counted in silver runs (checkpoint_seq); 0 quarantines at once."""
    parsed = spark.createDataFrame([
        ("e1", "p1", None, None, None), ("e2", "p9", None, None, None), ("e3", "p9", None, None, 2),
        ("e4", "p9", None, None, 4), ("e5", "p9", "invalid_date", "period.start=x", None),
    ], "encounter_id string, patient_id string, reason string, detail string, waiting_since_seq bigint")
    ids = spark.createDataFrame([("p1",)], "patient_id string")

    def outcome(max_runs):
        out = S.with_patient_reference(parsed, ids, 5, max_runs)
        return sorted((r.encounter_id, r.reason, r.waiting, r.waiting_since_seq)
                      for r in out.select("encounter_id", "reason", "waiting", "waiting_since_seq").collect())

    assert outcome(None) == [("e1", None, False, None), ("e2", None, True, 5), ("e3", None, True, 2),
                             ("e4", None, True, 4), ("e5", "invalid_date", False, None)]
    assert outcome(2) == [("e1", None, False, None), ("e2", None, True, 5), ("e3", "unknown_patient", False, None),
                          ("e4", None, True, 4), ("e5", "invalid_date", False, None)]
    assert outcome(0) == [("e1", None, False, None), ("e2", "unknown_patient", False, None),
                          ("e3", "unknown_patient", False, None), ("e4", "unknown_patient", False, None),
                          ("e5", "invalid_date", False, None)]
    assert S.parse_max_waiting_runs(None) is None and S.parse_max_waiting_runs(" 3 ") == 3
    with pytest.raises(JobArgumentError, match="--max_waiting_runs: got '-1'; allowed: a whole number >= 0"):
        S.parse_max_waiting_runs("-1")


def test_waiting_is_reconciled_and_shown_by_the_runner():
    """The runner checks input = accepted + quarantined + waiting as the job does, and shows waiting
    in the status line, the live table and the HTML report."""
    from lakehouse.model.pipelines import load_pipeline
    from lakehouse.runner import executor
    from lakehouse.runner import report as run_report

    job = load_pipeline("fhir").job("silver")
    result = {"input": 10, "accepted": 6, "quarantined": 1, "waiting": 3, "writes": []}
    assert executor.check_result(job, result) is result
    with pytest.raises(RuntimeError, match=r"input 10 != accepted 6 \+ quarantined 1 \+ waiting 2"):
        executor.check_result(job, {**result, "waiting": 2})
    run = executor.JobRun(job, 0, status="succeeded", seconds=1.0, result=result)
    assert run_report.status_line(run).endswith("(rows in 10, accepted 6, quarantined 1, waiting 3)")
    shown = {**run.as_dict(), "depends_on": []}
    assert shown["waiting"] == 3
    page = run_report.render_html({"run_id": "r", "status": "succeeded", "pipeline": "fhir", "jobs": [shown]})
    assert "<th>waiting</th>" in page and "<td>3</td>" in page


# --- the property: any split, any order --------------------------------------------------------

SAMPLE = {"patients": 6, "seed": 7}
MAX_BATCHES = 4


def _records(input_dir: Path) -> list[tuple[str, str, tuple | None]]:
    """Every line of the sample in ingestion order: (file's resource type, text, version key)."""
    out = []
    for _, rtype, path in input_files(input_dir):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for text in data.decode().splitlines():
            try:
                rid = json.loads(text).get("id")
            except (ValueError, AttributeError):
                rid = None
            out.append((rtype, text, (rtype, rid) if isinstance(rid, str) else None))
    return out


def split(records: list, rng: random.Random, patients_last: bool = False) -> list[tuple[str, list[str]]]:
    """Batches (resource type, lines) in arrival order: each type cut into 1-2 parts at random
    points, the parts shuffled. The versions of one resource keep their order (a later version
    lands in the same or a later batch), so ties on lastUpdated resolve as in one batch."""
    types = ["Patient", "Encounter", "Condition"]
    parts = types + rng.sample(types, rng.randint(0, MAX_BATCHES - len(types)))
    rng.shuffle(parts)
    if patients_last:
        parts = [t for t in parts if t != "Patient"] + [t for t in parts if t == "Patient"]
    slots = {t: [i for i, p in enumerate(parts) if p == t] for t in types}
    chosen = [rng.choice(slots[rtype]) for rtype, _, _ in records]
    by_key: dict[tuple, list[int]] = {}
    for i, (_, _, key) in enumerate(records):
        if key is not None:
            by_key.setdefault(key, []).append(i)
    for idx in by_key.values():  # the versions of one resource: their batches in version order
        for i, slot in zip(idx, sorted(chosen[i] for i in idx)):
            chosen[i] = slot
    batches = [(t, [records[i][1] for i in range(len(records)) if chosen[i] == slot]) for slot, t in enumerate(parts)]
    return [b for b in batches if b[1]]


class Sample(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"Sample({SAMPLE})"


@pytest.fixture(scope="module")
def sample(spark, tmp_path_factory):
    """The generated sample, and the gold of one run over all of it (= the reference)."""
    root = tmp_path_factory.mktemp("arrival")
    write_batch(root / "in", **SAMPLE)
    session = local_spark_session(root / "wh")
    for job in (jobs.run_bronze, jobs.run_silver, jobs.run_gold):
        job(session, _args(root / "in"))
    gold = _gold(session)
    _assert_same_rows(gold, reference_rows(root / "in"))
    assert len(gold) >= 5
    return Sample(root=root, records=_records(root / "in"), gold=gold,
                  unknown=sum(n for (_, r), n in quarantine_counts(root / "in").items() if r == "unknown_patient"))


PROPERTY = settings(max_examples=2, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), patients_last=st.booleans())
@example(seed=1, patients_last=True)
def test_gold_does_not_depend_on_batch_boundaries_or_order(sample, seed, patients_last):
    batches = split(sample["records"], random.Random(seed), patients_last)
    order = [t for t, _ in batches]
    assert sorted(set(order)) == ["Condition", "Encounter", "Patient"], order
    case = sample["root"] / f"split-{seed}-{patients_last}"
    raw, session = case / "in", local_spark_session(case / "wh")
    silver = []
    for i, (rtype, lines) in enumerate(batches, start=1):  # one batch arrives, bronze and silver run
        _write(raw / "fhir" / f"batch-{i:04d}", f"{rtype}.ndjson", lines)
        jobs.run_bronze(session, _args(raw))
        silver.append(jobs.run_silver(session, _args(raw)))  # reconciled: input = accepted + quarantined + waiting
    jobs.run_gold(session, _args(raw))
    gold = _gold(session)
    _assert_same_rows(gold, sample["gold"])  # = one run over all of it
    _assert_same_rows(gold, reference_rows(raw))  # = the reference over these very files
    waiting = [r["waiting"] for r in silver]
    # what still waits is exactly what has no patient in any file
    assert waiting[-1] == session.table("local.lake_silver.fhir_waiting").count() == sample["unknown"]
    if patients_last:
        assert max(waiting) > sample["unknown"], (order, waiting)  # records did wait for their patient
