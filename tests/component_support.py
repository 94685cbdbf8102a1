"""Helpers for the foundation component tests: mock runs, fixture specs, IAM linting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from lakehouse.model.config import JobSettings
from lakehouse.model.names import AwsContext
from lakehouse.offline import ACCOUNT, LakehouseMocks, StackEvaluation, run_program

REGION = "eu-west-1"  # not the stacks' region, so nothing passes by accident
CTX = AwsContext(ACCOUNT, REGION)
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "foundation"
BLOCKING_SEVERITIES = {"MEDIUM", "HIGH", "CRITICAL"}
# parliament rates a misspelt action LOW; for generated documents that is a bug all the same
BLOCKING_LOW_ISSUES = {"UNKNOWN_ACTION", "UNKNOWN_PREFIX"}


def run(build: Callable[[], Any], mocks: LakehouseMocks | None = None) -> StackEvaluation:
    """Run `build` (creating components) under mocks in a test stack."""
    return run_program(build, stack="test", config_values={"aws:region": REGION},
                       mocks=mocks or LakehouseMocks(region=REGION))


def policy_doc(value: Any) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def settings(**overrides: Any) -> JobSettings:
    base = dict(glue_version="5.0", worker_type="G.1X", number_of_workers=2, timeout_minutes=60, max_retries=0,
                execution_class="FLEX", auto_scaling=False, max_concurrent_runs=1, job_run_queuing=True,
                notify_delay_minutes=15, spark_ui=True)
    return JobSettings(**{**base, **overrides})


def parliament_findings(doc: dict, trust: bool = False) -> list[tuple[str, str, str]]:
    """(issue, severity, detail) of parliament's findings above LOW, and unknown actions.

    Accepted LOW finding: RESOURCE_STAR, on key policies (a key policy's Resource is always
    "*": the key itself) and on cloudwatch:PutMetricData (no resource-level permission;
    constrained by cloudwatch:namespace).

    A trust policy has no Resource element (it applies to the role): parliament is given
    one so it checks the rest instead of stopping at MALFORMED.

    Not a finding: a condition key AWS lists under the resource type the action works on
    (kms:ResourceAliases on a key), which parliament misses (the pack's resource_bound_condition).
    RESOURCE_MISMATCH is judged over the document, as IAM authorizes each resource of a call
    against every statement (the pack's resource_mismatches), not per statement as parliament does.
    """
    import parliament

    from policy.lakehouse_policies.iam.policy_lint_parliament import resource_bound_condition, resource_mismatches

    if trust:
        doc = {**doc, "Statement": [{**st, "Resource": "*"} for st in doc["Statement"]]}
    findings = [parliament.enhance_finding(f) for f in parliament.analyze_policy_string(json.dumps(doc)).findings
                if not (f.issue == "UNKNOWN_CONDITION_FOR_ACTION" and resource_bound_condition(f.detail))
                and f.issue != "RESOURCE_MISMATCH"]
    return [(f.issue, f.severity, str(f.detail)) for f in findings
            if f.severity in BLOCKING_SEVERITIES or f.issue in BLOCKING_LOW_ISSUES] + [
        ("RESOURCE_MISMATCH", "MEDIUM", m) for m in resource_mismatches(doc)]


def lake_names_fixture():
    """Names of a small test stack (prefix lh, stack test), independent of the repo's stack files."""
    from lakehouse.model.names import LakeNames
    from lakehouse.model.zones import BUCKET_ROLES

    return LakeNames(
        base="lh-test",
        buckets={r: f"lh-test-{r}-{ACCOUNT}" for r in BUCKET_ROLES},
        databases={"bronze": "lh_test_bronze", "silver": "lh_test_silver", "gold": "lh_test_gold"},
        key_alias="alias/lh-test-lake",
        security_configuration="lh-test-jobs",
        alerts_topic="lh-test-alerts",
        log_group_prefix="/aws-glue/jobs/lh-test-",
    )
