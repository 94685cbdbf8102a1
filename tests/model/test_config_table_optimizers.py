"""The `tableOptimizers` stack config key and the pure model of Glue table optimizers
(lakehouse.model.table_optimizers): which tables may be listed, which optimizers each gets, the role's policy."""

from __future__ import annotations

import pytest
from component_support import parliament_findings

from lakehouse.model.config import load_stack_config, parse_stack_config, project_schema, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import glue_trust_policy, table_optimizer_role_policy
from lakehouse.model.names import AwsContext, lake_names
from lakehouse.model.table_optimizers import (
    COMPACTION,
    LOG_GROUPS,
    ORPHAN_FILE_DELETION,
    RETENTION,
    TableOptimizerGrant,
    optimizable_tables,
    optimizer_configuration,
)

KEY = "glue-lakehouse:tableOptimizers"
CTX = AwsContext("123456789012", "eu-west-1")


def prod_with(tables) -> dict:
    values = stack_file_values("prod")
    values[KEY] = tables
    return values


def problems_of(values: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_stack_config("prod", values)
    return err.value.problems


def test_the_key_is_declared_and_empty_by_default():
    assert project_schema()["tableOptimizers"]["default"] == []
    assert load_stack_config("prod").table_optimizers == () and load_stack_config("dev").table_optimizers == ()


def test_listed_tables_are_parsed_with_their_pipelines_maintenance_settings():
    cfg = parse_stack_config("prod", prod_with(["silver.encounters", "bronze.fhir_patient", "gold.dq_results"]))
    by_key = {t.key: t for t in cfg.table_optimizers}
    assert list(by_key) == ["silver.encounters", "bronze.fhir_patient", "gold.dq_results"]  # as listed
    assert by_key["gold.dq_results"].pipelines == ("fhir", "climate", "orders")  # one table, three writers
    assert by_key["silver.encounters"].snapshot_retention_hours == 168
    assert by_key["silver.encounters"].orphan_file_age_hours == 72
    # pulumi config set --path hands arrays as JSON text
    from_cli = parse_stack_config("prod", prod_with('["silver.encounters"]'))
    assert [t.key for t in from_cli.table_optimizers] == ["silver.encounters"]


def test_a_table_no_pipeline_writes_is_refused_naming_key_value_and_allowed():
    problems = problems_of(prod_with(["silver.encounter", "raw.fhir", "silver.encounters", "silver.encounters"]))
    assert len(problems) == 3
    typo, raw, repeated = problems
    assert typo.startswith(f"{KEY}[0]: got 'silver.encounter'; allowed: an Iceberg table the deployed pipelines "
                           "write, as <zone>.<table>")
    assert "'bronze.fhir_patient'" in typo and "'gold.cms_facility_monthly'" in typo
    assert typo.endswith("(did you mean silver.encounters?)")
    assert raw.startswith(f"{KEY}[1]: got 'raw.fhir'; allowed:")  # a crawler's raw table is not Iceberg
    assert repeated == f"{KEY}[3]: got 'silver.encounters'; allowed: each table once"


def test_only_tables_of_the_deployed_pipelines_are_allowed():
    values = prod_with(["gold.climate_daily_metrics"])
    values["glue-lakehouse:pipelines"] = ["fhir"]
    [problem] = problems_of(values)
    assert problem.startswith(f"{KEY}[0]: got 'gold.climate_daily_metrics'; allowed:")
    assert "climate" not in problem.partition("allowed:")[2]


def test_a_value_that_is_not_a_list_is_refused():
    problems = problems_of(prod_with("silver.encounters"))
    assert problems == [f"{KEY}: got 'silver.encounters'; allowed: a list (a JSON array when set with "
                        "`pulumi config set --path`)"]


def test_checkpointed_bronze_tables_get_no_retention_optimizer():
    tables = optimizable_tables(load_stack_config("prod").pipelines)
    # fhir's maintenance job: --checkpoints silver.fhir_checkpoints=bronze (the checkpoint names bronze tables)
    checkpointed = sorted(k for k, t in tables.items() if t.checkpointed)
    assert checkpointed == ["bronze.fhir_condition", "bronze.fhir_encounter", "bronze.fhir_ingested_files",
                            "bronze.fhir_patient", "bronze.fhir_quarantine"]
    assert tables["bronze.fhir_patient"].optimizer_types == (COMPACTION, ORPHAN_FILE_DELETION)
    assert tables["bronze.orders_orders"].optimizer_types == (COMPACTION, RETENTION, ORPHAN_FILE_DELETION)
    assert tables["silver.fhir_checkpoints"].optimizer_types == (COMPACTION, RETENTION, ORPHAN_FILE_DELETION)
    with pytest.raises(ValueError, match="no retention optimizer on a checkpointed table"):
        optimizer_configuration(tables["bronze.fhir_patient"], RETENTION)


def test_configurations_follow_the_maintenance_settings_in_whole_days():
    table = optimizable_tables(load_stack_config("prod").pipelines)["silver.encounters"]
    assert optimizer_configuration(table, COMPACTION) == {"compactionConfiguration": {"icebergConfiguration": {
        "strategy": "binpack", "minInputFiles": 5}}}
    assert optimizer_configuration(table, RETENTION) == {"retentionConfiguration": {"icebergConfiguration": {
        "snapshotRetentionPeriodInDays": 7, "numberOfSnapshotsToRetain": 1, "cleanExpiredFiles": True,
        "runRateInHours": 24}}}
    # 50 hours round up to 3 days: never shorter than declared (a younger file may be a write in flight)
    longer = type(table)(**{**table.__dict__, "orphan_file_age_hours": 50})
    assert optimizer_configuration(longer, ORPHAN_FILE_DELETION) == {"orphanFileDeletionConfiguration": {
        "icebergConfiguration": {"orphanFileRetentionPeriodInDays": 3, "runRateInHours": 24}}}


def grant(*keys: str) -> TableOptimizerGrant:
    cfg = parse_stack_config("prod", prod_with(list(keys)))
    names = lake_names(cfg, CTX.account_id)
    return TableOptimizerGrant(role_name="lakehouse-prod-table-optimizers", tables=cfg.table_optimizers,
                               buckets=names.buckets, databases=names.databases, key_alias=names.key_alias)


def test_the_role_policy_names_exactly_the_listed_tables():
    doc = table_optimizer_role_policy(CTX, grant("silver.encounters", "bronze.fhir_patient"))
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["RewriteTableObjects"]["Resource"] == [
        "arn:aws:s3:::lakehouse-prod-bronze-123456789012/fhir_patient/*",
        "arn:aws:s3:::lakehouse-prod-silver-123456789012/encounters/*"]
    assert by_sid["RewriteTableObjects"]["Action"] == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert by_sid["ListPrefixesLakehouseProdSilver123456789012"]["Condition"] == {
        "StringLike": {"s3:prefix": ["encounters/", "encounters/*"]}}
    assert by_sid["UpdateOptimizedTables"]["Action"] == ["glue:GetTable", "glue:UpdateTable"]
    assert by_sid["UpdateOptimizedTables"]["Resource"] == [
        "arn:aws:glue:eu-west-1:123456789012:catalog",
        "arn:aws:glue:eu-west-1:123456789012:database/lakehouse_prod_bronze",
        "arn:aws:glue:eu-west-1:123456789012:database/lakehouse_prod_silver",
        "arn:aws:glue:eu-west-1:123456789012:table/lakehouse_prod_bronze/fhir_patient",
        "arn:aws:glue:eu-west-1:123456789012:table/lakehouse_prod_silver/encounters"]
    key = by_sid["UseLakeKey"]
    assert key["Condition"]["StringEquals"]["kms:ViaService"] == ["glue.eu-west-1.amazonaws.com",
                                                                 "s3.eu-west-1.amazonaws.com"]
    assert key["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": "alias/lakehouse-prod-lake"}
    assert by_sid["WriteOptimizerLogGroups"]["Resource"] == [
        f"arn:aws:logs:eu-west-1:123456789012:log-group:{LOG_GROUPS[t]}:*"
        for t in (COMPACTION, RETENTION, ORPHAN_FILE_DELETION)]


def test_only_the_log_groups_of_optimizers_in_use_are_granted():
    only_checkpointed = grant("bronze.fhir_patient")  # no retention optimizer
    assert only_checkpointed.log_groups == (LOG_GROUPS[COMPACTION], LOG_GROUPS[ORPHAN_FILE_DELETION])
    doc = table_optimizer_role_policy(CTX, only_checkpointed)
    logs = next(s for s in doc["Statement"] if s["Sid"] == "WriteOptimizerLogGroups")
    assert not any("iceberg-retention" in r for r in logs["Resource"])


def test_an_empty_grant_is_refused():
    with pytest.raises(ValueError, match="at least one table"):
        table_optimizer_role_policy(CTX, grant())


def test_the_role_and_its_trust_pass_parliament():
    assert parliament_findings(table_optimizer_role_policy(CTX, grant("silver.encounters", "gold.dq_results",
                                                                      "bronze.fhir_patient"))) == []
    assert parliament_findings(glue_trust_policy(CTX), trust=True) == []
