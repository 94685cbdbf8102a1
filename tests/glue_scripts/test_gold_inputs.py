"""What the FHIR gold job records of its inputs, and when it therefore computes gold again
(lakelib.fhir.jobs.gold_inputs / changed_inputs, lakelib.runtime.library). The job-level story
(a forced run over unchanged silver rewrites nothing; new silver, another as-of date or another
library release recompute) is in tests/runner/test_fhir_e2e.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.model.packaging import library_zip
from lakehouse.model.pipelines import GLUE_SCRIPTS_DIR
from lakehouse.samples.fhir import write_batch
from lakelib.fhir import jobs
from lakelib.fhir.jobs import changed_inputs, gold_inputs
from lakelib.io.tables import Lake
from lakelib.runtime.job import ReconciliationError
from lakelib.runtime.library import source_digest
from lakelib.runtime.session import local_spark_session

SNAPSHOTS = {"patients": 11, "encounters": 12, "conditions": None}  # conditions: created, never written
ENGINE = "spark 3.5.5"
ARGS = {"as_of": None, "hai_codes": "http://snomed.info/sct|91302008", "quality_rules": '[{"rule": "RowCount"}]'}


def recorded(**changes) -> str:
    return json.dumps(gold_inputs(SNAPSHOTS, {**ARGS, **changes}, "aaaa", ENGINE))


@pytest.mark.parametrize("name,now", [
    ("silver.encounters", gold_inputs({**SNAPSHOTS, "encounters": 13}, ARGS, "aaaa", ENGINE)),
    ("silver.conditions", gold_inputs({**SNAPSHOTS, "conditions": 14}, ARGS, "aaaa", ENGINE)),
    ("as_of", gold_inputs(SNAPSHOTS, {**ARGS, "as_of": "2024-09-30"}, "aaaa", ENGINE)),
    ("hai_codes", gold_inputs(SNAPSHOTS, {**ARGS, "hai_codes": "http://snomed.info/sct|1"}, "aaaa", ENGINE)),
    ("quality_rules", gold_inputs(SNAPSHOTS, {**ARGS, "quality_rules": None}, "aaaa", ENGINE)),
    ("lakelib", gold_inputs(SNAPSHOTS, ARGS, "bbbb", ENGINE)),
    ("engine", gold_inputs(SNAPSHOTS, ARGS, "aaaa", "spark 3.5.6")),
])
def test_each_input_that_decides_gold_is_named_when_it_changes(name, now):
    assert changed_inputs(recorded(), now) == [name]


def test_the_same_inputs_change_nothing():
    assert changed_inputs(recorded(), gold_inputs(SNAPSHOTS, dict(ARGS), "aaaa", ENGINE)) == []


@pytest.mark.parametrize("record", [None, "", "not json", "[1, 2]", '{"as_of": null}'])
def test_a_missing_or_unreadable_record_recomputes_everything_it_lacks(record):
    now = gold_inputs(SNAPSHOTS, ARGS, "aaaa", ENGINE)
    expected = list(now) if record != '{"as_of": null}' else [k for k in now if k != "as_of"]
    assert changed_inputs(record, now) == expected


def test_the_library_digest_is_the_same_from_the_glue_zip_and_changes_with_any_source(tmp_path):
    """On Glue lakelib is imported from the --extra-py-files zip (zipimport), locally from the folder."""
    zipped = tmp_path / "lakelib.zip"
    zipped.write_bytes(library_zip(GLUE_SCRIPTS_DIR / "lakelib"))
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import lakelib, lakelib.runtime.library as L; "
             "print(lakelib.__file__); print(L.source_digest())")

    def digest_from(path: Path) -> tuple[str, str]:
        out = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True,
                             cwd=tmp_path).stdout.split()
        return out[0], out[1]

    where, digest = digest_from(zipped)
    assert where.startswith(str(zipped)) and digest == source_digest()
    copy = tmp_path / "copy"
    shutil.copytree(GLUE_SCRIPTS_DIR / "lakelib", copy / "lakelib", ignore=shutil.ignore_patterns("__pycache__"))
    gold = copy / "lakelib" / "fhir" / "gold.py"
    gold.write_text(gold.read_text() + "\n# one more line\n")
    assert digest_from(copy)[1] != digest


def test_a_skipped_gold_still_fails_the_reconciliation_its_commit_failed(spark, tmp_path):
    """A run whose overwrite committed and whose reconciliation then failed must not be followed by a
    run that passes only because it skipped the recompute: the skip checks the stored rows again."""
    raw, session = tmp_path / "in", local_spark_session(tmp_path / "wh")
    write_batch(raw, patients=20, seed=4)
    args = {"--catalog": "local", "--raw_path": raw.resolve().as_uri() + "/", "--bronze_database": "lake_bronze",
            "--silver_database": "lake_silver", "--gold_database": "lake_gold"}
    for job in (jobs.run_bronze, jobs.run_silver, jobs.run_gold):
        job(session, args)
    assert jobs.run_gold(session, args)["up_to_date"] is True
    # what a commit that then failed its reconciliation leaves: rows summing to other discharges,
    # under the same record of inputs
    lake = Lake(session, "local", "tampered")
    gold = lake.table("lake_gold", "cms_facility_monthly")
    summary = lake.current_summary(gold)
    rows = lake.read(gold)
    first = rows.orderBy("facility_id", "month").first()
    tampered = rows.withColumn("discharges", rows["discharges"] + (
        (rows["facility_id"] == first["facility_id"]) & (rows["month"] == first["month"])).cast("int"))
    lake.overwrite(tampered.localCheckpoint(), gold, {k: summary[k] for k in (jobs.GOLD_INPUTS_PROPERTY,
                                                                               jobs.GOLD_DISCHARGES_PROPERTY)})
    with pytest.raises(ReconciliationError, match="discharges in silver but"):
        jobs.run_gold(session, args)
