"""bench/driver_runs.py measures what it says: each run a whole FHIR pipeline that succeeded, its
driver JVM's CPU read from /proc, and the warm mean leaving out the first (cold) run. Timings are not
asserted (performance is the benchmark's business, not a test's)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("driver_runs", REPO / "bench" / "driver_runs.py")
driver_runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(driver_runs)


def test_a_measured_run_is_a_whole_pipeline_run_with_its_wall_time_and_driver_cpu(spark, tmp_path):
    (figure,) = driver_runs.measure(runs=1, patients=4, work=tmp_path)
    assert figure["wall_s"] > 0 and figure["jvm_cpu_s"] > 0 and figure["python_cpu_s"] > 0
    assert figure["classes_compiled"] > 0
    assert (tmp_path / "wh0" / "lakehouse_dev_gold" / "cms_facility_monthly" / "metadata").is_dir()


def test_the_warm_mean_leaves_out_the_first_run():
    runs = [{"wall_s": 40.0, "jvm_cpu_s": 50.0, "python_cpu_s": 9.0, "classes_compiled": 250},
            {"wall_s": 20.0, "jvm_cpu_s": 24.0, "python_cpu_s": 4.0, "classes_compiled": 30},
            {"wall_s": 30.0, "jvm_cpu_s": 26.0, "python_cpu_s": 6.0, "classes_compiled": 40}]
    assert driver_runs.summary(runs)["warm_mean"] == {"wall_s": 25.0, "jvm_cpu_s": 25.0, "python_cpu_s": 5.0,
                                                      "classes_compiled": 35}
    assert driver_runs.summary(runs[:1])["warm_mean"] == runs[0]
