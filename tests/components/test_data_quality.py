"""DataQualityRulesets in both stacks under mocks: one Glue DQDL ruleset per table with declared rules,
on that table of its zone's database, holding exactly the rules the job writing it evaluates."""

from __future__ import annotations

import json

import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.model.quality import render_ruleset, rules_by_table, ruleset_name
from lakehouse.offline import evaluate_stack


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request):
    return request.param, evaluate_stack(request.param)


def test_each_table_with_rules_has_its_ruleset_and_the_job_gets_the_same_rules(stack):
    name, ev = stack
    cfg = load_stack_config(name)
    expected = {(z, t): (job, rules) for p in cfg.pipelines for job in p.jobs
                for (z, t), rules in rules_by_table(job.quality).items()}
    assert expected, "the stack declares no data-quality rule"
    rulesets = {r.inputs["tags"]["lakehouse:table"]: r.inputs
                for r in ev.of_type("aws:glue/dataQualityRuleset:DataQualityRuleset")}
    assert sorted(rulesets) == sorted(f"{z}.{t}" for z, t in expected)
    for (zone, table), (job, rules) in expected.items():
        r = rulesets[f"{zone}.{table}"]
        assert r["name"] == ruleset_name(cfg.resource_name(), zone, table)
        assert r["ruleset"] == render_ruleset(rules)
        assert r["targetTable"] == {"databaseName": cfg.database_name(zone), "tableName": table}
        assert r["tags"]["lakehouse:job"] == job.key
        # the deployed job receives the very rules of its tables' rulesets
        deployed = [g for g in ev.of_type("aws:glue/job:Job") if g.inputs["name"] == cfg.resource_name(
            job.pipeline, job.name)]
        assert len(deployed) == 1
        sent = json.loads(deployed[0].inputs["defaultArguments"]["--quality_rules"])
        assert [s["dqdl"] for s in sent if (s["zone"], s["table"]) == (zone, table)] == [x.dqdl for x in rules]
