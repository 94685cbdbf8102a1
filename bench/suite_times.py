"""Where the test suite's time goes, per test module (a script, not a test).

    .venv/bin/python bench/suite_times.py .cache/junit-tests.xml [--top 25]

scripts/test.sh has pytest write a JUnit XML report (pytest's own `--junitxml`) and prints this
summary after the tests. A test's time there is its setup, call and teardown, so a module-scoped
fixture counts in the module that uses it. The times are wall seconds on one xdist worker; with two
workers busy on two cores they are close to CPU seconds, and their sum is about twice the run's wall
time. Each module's share is of that sum.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path


def module_times(junit_xml: Path) -> dict[str, dict[str, float]]:
    """{module path: {"tests": n, "seconds": s}} from pytest's JUnit XML (classname `tests.a.test_b`
    or `tests.a.test_b.TestClass`: the module is the part up to the `test_` file name)."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"tests": 0, "seconds": 0.0})
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        file_parts = parts[: max(i for i, p in enumerate(parts) if p.startswith("test")) + 1]
        module = "/".join(file_parts) + ".py"
        out[module]["tests"] += 1
        out[module]["seconds"] += float(case.get("time", 0.0))
    return dict(out)


def table(times: dict[str, dict[str, float]], top: int) -> str:
    total = sum(t["seconds"] for t in times.values())
    rows = sorted(times.items(), key=lambda kv: -kv[1]["seconds"])
    lines = [f"{'seconds':>8} {'share':>6} {'cumul.':>6} {'tests':>5}  module"]
    cumulative = 0.0
    for module, t in rows[:top]:
        cumulative += t["seconds"]
        lines.append(f"{t['seconds']:8.1f} {t['seconds'] / total:6.1%} {cumulative / total:6.1%} "
                     f"{int(t['tests']):5d}  {module}")
    rest = rows[top:]
    if rest:
        lines.append(f"{sum(t['seconds'] for _, t in rest):8.1f} {'':6} {'':6} "
                     f"{int(sum(t['tests'] for _, t in rest)):5d}  ({len(rest)} more modules)")
    lines.append(f"{total:8.1f} {'':6} {'':6} {int(sum(t['tests'] for t in times.values())):5d}  all "
                 f"{len(times)} modules (summed over the workers)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("junit_xml", type=Path)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args(argv)
    print(table(module_times(a.junit_xml), a.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
