"""DataQualityRulesets: one AWS Glue Data Quality ruleset (DQDL) per lake table that has declared rules.

The rules come from the pipeline declarations (`quality:` per job, lakehouse.model.quality) and
are rendered to DQDL there; the same rules reach the job that writes the table as its
`--quality_rules` argument, and the job evaluates them itself after (or, for a full refresh,
before) its write, so no Glue Data Quality run and no extra IAM permission is involved. The rulesets
put those rules in the Data Catalog beside their tables, where Glue Data Quality's console and APIs
(StartDataQualityRulesetEvaluationRun) can run them against the same tables.

Each ruleset is tagged `lakehouse:table` = `<zone>.<table>` and `lakehouse:job` = the job that
evaluates it, so that the policy pack (which imports nothing of lakehouse) can match rulesets to the
tables the jobs declare writing (their `lakehouse:writes` tags).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from lakehouse.model.pipelines import JobSpec
from lakehouse.model.quality import render_ruleset, rules_by_table, ruleset_name

TYPE = "glue-lakehouse:components:DataQualityRulesets"
TABLE_TAG = "lakehouse:table"
JOB_TAG = "lakehouse:job"


@dataclass(frozen=True)
class DataQualityRulesetsArgs:
    jobs: Sequence[JobSpec]  # every deployed job; those with quality rules get rulesets
    databases: Mapping[str, pulumi.Input[str]]  # lake zone -> Glue database name
    name_prefix: str  # <namePrefix>-<stack>


class DataQualityRulesets(pulumi.ComponentResource):
    rulesets: dict[str, aws.glue.DataQualityRuleset]  # "<zone>.<table>" -> ruleset

    def __init__(self, name: str, args: DataQualityRulesetsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        self.rulesets = {}
        for job in args.jobs:
            for (zone, table), rules in rules_by_table(job.quality).items():
                self.rulesets[f"{zone}.{table}"] = aws.glue.DataQualityRuleset(
                    f"{name}-{zone}-{table}".replace("_", "-"),
                    name=ruleset_name(args.name_prefix, zone, table),
                    description=f"{zone}.{table}: declared in pipelines/{job.pipeline}.yaml, evaluated by {job.key} "
                                "on every run (docs/data-quality.md)",
                    ruleset=render_ruleset(rules),
                    target_table=aws.glue.DataQualityRulesetTargetTableArgs(
                        database_name=args.databases[zone], table_name=table),
                    tags={TABLE_TAG: f"{zone}.{table}", JOB_TAG: job.key},
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs({"rulesets": {k: r.name for k, r in self.rulesets.items()}})
