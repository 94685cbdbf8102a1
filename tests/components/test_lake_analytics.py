"""LakeAnalytics in both stacks under mocks: the workgroup's enforced configuration, the analyst role's
documents from lakehouse.model.iam, the named queries of the deployed gold tables."""

from __future__ import annotations

import json

import pytest

from lakehouse.model.analytics import ATHENA_ENGINE_VERSION, gold_tables, headline_queries
from lakehouse.model.config import load_stack_config
from lakehouse.model.iam import AnalystGrant, analyst_role_policy, analyst_trust_policy
from lakehouse.model.names import AwsContext, lake_names
from lakehouse.offline import ACCOUNT, evaluate_stack


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request):
    return request.param, evaluate_stack(request.param)


def test_the_workgroup_enforces_encrypted_results_a_cutoff_and_a_pinned_engine(stack):
    name, ev = stack
    cfg = load_stack_config(name)
    names = lake_names(cfg, ACCOUNT)
    wg = ev.get("aws:athena/workgroup:Workgroup", "analytics-workgroup").inputs
    key = ev.of_type("aws:kms/key:Key")[0]
    assert wg["name"] == f"lakehouse-{name}-analytics" and wg["state"] == "ENABLED"
    assert wg["forceDestroy"] is cfg.buckets.force_destroy
    assert wg["configuration"] == {
        "enforceWorkgroupConfiguration": True,
        "publishCloudwatchMetricsEnabled": True,
        "bytesScannedCutoffPerQuery": cfg.athena_bytes_cutoff_mb * 1_000_000,
        "requesterPaysEnabled": False,
        "engineVersion": {"selectedEngineVersion": ATHENA_ENGINE_VERSION},
        "resultConfiguration": {
            "outputLocation": f"s3://{names.buckets['temp']}/athena-results/",
            "expectedBucketOwner": ACCOUNT,
            "encryptionConfiguration": {"encryptionOption": "SSE_KMS",
                                        "kmsKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key.id}"}},
    }


def test_the_analyst_role_has_the_models_documents_and_the_analyst_tag(stack):
    name, ev = stack
    cfg = load_stack_config(name)
    names = lake_names(cfg, ACCOUNT)
    ctx = AwsContext(ACCOUNT, "us-east-1")
    role = ev.get("aws:iam/role:Role", "analytics-analyst")
    assert role.inputs["name"] == f"lakehouse-{name}-analyst"
    assert role.inputs["tags"]["lakehouse:access"] == "analyst"
    assert json.loads(role.inputs["assumeRolePolicy"]) == analyst_trust_policy(ctx)
    policy = ev.get("aws:iam/rolePolicy:RolePolicy", "analytics-analyst-policy")
    assert json.loads(policy.inputs["policy"]) == analyst_role_policy(ctx, AnalystGrant(
        workgroup=names.workgroup, gold_bucket=names.buckets["gold"], gold_database=names.databases["gold"],
        gold_tables=gold_tables(cfg.pipelines), results_bucket=names.buckets["temp"],
        results_prefix="athena-results/", key_alias=names.key_alias))
    # the shipped stacks' gold, orders' included (the table list itself: tests/model/test_analytics.py)
    assert {"climate_daily_metrics", "cms_facility_monthly", "orders_daily_revenue"} <= set(gold_tables(cfg.pipelines))


def test_one_named_query_per_headline_question_on_the_gold_database(stack):
    name, ev = stack
    cfg = load_stack_config(name)
    queries = {q.inputs["name"]: q.inputs for q in ev.of_type("aws:athena/namedQuery:NamedQuery")}
    assert sorted(queries) == sorted(q.name for q in headline_queries(cfg.pipelines))
    for q in headline_queries(cfg.pipelines):
        assert queries[q.name]["query"] == q.sql
        assert queries[q.name]["database"] == f"lakehouse_{name}_gold"
        assert queries[q.name]["workgroup"] == f"lakehouse-{name}-analytics"
