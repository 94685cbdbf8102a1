"""The run report lists the raw files a job did not read (FHIR bronze: ignored names, files
quarantined as a whole), with the reason; the status line points at it (issue 20, "Data")."""

from __future__ import annotations

from types import SimpleNamespace

from lakehouse.runner import report
from lakehouse.runner.executor import JobRun

IGNORED = [{"source_file": "fhir/b[1]/patient.ndjson", "size": 9, "reason": "not_fhir_ndjson",
            "detail": "fhir/b[1]/patient.ndjson: name is not <ResourceType>[.<part>].ndjson[.gz]; ..."}]
QUARANTINED = [{"source_file": "fhir/b1/Patient.1.ndjson.gz", "size": 40, "reason": "corrupt_gzip",
                "detail": "fhir/b1/Patient.1.ndjson.gz: does not decompress: java.io.EOFException: ..."}]


def _report(result: dict) -> dict:
    job = {"job": "bronze", "key": "fhir.bronze", "wave": 0, "depends_on": [], "status": "succeeded",
           "seconds": 1.0, "input": 3, "accepted": 3, "quarantined": 0, "error": None, "result": result}
    silver = {**job, "job": "silver", "key": "fhir.silver", "wave": 1, "depends_on": ["bronze"], "result": {}}
    return {"run_id": "r1", "status": "succeeded", "stack": "dev", "pipeline": "fhir", "input": "/in",
            "warehouse": "/wh", "as_of": None, "started": "2026-01-01T00:00:00+00:00", "seconds": 3.2,
            "jobs": [job, silver], "gold": {}}


def test_the_report_lists_ignored_and_quarantined_files_with_the_reason():
    r = _report({"input": 3, "ignored_files": IGNORED, "quarantined_files": QUARANTINED})
    assert [(f["job"], f["status"], f["source_file"], f["reason"]) for f in report.files_not_read(r)] == [
        ("fhir.bronze", "quarantined", "fhir/b1/Patient.1.ndjson.gz", "corrupt_gzip"),
        ("fhir.bronze", "ignored", "fhir/b[1]/patient.ndjson", "not_fhir_ndjson"),
    ]
    page = report.render_html(r)
    assert "Files not read (2)" in page
    assert "fhir/b1/Patient.1.ndjson.gz" in page and "corrupt_gzip" in page and "java.io.EOFException" in page
    assert "not_fhir_ndjson" in page and "&lt;ResourceType&gt;" in page  # escaped
    assert "Files not read" not in report.render_html(_report({"input": 3}))


def test_the_status_line_says_how_many_files_were_not_read():
    run = JobRun(SimpleNamespace(key="fhir.bronze"), 0, status="succeeded", seconds=1.0,
                 result={"input": 3, "accepted": 3, "quarantined": 0, "ignored_files": IGNORED,
                         "quarantined_files": QUARANTINED})
    assert report.status_line(run) == ("fhir.bronze: succeeded in 1.0s (rows in 3, accepted 3, quarantined 0; "
                                       "files ignored 1, quarantined 1: see the report)")
    run.result = {"input": 3, "accepted": 3, "quarantined": 0, "ignored_files": [], "quarantined_files": []}
    assert report.status_line(run) == "fhir.bronze: succeeded in 1.0s (rows in 3, accepted 3, quarantined 0)"
