"""Fault tolerance, silver and gold: SIGKILL a real runner process at points inside and between their
Iceberg commits, run again; the warehouse must equal a clean run's (tests/fault_support.py)."""

from __future__ import annotations

import pytest
from fault_support import SILVER_GOLD_POINTS, fhir, killed_run_then_rerun_equals_a_clean_run  # noqa: F401

pytestmark = pytest.mark.heavy(minutes=12)


@pytest.mark.parametrize("point", SILVER_GOLD_POINTS, ids=str)
def test_killed_run_then_rerun_equals_a_clean_run(fhir, point, tmp_path):  # noqa: F811  (fixture)
    killed_run_then_rerun_equals_a_clean_run(fhir, point, tmp_path)


