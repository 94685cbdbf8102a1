"""bench/bench.py splits the driver JVM's CPU by thread: the groups are read from a live driver JVM
(this test process's own), so a thread name the JVM, Spark or py4j does not use would show as a
group that stays empty."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from pyspark.sql import functions as F

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_script", REPO / "bench" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_a_live_driver_jvms_cpu_lands_in_the_compiler_task_and_driver_groups(spark):
    # a query big enough to run tasks and to make the JIT compile something
    spark.range(2_000_000).select((F.col("id") * 7 % 1000).alias("k")).groupBy("k").count().collect()
    threads = bench.jvm_thread_cpu(bench.descendants(os.getpid()))  # pyspark started the driver JVM as our child
    assert threads, "no java process found under this process"
    names_by_group = {}
    for name, _ in threads.values():
        names_by_group.setdefault(bench.thread_group(name), set()).add(name)
    assert {"jit", "tasks", "driver", "gc"} <= set(names_by_group), names_by_group
    groups = bench.by_group(threads)
    assert set(groups) == set(bench.JVM_CPU_GROUPS)
    assert groups["jit"] > 0 and groups["tasks"] > 0 and groups["driver"] > 0, groups
    assert abs(sum(groups.values()) - sum(s for _, s in threads.values())) < 0.1 * len(groups)


def test_a_thread_outside_the_named_groups_counts_as_other():
    assert bench.thread_group("Signal Dispatch") == "other"
    assert bench.thread_group("C2 CompilerThre") == "jit"  # Linux cuts names to 15 characters
    assert bench.by_group({1: ("Executor task l", 2.0), 2: ("Executor task l", 1.5), 3: ("VM Thread", 0.5)}) == {
        "jit": 0.0, "tasks": 3.5, "driver": 0.0, "gc": 0.0, "other": 0.5}
