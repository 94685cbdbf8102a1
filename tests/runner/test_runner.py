"""The local runner's own machinery, without Spark: order, failures, lock, fingerprint, report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.model.pipelines import parse_pipeline
from lakehouse.runner import cli, executor, state, summaries
from lakehouse.runner import report as run_report
from lakehouse.samples import SAMPLE_WRITERS, sample_writer
from lakehouse.samples.fhir import write_batch


def fake_jobs(monkeypatch, calls: list, fail: str | None = None):
    """Replace the Glue scripts with recorders; `fail` names a job whose run() raises."""

    def load(job):
        def run(spark, args):
            calls.append((job.name, dict(args)))
            if job.name == fail:
                raise ValueError(f"boom in {job.name}")
            return {"input": 10, "accepted": 8, "quarantined": 2, "writes": []}
        return run

    monkeypatch.setattr(executor, "load_script", load)
    import lakelib.runtime.session  # glue_scripts/ is on sys.path via the runner import below

    monkeypatch.setattr(lakelib.runtime.session, "local_spark_session", lambda warehouse: object())


@pytest.fixture(autouse=True)
def _glue_scripts_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(executor.GLUE_SCRIPTS_DIR))


@pytest.fixture()
def tiny_input(tmp_path) -> Path:
    write_batch(tmp_path / "in", patients=3, seed=1, bad_share=0)
    return tmp_path / "in"


def test_jobs_run_in_wave_order_with_the_declared_arguments(monkeypatch, tiny_input, tmp_path):
    calls: list = []
    fake_jobs(monkeypatch, calls)
    monkeypatch.setattr(executor, "read_table", lambda spark, fq: (["facility_id", "month"], [("a", "2024-01")]))
    wh = tmp_path / "wh"
    assert cli.main(["--input", str(tiny_input), "--warehouse", str(wh), "--as-of", "2024-06-30"]) == 0
    assert [c[0] for c in calls] == ["bronze", "silver", "gold"]
    bronze, silver, gold = (c[1] for c in calls)
    assert bronze["--raw_path"] == tiny_input.resolve().as_uri() + "/"
    assert bronze["--bronze_database"] == "lakehouse_dev_bronze" and bronze["--catalog"] == "local"
    assert bronze["--bronze_path"] == (wh.resolve() / "lakehouse_dev_bronze").as_uri() + "/"
    assert "--as_of" not in bronze and "--as_of" not in silver and gold["--as_of"] == "2024-06-30"
    assert gold["--silver_database"] == "lakehouse_dev_silver" and gold["--gold_database"] == "lakehouse_dev_gold"
    report = json.loads((wh / "_runs" / "latest.json").read_text())
    assert [(j["job"], j["status"], j["input"], j["accepted"], j["quarantined"]) for j in report["jobs"]] == [
        ("bronze", "succeeded", 10, 8, 2), ("silver", "succeeded", 10, 8, 2), ("gold", "succeeded", 10, 8, 2)]
    assert report["gold"] == {"lakehouse_dev_gold.cms_facility_monthly": {
        "columns": ["facility_id", "month"], "rows": [["a", "2024-01"]]}}
    assert report["jobs"][0]["aws"]["job_name"] == "lakehouse-dev-fhir-bronze"
    page = (wh / "_runs" / "latest.html").read_text()
    assert "<svg" in page and "fhir.silver" in page and not re.search(r"(src|href)=\"https?:", page)


def test_a_failed_job_exits_non_zero_naming_it_and_skips_downstream(monkeypatch, tiny_input, tmp_path, capsys):
    calls: list = []
    fake_jobs(monkeypatch, calls, fail="silver")
    wh = tmp_path / "wh"
    assert cli.main(["--input", str(tiny_input), "--warehouse", str(wh)]) == cli.EXIT_JOB_FAILED
    out = capsys.readouterr().out
    assert "job fhir.silver failed: ValueError: boom in silver" in out
    assert [c[0] for c in calls] == ["bronze", "silver"]
    report = json.loads((wh / "_runs" / "latest.json").read_text())
    assert [j["status"] for j in report["jobs"]] == ["succeeded", "failed", "skipped"]
    assert report["status"] == "failed"
    assert not (wh / "_runs" / "state.json").exists()  # a failed run is never "up to date"
    assert not (wh / state.LOCK_FILE).exists()


def test_unreconciled_counts_fail_the_job():
    job = parse_pipeline({"name": "p", "jobs": [{"name": "a", "script": "fhir/bronze.py"}]}).jobs[0]
    with pytest.raises(RuntimeError, match=r"p.a: input 10 != accepted 8 \+ quarantined 1"):
        executor.check_result(job, {"input": 10, "accepted": 8, "quarantined": 1})
    with pytest.raises(RuntimeError, match="expected a dict with integer input, accepted and quarantined"):
        executor.check_result(job, {"rows": 3})


def test_a_job_writing_what_its_declaration_does_not_name_fails_as_iam_would_on_aws():
    job = parse_pipeline({"name": "p", "jobs": [{"name": "a", "script": "fhir/bronze.py", "writes": [
        {"zone": "silver", "tables": ["patients"], "prefixes": ["exports/"]}]}]}).jobs[0]
    ok = {"input": 1, "accepted": 1, "quarantined": 0}
    declared = ["silver.patients", "silver:exports/"]
    assert executor.check_result(job, {**ok, "writes": declared})["writes"] == declared
    assert executor.check_result(job, {**ok, "writes": []})["writes"] == []  # nothing new: nothing written
    with pytest.raises(RuntimeError, match=r"p.a: wrote \['gold.patients', 'postgres.patients'\], which its "
                                           r"declaration \(p.yaml writes\) does not name; declared: "
                                           r"\['silver.patients', 'silver:exports/'\]"):
        executor.check_result(job, {**ok, "writes": ["silver.patients", "gold.patients", "postgres.patients"]})
    with pytest.raises(RuntimeError, match="returned no 'writes' list"):
        executor.check_result(job, ok)


def test_skipped_downstream_follows_the_dag_not_the_file_order():
    p = parse_pipeline({"name": "p", "jobs": [
        {"name": "a", "script": "fhir/bronze.py"},
        {"name": "b", "script": "fhir/bronze.py", "depends_on": ["a"]},
        {"name": "c", "script": "fhir/bronze.py"},
        {"name": "d", "script": "fhir/bronze.py", "depends_on": ["b", "c"]},
    ]})
    runs = executor.plan_runs(p)
    assert [(r.job.name, r.wave) for r in runs] == [("a", 0), ("c", 0), ("b", 1), ("d", 2)]


def test_second_run_without_changes_is_up_to_date_and_touches_nothing(monkeypatch, tiny_input, tmp_path, capsys):
    calls: list = []
    fake_jobs(monkeypatch, calls)
    monkeypatch.setattr(executor, "read_table", lambda spark, fq: ([], []))
    wh = tmp_path / "wh"
    args = ["--input", str(tiny_input), "--warehouse", str(wh)]
    assert cli.main(args) == 0 and len(calls) == 3
    before = sorted((p, p.stat().st_mtime_ns) for p in wh.rglob("*"))
    capsys.readouterr()
    assert cli.main(args) == 0
    assert len(calls) == 3 and "up to date" in capsys.readouterr().out
    assert sorted((p, p.stat().st_mtime_ns) for p in wh.rglob("*")) == before
    assert cli.main([*args, "--as-of", "2024-05-01"]) == 0 and len(calls) == 6  # an argument changed
    write_batch(tiny_input, patients=3, seed=1, batch=2, bad_share=0)  # new files
    assert cli.main([*args, "--as-of", "2024-05-01"]) == 0 and len(calls) == 9
    assert cli.main([*args, "--as-of", "2024-05-01", "--force"]) == 0 and len(calls) == 12


def test_a_live_lock_refuses_the_run_and_a_stale_one_is_taken_over(monkeypatch, tiny_input, tmp_path, capsys):
    calls: list = []
    fake_jobs(monkeypatch, calls)
    monkeypatch.setattr(executor, "read_table", lambda spark, fq: ([], []))
    wh = tmp_path / "wh"
    wh.mkdir()
    hold = ("import sys, time; from pathlib import Path; from lakehouse.runner.state import WarehouseLock\n"
            "with WarehouseLock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(wh)], cwd=state.REPO_ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli.main(["--input", str(tiny_input), "--warehouse", str(wh)]) == cli.EXIT_LOCKED
        err = capsys.readouterr().err
        assert f"is in use by another run (pid {holder.pid}" in err and calls == []
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the holder is gone: the kernel released its lock, the file it left is taken over
    assert cli.main(["--input", str(tiny_input), "--warehouse", str(wh)]) == 0
    assert f"took over a stale lock of pid {holder.pid}" in capsys.readouterr().out
    assert len(calls) == 3 and not (wh / state.LOCK_FILE).exists()


STATUS_LINE = re.compile(r"^(fhir\.\w+): (running|succeeded|failed|skipped)\b(.*)$")


def status_lines(text: str) -> list[tuple[str, str, str]]:
    return [m.groups() for m in map(STATUS_LINE.match, text.splitlines()) if m]


def test_piped_output_prints_one_line_per_job_state_change_as_it_happens(monkeypatch, tiny_input, tmp_path,
                                                                          capsys):
    printed: list[str] = []  # stdout, collected whenever a job starts and at the end

    def load(job):
        def run(spark, args):
            printed.append(capsys.readouterr().out)
            if job.name == "silver":
                raise ValueError("boom in silver")
            return {"input": 10, "accepted": 8, "quarantined": 2, "writes": []}
        return run

    fake_jobs(monkeypatch, [])
    monkeypatch.setattr(executor, "load_script", load)
    assert not sys.stdout.isatty()
    assert cli.main(["--input", str(tiny_input), "--warehouse", str(tmp_path / "wh")]) == cli.EXIT_JOB_FAILED
    printed.append(capsys.readouterr().out)
    # when silver started, bronze's whole story and silver's start had been printed already
    assert [(job, st) for job, st, _ in status_lines("".join(printed[:2]))] == [
        ("fhir.bronze", "running"), ("fhir.bronze", "succeeded"), ("fhir.silver", "running")]
    lines = status_lines("".join(printed))
    assert [(job, st) for job, st, _ in lines] == [
        ("fhir.bronze", "running"), ("fhir.bronze", "succeeded"), ("fhir.silver", "running"),
        ("fhir.silver", "failed"), ("fhir.gold", "skipped")]
    assert re.fullmatch(r" in \d+\.\ds \(rows in 10, accepted 8, quarantined 2\)", lines[1][2]), lines[1]
    assert re.fullmatch(r" in \d+\.\ds: ValueError: boom in silver", lines[3][2]), lines[3]
    assert lines[4][2] == " (upstream failed)"


def test_bad_arguments_are_named(tmp_path, capsys):
    assert cli.main(["--as-of", "2024-13-01", "--input", str(tmp_path)]) == cli.EXIT_USAGE
    assert "--as-of: got '2024-13-01'; allowed: a date YYYY-MM-DD" in capsys.readouterr().err
    assert cli.main(["--pipeline", "nope", "--input", str(tmp_path)]) == cli.EXIT_USAGE
    assert "--pipeline: got 'nope'; allowed: the pipelines of stack 'dev'" in capsys.readouterr().err
    assert cli.main(["--stack", "nope"]) == cli.EXIT_USAGE
    assert "stack: got 'nope'" in capsys.readouterr().err
    assert cli.main(["--input", str(tmp_path / "missing")]) == cli.EXIT_USAGE
    assert "--input: got" in capsys.readouterr().err
    assert cli.main(["show", "gold.nope", "--warehouse", str(tmp_path)]) == cli.EXIT_USAGE
    assert "table: got 'gold.nope' (lakehouse_dev_gold.nope)" in capsys.readouterr().err


def test_report_html_is_self_contained_with_dag_and_metrics_chart():
    report = {
        "run_id": "r1", "status": "succeeded", "stack": "dev", "pipeline": "fhir", "input": "/in",
        "warehouse": "/wh", "as_of": None, "started": "2026-01-01T00:00:00+00:00", "seconds": 3.2,
        "jobs": [
            {"job": "bronze", "key": "fhir.bronze", "wave": 0, "depends_on": [], "status": "succeeded",
             "seconds": 1.0, "input": 1200, "accepted": 1190, "quarantined": 10, "error": None},
            {"job": "silver", "key": "fhir.silver", "wave": 1, "depends_on": ["bronze"], "status": "failed",
             "seconds": 2.0, "input": None, "accepted": None, "quarantined": None, "error": "ValueError: <x>"},
        ],
        "gold": {"db.cms_facility_monthly": {
            "columns": ["facility_id", "month", "discharges", "deaths", "mortality_rate", "patient_days", "alos",
                        "index_stays", "readmissions", "readmission_rate", "hai_count", "hai_per_1000_patient_days"],
            "rows": [["a", "2024-01", 2, 1, 0.5, 4, 2.0, 1, 0, 0.0, 1, 250.0],
                     ["b", "2024-01", 2, 0, 0.0, 6, 3.0, 0, 0, None, 0, 0.0],
                     ["a", "2024-02", 1, 0, 0.0, 1, 1.0, 0, 0, None, 0, 0.0]]}},
    }
    page = run_report.render_html(report)
    assert page.count("<svg") == 2 and "marker-end" in page  # DAG with an arrow, and the chart
    assert "ValueError: &lt;x&gt;" in page and "1,190" in page
    assert not re.search(r"(src|href)=", page)
    totals = summaries.monthly_totals(report["gold"]["db.cms_facility_monthly"]["columns"],
                                      report["gold"]["db.cms_facility_monthly"]["rows"])
    assert totals == [  # rates recomputed from summed counts, not averaged
        {"month": "2024-01", "discharges": 4, "mortality_rate": 0.25, "readmission_rate": 0.0,
         "hai_per_1000_patient_days": 100.0},
        {"month": "2024-02", "discharges": 1, "mortality_rate": 0.0, "readmission_rate": None,
         "hai_per_1000_patient_days": 0.0}]


def test_lake_location_matches_the_stack_databases(tmp_path):
    cfg = load_stack_config("dev")
    loc = executor.lake_location(cfg, tmp_path / "in", tmp_path / "wh")
    assert loc.catalog == "local"
    assert loc.databases == {z: cfg.database_name(z) for z in ("bronze", "silver", "gold")}
    assert all(u.startswith("file:///") and u.endswith("/") for u in loc.zone_uris.values())


def test_what_changed_names_each_reason(tiny_input):
    pipeline = load_stack_config("dev").pipelines[0]
    files = state.code_files(pipeline)
    assert "pipelines/fhir.yaml" in files and "glue_scripts/fhir/gold.py" in files
    args = {"stack": "dev", "input": str(tiny_input), "as_of": None}
    last = {"input": state.input_hash(tiny_input), "args": args, "code_files": files, "code": state.code_hash(files)}
    assert state.what_changed(last, tiny_input, args) == []
    assert state.what_changed({}, tiny_input, args) == ["no successful run yet"]
    assert state.what_changed({**last, "code": "0" * 64}, tiny_input, args) == [
        "Glue scripts or the pipeline declaration changed"]
    assert state.what_changed({**last, "code_files": [*files, "glue_scripts/gone.py"]}, tiny_input, args) == [
        "Glue scripts or the pipeline declaration changed"]
    changed = state.what_changed(last, tiny_input, {**args, "as_of": "2024-01-31"})
    assert len(changed) == 1 and changed[0].startswith("arguments changed")
    (tiny_input / "fhir" / "batch-0001" / "Patient.ndjson").write_text("{}\n")
    assert state.what_changed(last, tiny_input, args) == ["new or changed input files"]


def test_a_missing_jar_is_a_clear_error_not_a_traceback(monkeypatch, tiny_input, tmp_path, capsys):
    import lakelib.runtime.session

    def no_jar(warehouse):
        raise lakelib.runtime.session.MissingJarError("/x/iceberg.jar is missing: run scripts/fetch-jars.sh")

    monkeypatch.setattr(lakelib.runtime.session, "local_spark_session", no_jar)
    assert cli.main(["--input", str(tiny_input), "--warehouse", str(tmp_path / "wh")]) == cli.EXIT_USAGE
    assert "local Spark cannot start: /x/iceberg.jar is missing: run scripts/fetch-jars.sh" in capsys.readouterr().err
    assert not (tmp_path / "wh" / state.LOCK_FILE).exists()


def test_sample_data_and_summaries_come_from_registries(monkeypatch, tmp_path, capsys):
    with pytest.raises(LookupError, match="no sample data for pipeline 'nope'; available: climate, fhir, orders"):
        sample_writer("nope")
    assert type(summaries.summary_for("fhir")) is summaries.FhirGoldSummary
    assert type(summaries.summary_for("climate")) is summaries.GoldSummary  # no entry: row counts
    monkeypatch.delitem(SAMPLE_WRITERS, "fhir")
    monkeypatch.chdir(tmp_path)  # no ./sample_data/fhir/: the runner would write the sample
    assert cli.main(["--warehouse", str(tmp_path / "wh")]) == cli.EXIT_USAGE
    assert "--input: none given, and no sample data for pipeline 'fhir'; available: climate, orders" in \
        capsys.readouterr().err
    assert not (tmp_path / "sample_data").exists() and not (tmp_path / "wh").exists()


def test_run_leaves_out_maintenance_and_maintain_runs_only_it_with_the_declared_arguments(monkeypatch, tiny_input,
                                                                                          tmp_path, capsys):
    calls: list = []
    fake_jobs(monkeypatch, calls)
    wh = tmp_path / "wh"
    assert cli.main(["maintain", "--warehouse", str(wh)]) == cli.EXIT_USAGE  # nothing to maintain yet
    assert "allowed: a warehouse with tables" in capsys.readouterr().err
    (wh / "lakehouse_dev_bronze" / "fhir_patient" / "metadata").mkdir(parents=True)
    (wh / "lakehouse_dev_bronze" / "fhir_patient" / "metadata" / "version-hint.text").write_text("1")
    assert cli.main(["maintain", "--warehouse", str(wh), "--orphan-file-age-hours", "-1"]) == cli.EXIT_USAGE
    assert "--orphan-file-age-hours: got '-1'; allowed: a whole number of hours >= 0" in capsys.readouterr().err
    with state.WarehouseLock(wh):  # one run at a time, as for `run`
        assert cli.main(["maintain", "--warehouse", str(wh)]) == cli.EXIT_LOCKED
    assert calls == []

    assert cli.main(["maintain", "--warehouse", str(wh), "--orphan-file-age-hours", "0"]) == 0
    [(name, args)] = calls
    declared = next(p for p in load_stack_config("dev").pipelines if p.name == "fhir").job("maintain")
    assert name == "maintain"
    assert {k: args[k] for k in declared.arguments} == {**declared.arguments, "--orphan_file_age_hours": "0"}
    assert args["--bronze_database"] == "lakehouse_dev_bronze" and args["--gold_database"] == "lakehouse_dev_gold"
    report = json.loads((wh / "_runs" / "latest.json").read_text())
    assert report["command"] == "maintain" and [j["job"] for j in report["jobs"]] == ["maintain"]
    assert not (wh / "_runs" / state.STATE_FILE).exists()  # maintenance changes no row: no run is recorded

    calls.clear()
    monkeypatch.setattr(executor, "read_table", lambda spark, fq: ([], []))
    assert cli.main(["--input", str(tiny_input), "--warehouse", str(wh)]) == 0
    assert [c[0] for c in calls] == ["bronze", "silver", "gold"]  # `run` leaves maintenance to `maintain`


@pytest.mark.parametrize("name", ["fhir", "climate", "orders"])
def test_each_gold_table_is_summarised_once_though_maintenance_also_writes_it(name):
    cfg = load_stack_config("dev")
    pipeline = executor.select_pipeline(cfg, name)
    listed = summaries.gold_tables(pipeline, cfg)
    declared = {t for j in pipeline.jobs if not j.is_maintenance for a in j.writes if a.zone == "gold"
                for t in a.tables if t != "dq_results"}
    assert sorted(listed) == sorted(f"{cfg.database_name('gold')}.{t}" for t in declared)
