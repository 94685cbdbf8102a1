"""bench/suite_times.py reads the JUnit XML a real pytest run writes and charges each test's setup,
call and teardown to its module, module-scoped fixtures and test classes included."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("suite_times", REPO / "bench" / "suite_times.py")
suite_times = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite_times)

SLOW = '''
import time
import pytest

@pytest.fixture(scope="module")
def slow_fixture():
    time.sleep(0.5)

@pytest.mark.parametrize("n", [1, 2])
def test_uses_it(slow_fixture, n):
    pass

class TestGrouped:
    def test_in_a_class(self):
        pass
'''
FAST = '''
def test_fast():
    pass
'''


def test_each_module_gets_its_tests_and_their_setup_time(tmp_path):
    (tmp_path / "tests" / "sub").mkdir(parents=True)
    (tmp_path / "tests" / "sub" / "test_slow.py").write_text(SLOW)
    (tmp_path / "tests" / "test_fast.py").write_text(FAST)
    report = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           f"--junitxml={report}", "tests"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

    times = suite_times.module_times(report)
    assert set(times) == {"tests/sub/test_slow.py", "tests/test_fast.py"}
    assert times["tests/sub/test_slow.py"]["tests"] == 3 and times["tests/test_fast.py"]["tests"] == 1
    assert times["tests/sub/test_slow.py"]["seconds"] >= 0.5 > times["tests/test_fast.py"]["seconds"]

    printed = suite_times.table(times, top=1).splitlines()
    assert printed[1].endswith("tests/sub/test_slow.py")  # the slowest first
    assert printed[2].endswith("(1 more modules)")
    assert printed[-1].endswith("all 2 modules (summed over the workers)")
