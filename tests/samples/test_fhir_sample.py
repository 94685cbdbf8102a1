"""The sample generator: deterministic, streamed, and covering every case of docs/metrics.md."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tracemalloc
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from lakehouse.samples import fhir as fhir_sample
from lakehouse.samples.fhir import BAD_PAIRS, BAD_UPDATED, HAI_CODES, write_batch


def read_lines(path: Path) -> list[str]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode().splitlines()


FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def records(folder: Path) -> dict[str, list[dict]]:
    """Valid JSON objects with a FHIR id and the file's resourceType, by that resource type."""
    out: dict[str, list[dict]] = defaultdict(list)
    for f in sorted(folder.iterdir()):
        rtype = f.name.split(".")[0]
        for line in read_lines(f):
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if r.get("resourceType") == rtype and isinstance(r.get("id"), str) and FHIR_ID.fullmatch(r["id"]):
                out[rtype].append(r)
    return out


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def bare(ref: str) -> str:
    return ref.rsplit("|", 1)[-1].rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "manifest" not in p.parts}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_batch(out, patients=150, seed=7, batch=1)
    write_batch(out, patients=150, seed=7, batch=2)
    return out


@pytest.fixture(scope="module")
def base(sample) -> dict[str, list[dict]]:
    return records(sample / "fhir" / "batch-0001")


def good(recs: list[dict]) -> list[dict]:
    """Without the bad records (they all carry BAD_UPDATED)."""
    return [r for r in recs if r.get("meta", {}).get("lastUpdated") != BAD_UPDATED]


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 3), (b, 3), (c, 4)):
        write_batch(out, patients=40, seed=seed)
        write_batch(out, patients=40, seed=seed, batch=2)
    assert tree_digest(a) == tree_digest(b)
    assert tree_digest(a).keys() == tree_digest(c).keys()
    assert tree_digest(a) != tree_digest(c)


def test_layout_and_gzip(sample):
    b1 = sample / "fhir" / "batch-0001"
    assert sorted(p.name for p in b1.iterdir()) == [
        "Condition.ndjson.gz", "Encounter.000.ndjson", "Encounter.001.ndjson.gz", "Patient.ndjson"]
    assert b'{"resourceType":"Condition","id":' in gzip.decompress((b1 / "Condition.ndjson.gz").read_bytes())
    assert sorted(p.name for p in (sample / "fhir" / "batch-0002").iterdir()) == [
        "Condition.ndjson", "Encounter.ndjson.gz", "Patient.ndjson"]
    m = json.loads((sample / "manifest" / "batch-0001.json").read_text())
    assert m["lines"] == {p.name: len(read_lines(p)) for p in b1.iterdir()}


def test_dispositions_in_every_written_form(base):
    codes = Counter()
    for e in base["Encounter"]:
        for c in e.get("hospitalization", {}).get("dischargeDisposition", {}).get("coding", []):
            codes[(type(c["code"]).__name__, c["code"])] += 1
    for form in (("str", "01"), ("int", 1), ("str", "02"), ("str", "07"), ("str", "20"), ("str", "exp")):
        assert codes[form] > 0, (form, codes)


def inpatient_by_patient(recs: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    seen = set()
    for e in recs:
        if e["class"]["code"] in ("IMP", "ACUTE") and e["status"] == "finished" and e["id"] not in seen:
            seen.add(e["id"])
            out[bare(e["subject"]["reference"])].append(e)
    return out


def test_readmission_gaps_0_1_29_30_31_days(base):
    gaps = Counter()
    for stays in inpatient_by_patient(good(base["Encounter"])).values():
        stays.sort(key=lambda e: utc(e["period"]["start"]))
        for prev, nxt in zip(stays, stays[1:]):
            if "end" in prev["period"]:
                gaps[(utc(nxt["period"]["start"]).date() - utc(prev["period"]["end"]).date()).days] += 1
    for g in (0, 1, 29, 30, 31):
        assert gaps[g] > 0, (g, sorted(gaps.items())[:40])


def test_deaths_by_disposition_by_date_only_and_long_after(base):
    patients = {p["id"]: p for p in base["Patient"]}
    kinds = Counter()
    for pid, stays in inpatient_by_patient(good(base["Encounter"])).items():
        dead = patients.get(pid, {}).get("deceasedDateTime")
        for e in stays:
            if "end" not in e["period"] or not dead:
                continue
            code = e.get("hospitalization", {}).get("dischargeDisposition", {}).get("coding", [{}])[0].get("code")
            d = utc(dead).date()
            adm, dis = utc(e["period"]["start"]).date(), utc(e["period"]["end"]).date()
            if code in ("20", 20, "exp"):
                kinds["disposition"] += 1
            elif adm <= d <= dis + timedelta(days=1):
                kinds["date_only"] += 1
            elif d > dis + timedelta(days=1) and e is stays[-1]:
                kinds["long_after"] += 1
    assert kinds["disposition"] > 0 and kinds["date_only"] > 0 and kinds["long_after"] > 0, kinds


def test_hai_codes_on_hospital_day_2_and_3_and_decoys(base):
    encs = {e["id"]: e for e in base["Encounter"]}
    hai = {(s, c) for s, c, _ in HAI_CODES}
    days = Counter()
    codes = Counter()
    for c in good(base["Condition"]):
        e = encs.get(bare(c["encounter"]["reference"]))
        codings = [(x["system"], x["code"]) for x in c["code"]["coding"]]
        codes.update(codings)
        if e and e["class"]["code"] in ("IMP", "ACUTE") and any(x in hai for x in codings):
            days[(utc(c["onsetDateTime"]).date() - utc(e["period"]["start"]).date()).days] += 1
    assert days[1] > 0 and days[2] > 0  # hospital day 2 (not HAI) and day 3 (HAI)
    assert any(code.startswith("T81.4") for _, code in codes)
    assert codes[("http://hl7.org/fhir/sid/icd-10-cm", "T81.5XXA")] > 0  # decoy
    assert codes[("http://hl7.org/fhir/sid/icd-10-cm", "91302008")] > 0  # right code, wrong system
    assert any(c["verificationStatus"]["coding"][0]["code"] == "entered-in-error" for c in base["Condition"])


def test_facility_reference_forms_months_offsets_classes_statuses(base):
    encs = good(base["Encounter"])
    forms = Counter()
    for e in encs:
        ref = e.get("serviceProvider", {}).get("reference")
        forms["missing" if ref is None else "conditional" if "?identifier=" in ref
              else "urn" if ref.startswith("urn:uuid:") else "literal"] += 1
    assert all(forms[k] > 0 for k in ("missing", "conditional", "urn", "literal")), forms
    assert len({bare(e["serviceProvider"]["reference"]) for e in encs if "serviceProvider" in e}) == 5
    months = {utc(e["period"]["end"]).strftime("%Y-%m") for e in encs if "end" in e["period"]}
    assert len(months) >= 12
    crossing = [e for e in encs if utc(e["period"]["start"]).date() != date.fromisoformat(e["period"]["start"][:10])]
    assert crossing, "no timestamp whose local date differs from its UTC date"
    assert {"AMB", "EMER", "IMP", "ACUTE"} <= {e["class"]["code"] for e in encs}
    assert {"finished", "in-progress", "entered-in-error", "cancelled"} <= {e["status"] for e in encs}
    assert any(e["class"]["code"] in ("IMP", "ACUTE") and "end" not in e["period"] for e in encs)  # open stay


def test_duplicate_versions_inside_a_batch(base):
    by_id = defaultdict(list)
    for e in base["Encounter"]:
        by_id[e["id"]].append(e)
    dups = [v for v in by_id.values() if len(v) > 1]
    ties = [v for v in dups if utc(v[0]["meta"]["lastUpdated"]) == utc(v[1]["meta"]["lastUpdated"])]
    stale = [v for v in dups if utc(v[1]["meta"]["lastUpdated"]) < utc(v[0]["meta"]["lastUpdated"])]
    assert ties and stale
    assert any(v[0]["meta"]["lastUpdated"] != v[1]["meta"]["lastUpdated"] for v in ties)  # same instant, other text


def test_follow_up_batch_updates_ties_stale_late_and_readmissions(sample, base):
    b2 = records(sample / "fhir" / "batch-0002")
    old = {e["id"]: e for e in base["Encounter"]}
    newer = tie = stale = 0
    for e in b2["Encounter"]:
        if e["id"] in old:
            d = utc(e["meta"]["lastUpdated"]) - utc(old[e["id"]]["meta"]["lastUpdated"])
            newer += d > timedelta(0)
            tie += d == timedelta(0)
            stale += d < timedelta(0)
    assert newer and tie and stale, (newer, tie, stale)
    base_stays = inpatient_by_patient(good(base["Encounter"]))
    new_stays = [e for e in good(b2["Encounter"])
                 if e["id"] not in old and bare(e["subject"]["reference"]) in base_stays]
    late = [e for e in new_stays if utc(e["period"]["start"]) < datetime(2024, 5, 1, tzinfo=timezone.utc)]
    readmit = [e for e in new_stays if any(
        1 <= (utc(e["period"]["start"]).date() - utc(s["period"]["end"]).date()).days <= 30
        for s in base_stays[bare(e["subject"]["reference"])] if "end" in s["period"])]
    assert late and readmit
    assert any(p["id"] in {x["id"] for x in base["Patient"]} for p in b2["Patient"])  # a newer Patient version
    assert any(p["id"] not in {x["id"] for x in base["Patient"]} for p in b2["Patient"])  # new patients


def test_every_bad_kind_is_written_and_counted(sample):
    m = json.loads((sample / "manifest" / "batch-0001.json").read_text())
    assert {(t, k) for t, kinds in m["bad"].items() for k in kinds} == set(BAD_PAIRS)
    b1 = sample / "fhir" / "batch-0001"
    not_json = Counter()
    no_id = Counter()
    for f in b1.iterdir():
        rtype = f.name.split(".")[0]
        for line in read_lines(f):
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                not_json[rtype] += 1
                continue
            no_id[rtype] += "id" not in r
    assert dict(not_json) == {t: k["invalid_json"] for t, k in m["bad"].items()}
    assert dict(no_id) == {t: k["missing_id"] for t, k in m["bad"].items()}


def test_bad_share_zero_writes_no_bad_records(tmp_path):
    m = write_batch(tmp_path, patients=30, seed=1, bad_share=0)
    assert m["bad"] == {"Patient": {}, "Encounter": {}, "Condition": {}}


def test_memory_stays_bounded_while_streaming(tmp_path):
    tracemalloc.start()
    m = write_batch(tmp_path, patients=500, seed=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sum(m["lines"].values()) > 6_000
    assert peak < 2 * 1024 * 1024, peak  # a few patients at a time, not the data set


def test_cli_writes_a_batch_and_rejects_bad_arguments(tmp_path, capsys):
    assert fhir_sample.main(["--patients", "5", "--seed", "1", "--out", str(tmp_path), "--batch", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["folder"].endswith("batch-0001")
    with pytest.raises(SystemExit):
        fhir_sample.main(["--patients", "0", "--out", str(tmp_path)])
    assert "patients: got 0; allowed: a whole number >= 1" in capsys.readouterr().err
