"""Every table a Glue job of the stack declares writing in a checked zone (default: gold) has a Glue Data
Quality ruleset: an `aws.glue.DataQualityRuleset` tagged `lakehouse:table` = `<zone>.<table>` whose
`targetTable` is that table (in the job's `--<zone>_database`, when known) and whose DQDL holds at least
one rule.

Gold is what analysts and downstream systems read: a table published without declared checks can carry
out-of-range rates, duplicate keys or missing rows unnoticed. A job states what it writes in its
`lakehouse:writes` tags (`<zone>.<table>` entries, lakehouse.model.pipelines.declared_write_tags); the
rulesets come from the same pipeline declarations (`quality:`, lakehouse.model.quality), and the job
evaluates the same rules on every run. The job's results table (`dq_results`) is the one exempt table:
it records the checks rather than being checked. A job without the tags is not judged.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, is_map, stack_policy
from .._stack import StackIndex, get

DECLARED_WRITES_TAG = "lakehouse:writes"  # lakehouse.model.pipelines.DECLARED_WRITES_TAG
TABLE_TAG = "lakehouse:table"  # components.data_quality.TABLE_TAG
RESULTS_TABLE = "dq_results"  # lakehouse.model.quality.RESULTS_TABLE
EMPTY_RULESETS = ("", "Rules = []", "Rules = [ ]")


def _declared_tables(job: Any, zones: set[str]) -> list[tuple[str, str]]:
    """(zone, table) of every `<zone>.<table>` entry of the job's write tags in `zones`."""
    tags = get(job.props, "tags")
    if not is_map(tags):
        return []
    keys = [k for k in tags.keys() if k == DECLARED_WRITES_TAG or k.startswith(DECLARED_WRITES_TAG + ":")]
    entries = [e for k in keys for e in str(get(tags, k) or "").split()]
    out = []
    for entry in entries:
        zone, dot, table = entry.partition(".")
        if dot and ":" not in zone and zone in zones and table and table != RESULTS_TABLE:
            out.append((zone, table))
    return out


def _check_rulesets(args: StackValidationArgs, report: ReportViolation, settings: Settings) -> None:
    s = StackIndex(args.resources)
    zones = {str(z) for z in settings["zones"]}
    rulesets: dict[str, list[Any]] = {}
    for r in s.of(T.GLUE_DATA_QUALITY_RULESET):
        tags = get(r.props, "tags")
        if is_map(tags) and isinstance(get(tags, TABLE_TAG), str):
            rulesets.setdefault(get(tags, TABLE_TAG), []).append(r)
    writers: dict[tuple[str, str], list[Any]] = {}  # (zone, table) -> the jobs declaring writing it
    for job in s.of(T.GLUE_JOB):
        for zone, table in _declared_tables(job, zones):
            writers.setdefault((zone, table), []).append(job)
    for (zone, table), jobs in writers.items():  # one report per table, however many jobs write it
        names = ", ".join(sorted(f"'{s.name_of(j, 'name')}'" for j in jobs))
        databases = {d for j in jobs if is_map(arguments := get(j.props, "defaultArguments"))
                     and isinstance(d := get(arguments, f"--{zone}_database"), str)}
        database = next(iter(databases)) if len(databases) == 1 else None
        found = rulesets.get(f"{zone}.{table}", [])
        if not found:
            report(f"{zone} table '{table}' (written by Glue job {names}) has no Glue Data Quality ruleset (no "
                   f"aws.glue.DataQualityRuleset tagged {TABLE_TAG}={zone}.{table}); expected its declared rules as "
                   "a ruleset", jobs[0].urn)
            continue
        for r in found:
            target = get(r.props, "targetTable")
            ruleset = str(get(r.props, "ruleset") or "").strip()
            where = (get(target, "databaseName"), get(target, "tableName")) if is_map(target) else (None, None)
            if where[1] != table or (database is not None and isinstance(where[0], str) and where[0] != database):
                report(f"ruleset '{s.name_of(r, 'name')}' is tagged {TABLE_TAG}={zone}.{table} but targets "
                       f"{where[0]}.{where[1]}; expected {database or '<the ' + zone + ' database>'}.{table}", r.urn)
            elif " ".join(ruleset.split()) in EMPTY_RULESETS:
                report(f"ruleset '{s.name_of(r, 'name')}' of {zone}.{table} holds no rule; expected at least one "
                       "DQDL rule", r.urn)

POLICY = stack_policy(
    name="aws-glue-gold-table-require-data-quality-ruleset",
    description="Every gold table a Glue job writes has a Glue Data Quality ruleset with at least one rule.",
    severity=Severity.MEDIUM,
    remediation="Declare `quality:` rules for the table under the job that writes it in pipelines/<name>.yaml "
                "(docs/data-quality.md); the DataQualityRulesets component turns them into the table's ruleset.",
    check=_check_rulesets,
    config={
        "zones": {
            "type": "array",
            "items": {"type": "string", "enum": ["bronze", "silver", "gold"]},
            "default": ["gold"],
            "description": "Lake zones whose tables need a ruleset.",
        },
    },
    frameworks=(),
    tags=["data-quality", "glue"],
)
