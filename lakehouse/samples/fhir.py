"""Deterministic, Synthea-shaped FHIR R4 bulk NDJSON for tests, demos and benchmarks.

`write_batch(out, patients=N, seed=S, batch=1)` writes the base data set under
`<out>/fhir/batch-0001/`; `write_batch(..., batch=K)` for K >= 2 writes a follow-up batch under
`<out>/fhir/batch-000K/` that re-derives the base data from the same seed (nothing is read back)
and adds newer, tied and stale versions of existing resources, late stays, readmissions that
arrive after their index stay, new patients and more bad records. Each batch also writes
`<out>/manifest/batch-000K.json` (outside `fhir/`, so ingestion never sees it) with the lines
per file and the bad records per kind, for reconciliation tests.

Everything is derived from `random.Random(f"{seed}:{patient}")`, one patient at a time, and
written line by line: memory stays bounded at any size (150k patients ~ 1M encounters).

The cases docs/metrics.md cares about, all present in a base batch of ~100+ patients:
deaths by disposition "20", by HL7 `exp` and by `deceasedDateTime` alone (and deaths long after
discharge, which are not in-hospital deaths); readmission gaps of 0 (same-day transfer), 1, 29,
30 and 31 days; dispositions "02", "07", the number 1 and `exp`; HAI conditions with onset on
hospital day 2 (not HAI) and 3 (HAI), after discharge (not HAI), ICD-10 T81.4x, decoy codes and an
HAI code under the wrong system (not HAI); facilities referenced as `Organization/<id>`,
`urn:uuid:<id>`, `Organization?identifier=<system>|<id>` or not at all (`unknown`); twelve
months; offsets from -08:00 to +09:00 so local and UTC dates differ; open stays; AMB/EMER
encounters; entered-in-error / cancelled encounters and entered-in-error conditions; duplicate
versions within a batch (greater lastUpdated wins, equal lastUpdated -> the later file/line wins,
equal instants written with different offsets).

Bad records (BAD_KINDS) always use fresh ids and reference only valid resources, so each one is
wrong in exactly one way and quarantining it never cascades to a good record.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import uuid
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

UTC = timezone.utc
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # data covers 2024
DAYS = 366
BASE_UPDATED = datetime(2025, 1, 1, tzinfo=UTC)  # batch K versions are updated after this + K days
BAD_UPDATED = "2025-01-01T00:00:00.000Z"  # every bad record's meta.lastUpdated (no good one has it)

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
NUBC = "http://www.nubc.org/patient-discharge"
HL7_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SYNTHEA_ID = "https://github.com/synthetichealth/synthea"

FACILITIES = (
    ("f0a1c5e2-0000-4000-8000-000000000001", "Mercy General Hospital"),
    ("f0a1c5e2-0000-4000-8000-000000000002", "St. Anne Medical Center"),
    ("f0a1c5e2-0000-4000-8000-000000000003", "Lakeside Community Hospital"),
    ("f0a1c5e2-0000-4000-8000-000000000004", "Northgate Regional"),
    ("f0a1c5e2-0000-4000-8000-000000000005", "Riverbend University Hospital"),
)
OFFSETS_MIN = (0, 0, -300, -480, -240, 120, 330, 540, 60)  # Z/+00:00, US, Europe, India, Japan
HAI_CODES = (
    (SNOMED, "91302008", "Sepsis"),
    (SNOMED, "76571007", "Septic shock"),
    (ICD10, "T80.211A", "Bloodstream infection due to central venous catheter"),
    (ICD10, "T83.511A", "Infection due to indwelling urethral catheter"),
    (ICD10, "A04.71", "Enterocolitis due to Clostridium difficile, recurrent"),
    (ICD10, "A04.72", "Enterocolitis due to Clostridium difficile, not recurrent"),
    (ICD10, "T81.40XA", "Infection following a procedure, unspecified"),
    (ICD10, "T81.41XA", "Infection following a procedure, superficial incisional"),
    (ICD10, "T81.49XA", "Infection following a procedure, other surgical site"),
)
OTHER_CODES = (
    (SNOMED, "44054006", "Diabetes mellitus type 2"),
    (SNOMED, "38341003", "Hypertension"),
    (SNOMED, "195662009", "Acute viral pharyngitis"),
    (ICD10, "T81.5XXA", "Complication of foreign body left after a procedure"),  # decoy: not T81.4
    (ICD10, "A04.7", "Enterocolitis due to Clostridium difficile"),  # decoy: only A04.71/72
    (ICD10, "91302008", "HAI code under the wrong system"),  # decoy: SNOMED code, ICD-10 system
)

# Bad records: kind -> resource types it is written for (the reason quarantine should give).
BAD_KINDS: dict[str, tuple[str, ...]] = {
    "invalid_json": ("Patient", "Encounter", "Condition"),
    "missing_id": ("Patient", "Encounter", "Condition"),
    "missing_resource_type": ("Patient", "Encounter", "Condition"),
    "resource_type_mismatch": ("Encounter", "Condition"),  # a Patient in their file
    "missing_required_field": ("Encounter", "Condition"),  # Encounter period.start, Condition code
    "end_before_start": ("Encounter",),
    "unknown_patient": ("Encounter", "Condition"),
    "invalid_date": ("Patient", "Encounter", "Condition"),  # deceasedDateTime, period.start, onset
    "invalid_id": ("Patient", "Encounter", "Condition"),  # an object, a reference-like or too long id
}
BAD_PAIRS = tuple((rtype, kind) for kind, types in BAD_KINDS.items() for rtype in types)
RESOURCE_TYPES = ("Patient", "Encounter", "Condition")


# --- small helpers -----------------------------------------------------------------

def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fmt_instant(ts: datetime, offset_min: int, millis: bool = False, z: bool = False) -> str:
    """ISO-8601 in a local offset (the same instant): FHIR dateTime as Synthea writes it."""
    local = ts + timedelta(minutes=offset_min)  # wall-clock fields only (faster than astimezone)
    text = f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    if millis:
        text += f".{local.microsecond // 1000:03d}"
    if offset_min == 0 and z:
        return text + "Z"
    sign = "+" if offset_min >= 0 else "-"
    h, m = divmod(abs(offset_min), 60)
    return f"{text}{sign}{h:02d}:{m:02d}"


def _when(rng: random.Random, ts: datetime, millis: bool = False) -> str:
    return fmt_instant(ts, rng.choice(OFFSETS_MIN), millis=millis, z=rng.random() < 0.5)


def _facility_ref(rng: random.Random, fid: str, name: str) -> dict | None:
    r = rng.random()
    if r < 0.04:
        return None  # -> facility "unknown"
    if r < 0.40:
        return {"reference": f"Organization/{fid}", "display": name}
    if r < 0.70:
        return {"reference": f"urn:uuid:{fid}", "display": name}
    return {"reference": f"Organization?identifier={SYNTHEA_ID}|{fid}", "display": name}


def _subject_ref(rng: random.Random, pid: str) -> dict:
    return {"reference": f"Patient/{pid}" if rng.random() < 0.5 else f"urn:uuid:{pid}"}


def _disposition(code: Any, system: str = NUBC) -> dict:
    return {"dischargeDisposition": {"coding": [{"system": system, "code": code}]}}


# --- one patient ---------------------------------------------------------------------

class _Patient:
    """All base resources of one patient, derived only from (seed, index)."""

    def __init__(self, seed: int, index: int):
        rng = random.Random(f"{seed}:{index}")
        self.rng = rng
        self.id = _uuid(rng)
        self.home = rng.randrange(len(FACILITIES))
        self.encounters: list[dict] = []
        self.conditions: list[dict] = []
        self.stays: list[tuple[dict, datetime, datetime | None]] = []  # (encounter, start, end)
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(90 * 365))
        self.patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": self.id,
            "meta": {"lastUpdated": _when(rng, EPOCH + timedelta(days=rng.randrange(30)), millis=True)},
            "gender": rng.choice(("male", "female")),
            "birthDate": birth.isoformat(),
            "name": [{"family": f"Doe{index}", "given": [rng.choice(("Ann", "Bob", "Cleo", "Dev", "Eli"))]}],
            "address": [{"city": rng.choice(("Boston", "Worcester", "Springfield")), "state": "MA"}],
        }
        self._visits()
        self._stays()

    # outpatient and emergency visits: most of the volume, never discharges
    def _visits(self) -> None:
        rng = self.rng
        for _ in range(rng.randint(2, 8) + (rng.random() < 0.7) * rng.randint(0, 2)):
            start = EPOCH + timedelta(seconds=rng.randrange(DAYS * 86400))
            end = start + timedelta(minutes=rng.randint(15, 600))
            cls = "AMB" if rng.random() < 0.85 else "EMER"
            enc = self._encounter(cls, start, end, rng.randrange(len(FACILITIES)))
            if rng.random() < 0.3:
                code = rng.choice(OTHER_CODES[:3]) if rng.random() < 0.9 else rng.choice(HAI_CODES)
                self._condition(enc, code, start + timedelta(minutes=5))

    # inpatient stays chained with the readmission gaps the contract cares about
    def _stays(self) -> None:
        rng = self.rng
        if rng.random() < 0.35:
            return
        n = rng.choice((1, 1, 2, 2, 3, 4))
        start = EPOCH + timedelta(seconds=rng.randrange((DAYS - 60) * 86400))
        fate = rng.random()  # < .03 dies by "20", < .05 by exp, < .08 by deceasedDateTime only, < .10 dies later
        open_last = rng.random() < 0.06
        for k in range(n):
            last = k == n - 1
            los = rng.choice((0, 0, 1, 2, 3, 4, 5, 7, 10))
            end = (start + timedelta(days=los, hours=rng.randint(1, 20)))
            if end.date() < start.date() + timedelta(days=los):  # keep the intended date gap
                end = start + timedelta(days=los)
            cls = "IMP" if rng.random() < 0.85 else "ACUTE"
            fac = self.home if rng.random() < 0.8 else rng.randrange(len(FACILITIES))
            gap = rng.choice((0, 1, 29, 30, 31, rng.randint(2, 90)))
            disp: Any = rng.choice(("01", "01", 1, "06", "02", "07", None))
            if gap == 0 and not last and rng.random() < 0.7:
                disp = "02"  # same-day transfer to another hospital
            if last and open_last:
                enc = self._encounter(cls, start, None, fac, status="in-progress")
                self.stays.append((enc, start, None))
                self._stay_conditions(enc, start, start + timedelta(days=3))
                break
            if last and fate < 0.03:
                disp = "20" if rng.random() < 0.5 else 20
                self.patient["deceasedDateTime"] = _when(rng, end)
            elif last and fate < 0.05:
                disp = "exp"
                self.patient["deceasedDateTime"] = _when(rng, end)
            elif last and fate < 0.08:
                disp = None  # only the date says so: up to one day after discharge
                self.patient["deceasedDateTime"] = _when(rng, end + timedelta(hours=rng.randint(0, 30)))
            elif last and fate < 0.10:
                self.patient["deceasedDateTime"] = _when(rng, end + timedelta(days=rng.randint(3, 200)))
            status = "finished"
            r = rng.random()
            if r < 0.03:
                status = "entered-in-error"
            elif r < 0.06:
                status = "cancelled"
            enc = self._encounter(cls, start, end, fac, status=status, disposition=disp)
            self.stays.append((enc, start, end))
            self._stay_conditions(enc, start, end)
            start = datetime.combine(end.date() + timedelta(days=gap), datetime.min.time(), UTC) + \
                timedelta(seconds=rng.randrange(86400))
            if start < end:
                start = end + timedelta(minutes=30)
            if start >= EPOCH + timedelta(days=DAYS):
                break

    def _stay_conditions(self, enc: dict, start: datetime, end: datetime) -> None:
        rng = self.rng
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            day = rng.choice((0, 1, 2, 2, 3, 5, (end - start).days, (end - start).days + 1))
            onset = datetime.combine(start.date() + timedelta(days=day), datetime.min.time(), UTC) + \
                timedelta(seconds=rng.randrange(86400))
            code = rng.choice(HAI_CODES) if rng.random() < 0.5 else rng.choice(OTHER_CODES)
            status = "entered-in-error" if rng.random() < 0.03 else "confirmed"
            self._condition(enc, code, onset, verification=status)

    def _encounter(self, cls: str, start: datetime, end: datetime | None, fac: int,
                   status: str = "finished", disposition: Any = None) -> dict:
        rng = self.rng
        fid, fname = FACILITIES[fac]
        enc: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": _uuid(rng),
            "meta": {"lastUpdated": _when(rng, (end or start) + timedelta(hours=rng.randint(1, 48)), millis=True)},
            "status": status,
            "class": {"system": ACT_CODE, "code": cls},
            "type": [{"coding": [{"system": SNOMED, "code": "183452005" if cls in ("IMP", "ACUTE") else "185349003"}]}],
            "subject": _subject_ref(rng, self.id),
            "period": {"start": _when(rng, start)},
        }
        if end is not None:
            enc["period"]["end"] = _when(rng, end)
        provider = _facility_ref(rng, fid, fname)
        if provider:
            enc["serviceProvider"] = provider
        if disposition is not None:
            system = HL7_DISPOSITION if disposition == "exp" else NUBC
            enc["hospitalization"] = _disposition(disposition, system)
        self.encounters.append(enc)
        return enc

    def _condition(self, enc: dict, code: tuple, onset: datetime, verification: str = "confirmed") -> dict:
        rng = self.rng
        system, value, display = code
        codings = [{"system": system, "code": value, "display": display}]
        if rng.random() < 0.3:  # Synthea-style extra coding first: the HAI code need not be first
            codings.insert(0, {"system": SNOMED, "code": "404684003", "display": "Clinical finding"})
        cond = {
            "resourceType": "Condition",
            "id": _uuid(rng),
            "meta": {"lastUpdated": _when(rng, onset + timedelta(hours=rng.randint(1, 72)), millis=True)},
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "verificationStatus": {"coding": [{"code": verification}]},
            "code": {"coding": codings, "text": display},
            "subject": _subject_ref(rng, self.id),
            "encounter": {"reference": f"Encounter/{enc['id']}" if rng.random() < 0.5 else f"urn:uuid:{enc['id']}"},
            "onsetDateTime": _when(rng, onset),
            "recordedDate": _when(rng, onset + timedelta(hours=1)),
        }
        self.conditions.append(cond)
        return cond


# --- bad records ---------------------------------------------------------------------

def bad_record(rtype: str, kind: str, rng: random.Random, pid: str, enc_id: str) -> str:
    """One NDJSON line for `rtype`'s file that is wrong in exactly the way `kind` says.

    `pid` / `enc_id` are a valid patient and encounter, so the record would count in the
    metrics (an inpatient discharge, an HAI) if it were wrongly accepted."""
    start = EPOCH + timedelta(days=rng.randrange(300), hours=rng.randrange(24))
    end = start + timedelta(days=3)
    rid = _uuid(rng)
    if rtype == "Patient" or (kind == "resource_type_mismatch"):
        res: dict[str, Any] = {"resourceType": "Patient", "id": rid, "gender": "female", "birthDate": "1950-05-05",
                               "deceasedDateTime": fmt_instant(start, 0)}
    elif rtype == "Encounter":
        res = {"resourceType": "Encounter", "id": rid, "status": "finished",
               "class": {"system": ACT_CODE, "code": "IMP"}, "subject": {"reference": f"Patient/{pid}"},
               "period": {"start": fmt_instant(start, -300), "end": fmt_instant(end, -300)},
               "serviceProvider": {"reference": f"Organization/{FACILITIES[0][0]}"},
               "hospitalization": _disposition("20")}
    else:
        res = {"resourceType": "Condition", "id": rid, "code": {"coding": [{"system": SNOMED, "code": "91302008"}]},
               "verificationStatus": {"coding": [{"code": "confirmed"}]},
               "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{enc_id}"},
               "onsetDateTime": fmt_instant(start + timedelta(days=2), 0)}
    res["meta"] = {"lastUpdated": BAD_UPDATED}
    if kind == "invalid_json":
        return json.dumps(res)[:-7]  # truncated mid-object
    if kind == "missing_id":
        del res["id"]
    elif kind == "invalid_id":
        res["id"] = rng.choice([{"value": rid}, f"{rtype}/{rid}", rid * 2])
    elif kind == "missing_resource_type":
        del res["resourceType"]
    elif kind == "missing_required_field":
        if rtype == "Encounter":
            del res["period"]["start"]
        else:
            del res["code"]
    elif kind == "end_before_start":
        res["period"]["end"] = fmt_instant(start - timedelta(hours=5), 0)
    elif kind == "unknown_patient":
        res["subject"] = {"reference": f"Patient/{_uuid(rng)}"}  # no such patient, ever
    elif kind == "invalid_date":
        if rtype == "Patient":
            res["deceasedDateTime"] = "31/12/2024"
        elif rtype == "Encounter":
            res["period"]["start"] = "2024-02-30T10:00:00Z"
        else:
            res["onsetDateTime"] = "not-a-date"
    elif kind != "resource_type_mismatch":
        raise ValueError(f"bad record kind: got {kind!r}; allowed: {sorted(BAD_KINDS)}")
    return json.dumps(res, separators=(",", ":"))


# --- files ---------------------------------------------------------------------------

class _Writers:
    """Open NDJSON outputs (plain or gzip with a fixed mtime, so bytes are deterministic)."""

    def __init__(self, stack: ExitStack, folder: Path, names: dict[str, str]):
        folder.mkdir(parents=True, exist_ok=True)
        self.lines: dict[str, int] = {}
        self.fh: dict[str, Any] = {}
        self.names = names
        for key, name in names.items():
            path = folder / name
            raw = stack.enter_context(path.open("wb"))
            fh = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1)) \
                if name.endswith(".gz") else raw
            self.fh[key] = fh
            self.lines[name] = 0

    def write(self, key: str, line: str) -> None:
        self.fh[key].write(line.encode() + b"\n")
        self.lines[self.names[key]] += 1


def _dump(res: dict) -> str:
    return json.dumps(res, separators=(",", ":"))


def batch_dir(out: Path | str, batch: int) -> Path:
    return Path(out) / "fhir" / f"batch-{batch:04d}"


def write_batch(out: Path | str, patients: int, seed: int = 0, batch: int = 1, bad_share: float = 0.02) -> dict:
    """Write one batch and its manifest; returns the manifest (also written as JSON)."""
    if patients < 1:
        raise ValueError(f"patients: got {patients!r}; allowed: a whole number >= 1")
    if not 0 <= bad_share < 0.5:
        raise ValueError(f"bad_share: got {bad_share!r}; allowed: 0 <= bad_share < 0.5")
    if batch < 1:
        raise ValueError(f"batch: got {batch!r}; allowed: a whole number >= 1")
    folder = batch_dir(out, batch)
    if batch == 1:  # a split Encounter export (second part gzipped) and a gzipped Condition file
        names = {"Patient": "Patient.ndjson", "Encounter": "Encounter.000.ndjson",
                 "Encounter2": "Encounter.001.ndjson.gz", "Condition": "Condition.ndjson.gz"}
    else:
        names = {"Patient": "Patient.ndjson", "Encounter": "Encounter.ndjson.gz",
                 "Encounter2": "Encounter.ndjson.gz", "Condition": "Condition.ndjson"}
        names["Encounter2"] = names["Encounter"]
    bad_counts: dict[str, dict[str, int]] = {t: {} for t in RESOURCE_TYPES}
    brng = random.Random(f"{seed}:bad:{batch}")

    with ExitStack() as stack:
        w = _Writers(stack, folder, {k: v for k, v in names.items() if k != "Encounter2" or batch == 1})
        if batch != 1:
            w.fh["Encounter2"] = w.fh["Encounter"]
            w.names["Encounter2"] = w.names["Encounter"]

        def emit_bad(rtype: str, kind: str, pid: str, enc_id: str) -> None:
            w.write(rtype, bad_record(rtype, kind, brng, pid, enc_id))
            bad_counts[rtype][kind] = bad_counts[rtype].get(kind, 0) + 1

        anchor: tuple[str, str] | None = None
        every_kind_done = batch != 1
        for p_index, res, rtype in _batch_resources(patients, seed, batch):
            key = rtype
            if rtype == "Encounter" and batch == 1 and p_index % 2 == 1:
                key = "Encounter2"
            w.write(key, _dump(res) if isinstance(res, dict) else res)
            if rtype == "Encounter" and res.get("class", {}).get("code") in ("IMP", "ACUTE") and anchor is None:
                anchor = (_bare(res["subject"]["reference"]), res["id"])
            if anchor is not None and bad_share > 0:
                if not every_kind_done:  # every kind at least once, early, even in tiny batches
                    every_kind_done = True
                    for btype, kind in BAD_PAIRS:
                        emit_bad(btype, kind, *anchor)
                if brng.random() < bad_share:
                    btype, kind = brng.choice(BAD_PAIRS)
                    emit_bad(btype, kind, *anchor)
        lines = dict(w.lines)

    manifest = {"batch": batch, "seed": seed, "patients": patients, "bad_share": bad_share,
                "folder": str(folder), "lines": lines,
                "bad": {t: dict(sorted(k.items())) for t, k in bad_counts.items()}}
    mdir = Path(out) / "manifest"
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / f"batch-{batch:04d}.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _bare(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _batch_resources(patients: int, seed: int, batch: int) -> Iterator[tuple[int, dict, str]]:
    """(patient index, resource, resource type) in file order, one patient at a time."""
    if batch == 1:
        for i in range(patients):
            p = _Patient(seed, i)
            yield from _with_duplicates(p, i, random.Random(f"{seed}:{i}:dup"))
        return
    # follow-up: changes to base patients, then new patients
    for i in range(patients):
        yield from ((i, r, r["resourceType"]) for r in _follow_up(_Patient(seed, i), seed, batch, i))
    for j in range(max(1, patients // 10)):
        p = _Patient(seed, 1_000_000 * batch + j)
        yield from ((j, r, r["resourceType"]) for r in [p.patient, *p.encounters, *p.conditions])


def _with_duplicates(p: _Patient, i: int, rng: random.Random) -> Iterator[tuple[int, dict, str]]:
    """Base resources, plus duplicate versions inside the batch: an older version written after
    the newer one (must lose), an equal-lastUpdated version (the later line or part file wins)."""
    yield i, p.patient, "Patient"
    for enc in p.encounters:
        yield i, enc, "Encounter"
        r = rng.random()
        if r < 0.03:  # stale copy after the current one: greater lastUpdated must still win
            stale = json.loads(json.dumps(enc))
            stale["meta"]["lastUpdated"] = fmt_instant(EPOCH - timedelta(days=1), 0, millis=True)
            stale["status"] = "entered-in-error"
            yield i, stale, "Encounter"
        elif r < 0.06 and "end" in enc["period"]:  # tie: same instant, other offset; later line wins
            tie = json.loads(json.dumps(enc))
            ts = datetime.fromisoformat(enc["meta"]["lastUpdated"].replace("Z", "+00:00"))
            tie["meta"]["lastUpdated"] = fmt_instant(ts, 60, millis=True)
            tie["hospitalization"] = _disposition("07")
            yield i, tie, "Encounter"
    for cond in p.conditions:
        yield i, cond, "Condition"


def _follow_up(p: _Patient, seed: int, batch: int, i: int) -> Iterator[dict]:
    """Batch K >= 2 for one base patient: newer, tied and stale versions, late stays and
    readmissions that arrive after their index stay."""
    rng = random.Random(f"{seed}:{i}:batch{batch}")
    newer = BASE_UPDATED + timedelta(days=batch, seconds=rng.randrange(3600))
    alive = "deceasedDateTime" not in p.patient
    finished = [(e, s, t) for e, s, t in p.stays if t is not None and e["status"] == "finished"]
    if alive and finished and rng.random() < 0.03:  # a death reported late: within a day of discharge
        v = json.loads(json.dumps(p.patient))
        v["meta"]["lastUpdated"] = fmt_instant(newer, 0, millis=True, z=True)
        v["deceasedDateTime"] = _when(rng, finished[-1][2] + timedelta(hours=rng.randint(0, 20)))
        alive = False
        yield v
    for enc, start, end in p.stays:
        r = rng.random()
        if r < 0.06 and end is not None:  # newer version: a different disposition and a longer stay
            v = json.loads(json.dumps(enc))
            v["meta"]["lastUpdated"] = fmt_instant(newer, 0, millis=True, z=True)
            v["period"]["end"] = fmt_instant(end + timedelta(days=rng.randint(0, 2)), -300)
            v["hospitalization"] = _disposition(rng.choice(("01", "07", "20")))
            yield v
        elif r < 0.09:  # newer version marking it entered-in-error
            v = json.loads(json.dumps(enc))
            v["meta"]["lastUpdated"] = fmt_instant(newer, 0, millis=True, z=True)
            v["status"] = "entered-in-error"
            yield v
        elif r < 0.12 and end is not None:  # same lastUpdated as the base: ingested last wins
            v = json.loads(json.dumps(enc))
            v["serviceProvider"] = {"reference": f"Organization/{FACILITIES[(p.home + 1) % len(FACILITIES)][0]}"}
            yield v
        elif r < 0.15:  # stale version arriving late: loses to the base
            v = json.loads(json.dumps(enc))
            v["meta"]["lastUpdated"] = fmt_instant(EPOCH - timedelta(days=2), 0, millis=True, z=True)
            v["status"] = "cancelled"
            yield v
        elif r < 0.22 and end is not None and alive:  # a readmission arriving after its index stay
            re_start = datetime.combine(end.date() + timedelta(days=rng.choice((1, 15, 30, 31))),
                                        datetime.min.time(), UTC) + timedelta(hours=rng.randint(1, 22))
            yield from _new_stay(p, rng, re_start, newer)
    if rng.random() < 0.05 and alive:  # late data: an old stay reported only now
        yield from _new_stay(p, rng, EPOCH + timedelta(days=rng.randrange(120), hours=rng.randrange(24)), newer)
    if rng.random() < 0.04 and p.conditions:  # a newer version of a condition, now entered-in-error
        c = json.loads(json.dumps(rng.choice(p.conditions)))
        c["meta"]["lastUpdated"] = fmt_instant(newer, 0, millis=True, z=True)
        c["verificationStatus"] = {"coding": [{"code": "entered-in-error"}]}
        yield c


def _new_stay(p: _Patient, rng: random.Random, start: datetime, updated: datetime) -> Iterator[dict]:
    end = start + timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 10))
    fid, fname = FACILITIES[rng.randrange(len(FACILITIES))]
    eid = _uuid(rng)
    enc = {"resourceType": "Encounter", "id": eid,
           "meta": {"lastUpdated": fmt_instant(updated, 0, millis=True, z=True)},
           "status": "finished", "class": {"system": ACT_CODE, "code": "IMP"},
           "subject": {"reference": f"Patient/{p.id}"},
           "period": {"start": _when(rng, start), "end": _when(rng, end)},
           "serviceProvider": {"reference": f"Organization/{fid}", "display": fname},
           "hospitalization": _disposition(rng.choice(("01", 1, "06")))}
    yield enc
    if (end.date() - start.date()).days >= 2:
        onset = start + timedelta(days=2)
        yield {"resourceType": "Condition", "id": _uuid(rng),
               "meta": {"lastUpdated": fmt_instant(updated, 0, millis=True, z=True)},
               "verificationStatus": {"coding": [{"code": "confirmed"}]},
               "code": {"coding": [{"system": ICD10, "code": "T81.41XA"}]},
               "subject": {"reference": f"Patient/{p.id}"}, "encounter": {"reference": f"Encounter/{eid}"},
               "onsetDateTime": _when(rng, onset)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lakehouse.samples.fhir", description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, required=True, help="base patients (batch 2+ adds 10%% new ones)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="writes <out>/fhir/batch-000K/ and <out>/manifest/")
    ap.add_argument("--bad-share", type=float, default=0.02, help="share of extra bad records (default 0.02)")
    ap.add_argument("--batch", type=int, default=1, help="1 = base data; K >= 2 = follow-up batch K")
    a = ap.parse_args(argv)
    try:
        m = write_batch(a.out, a.patients, a.seed, a.batch, a.bad_share)
    except ValueError as e:
        ap.error(str(e))
    print(json.dumps({"folder": m["folder"], "lines": m["lines"],
                      "bad": sum(sum(v.values()) for v in m["bad"].values())}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
