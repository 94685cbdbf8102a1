"""The Pulumi program reads every key of the stack's configuration and refuses what it does not know.

Issue 20: the program read only the keys declared in Pulumi.yaml, so a misspelled key or namespace
was silently ignored (the runner, reading the whole stack file, refused it). Now both read every key
and share one validation: a bad configuration fails before any resource is registered, whether the
configuration arrives through set_all_config (mocks, Automation API) or PULUMI_CONFIG (the engine).
"""

from __future__ import annotations

import pytest

from lakehouse.model.config import PROJECT, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.offline import LakehouseMocks, evaluate_stack


def refused(stack: str, values: dict) -> list[str]:
    mocks = LakehouseMocks()
    with pytest.raises(ConfigError) as e:
        evaluate_stack(stack, values, mocks=mocks)
    assert mocks.created == [] and mocks.calls == []  # nothing registered, no provider call
    return e.value.problems


@pytest.mark.parametrize("key, value, expected", [
    (f"{PROJECT}:alertEmial", "ops@example.com",
     "glue-lakehouse:alertEmial: got 'ops@example.com'; allowed: one of the keys declared in Pulumi.yaml "
     "(did you mean glue-lakehouse:alertEmail?)"),
    (f"{PROJECT}:dbDeletionProtecton", True,
     "glue-lakehouse:dbDeletionProtecton: got 'true'; allowed: one of the keys declared in Pulumi.yaml "
     "(did you mean glue-lakehouse:dbDeletionProtection?)"),
    ("glue-lakehuose:costCenter", "cc-1",
     "glue-lakehuose:costCenter: got 'cc-1'; allowed: a key of the namespaces glue-lakehouse (the keys of "
     "Pulumi.yaml), aws (aws:region) or pulumi (did you mean glue-lakehouse:costCenter?)"),
    ("aws:regoin", "eu-west-1",
     "aws:regoin: got 'eu-west-1'; allowed: aws:region, the one aws: key the program reads (the stack's "
     "provider takes nothing else from the stack config) (did you mean aws:region?)"),
])
def test_the_program_refuses_unknown_keys_and_namespaces(key, value, expected):
    assert refused("prod", {**stack_file_values("prod"), key: value}) == [expected]


def test_a_null_owner_is_refused_not_tagged_null():
    values = {**stack_file_values("dev"), f"{PROJECT}:owner": None}
    assert refused("dev", values) == [
        "glue-lakehouse:owner: got 'null'; allowed: a string in Pulumi.dev.yaml, not null "
        "(required: Team or person owning the stack (Owner tag, required))"]


def test_a_schedule_aws_would_refuse_never_reaches_the_trigger():
    values = {**stack_file_values("prod"), f"{PROJECT}:workflowSchedule": "cron(99 99 * * * *)"}
    (problem,) = refused("prod", values)
    assert problem.startswith("glue-lakehouse:workflowSchedule: got 'cron(99 99 * * * *)'; allowed: a Glue cron "
                              "expression cron(minutes hours day-of-month month day-of-week year)")
    assert "minutes: 99 is not 0-59; hours: 99 is not 0-23" in problem


def test_a_pipeline_entry_that_is_a_mapping_is_a_config_error():
    values = {**stack_file_values("dev"), f"{PROJECT}:pipelines": [{"name": "fhir"}]}
    assert refused("dev", values) == [
        "glue-lakehouse:pipelines[0]: got {'name': 'fhir'}; allowed: a string "
        "(Pipelines to deploy, by file name in pipelines/ (e.g. fhir))"]
