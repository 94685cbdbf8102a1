"""aws-glue-gold-table-require-data-quality-ruleset on the dev stack the program registers: clean as
shipped; a gold table without its ruleset, a ruleset on another table, an empty ruleset are each
reported with the exact message; silver tables are judged only when the zone is configured."""

from __future__ import annotations

import copy

import pytest

from policy.lakehouse_policies import types as T
from policy.offline import POLICY_DIR, evaluate, load_pack_config, resources_from_program

POLICY = "aws-glue-gold-table-require-data-quality-ruleset"
CONFIG = load_pack_config(POLICY_DIR / "config.dev.json")


@pytest.fixture(scope="module")
def dev_resources():
    from lakehouse.offline import evaluate_stack

    return resources_from_program(evaluate_stack("dev"))


def ruleset(rs, table: str):
    return next(r for r in rs if r.type == T.GLUE_DATA_QUALITY_RULESET and r.inputs["tags"]["lakehouse:table"] == table)


def set_input(r, key: str, value) -> None:
    """An input and the resource's state alike (stack policies read the state)."""
    r.inputs[key] = value
    if r.state:
        r.state[key] = value


def messages(rs, config=CONFIG) -> list[str]:
    return [v.message for v in evaluate(rs, config) if v.policy == POLICY]


def test_the_shipped_stack_has_a_ruleset_for_every_gold_table(dev_resources):
    assert messages(dev_resources) == []
    assert {r.inputs["tags"]["lakehouse:table"] for r in dev_resources if r.type == T.GLUE_DATA_QUALITY_RULESET} >= {
        "gold.cms_facility_monthly", "gold.climate_daily_metrics"}


def test_a_gold_table_without_its_ruleset_is_reported(dev_resources):
    rs = copy.deepcopy(dev_resources)
    rs.remove(ruleset(rs, "gold.cms_facility_monthly"))
    (message,) = messages(rs)
    assert message.startswith("gold table 'cms_facility_monthly' (written by Glue job 'lakehouse-dev-fhir-gold'")
    assert message.endswith(") has no Glue Data Quality ruleset (no aws.glue.DataQualityRuleset tagged "
                            "lakehouse:table=gold.cms_facility_monthly); expected its declared rules as a ruleset")


def test_a_ruleset_on_another_table_or_without_rules_is_reported(dev_resources):
    rs = copy.deepcopy(dev_resources)
    r = ruleset(rs, "gold.cms_facility_monthly")
    set_input(r, "targetTable", {"databaseName": "lakehouse_dev_gold", "tableName": "dq_results"})
    assert messages(rs) == [
        "ruleset 'lakehouse-dev-gold-cms-facility-monthly' is tagged lakehouse:table=gold.cms_facility_monthly but "
        "targets lakehouse_dev_gold.dq_results; expected lakehouse_dev_gold.cms_facility_monthly"]
    rs = copy.deepcopy(dev_resources)
    set_input(ruleset(rs, "gold.cms_facility_monthly"), "ruleset", "Rules = [\n]")
    assert messages(rs) == ["ruleset 'lakehouse-dev-gold-cms-facility-monthly' of gold.cms_facility_monthly holds "
                            "no rule; expected at least one DQDL rule"]


def test_silver_is_judged_when_configured(dev_resources):
    rs = copy.deepcopy(dev_resources)
    rs.remove(ruleset(rs, "silver.patients"))
    assert messages(rs) == []  # default: gold only
    config = {**CONFIG, POLICY: {"zones": ["silver", "gold"]}}
    found = messages(rs, config)
    # fhir.silver also writes tables without rules (quarantine, checkpoints, waiting): all reported, patients too
    assert any(m.startswith("silver table 'patients' (written by Glue job ") and "'lakehouse-dev-fhir-silver'" in m
               for m in found), found
    assert not any("dq_results" in m for m in found)
