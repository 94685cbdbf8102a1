"""Data-quality rules: declared per job in pipelines/*.yaml (`quality:`), rendered as an AWS Glue
DQDL ruleset per table (the stack's aws.glue.DataQualityRuleset) and handed to the job that writes
the table (`--quality_rules`), which evaluates the same rules itself after its write
(lakelib.runtime.quality) and records the outcome in `<zone>.dq_results` (docs/data-quality.md).

The vocabulary is small and maps one to one to DQDL rule types (AWS Glue developer guide, "DQDL
rule type reference"; grammar: github.com/awslabs/dqdl):

| rule | keys | DQDL |
|---|---|---|
| RowCount | min and/or max (whole numbers) | RowCount >= 1 |
| IsComplete | column | IsComplete "c" |
| Completeness | column, min (a fraction) | Completeness "c" >= 0.95 |
| IsUnique | column | IsUnique "c" |
| Uniqueness | column, min (a fraction) | Uniqueness "c" >= 0.99 |
| IsPrimaryKey | columns (one or more) | IsPrimaryKey "a" "b" |
| ColumnValues | column; min and/or max, or in; nulls | ColumnValues "c" >= 0 |

Every bound is inclusive. DQDL's `between a and b` is exclusive (the reference parser evaluates
`metric > a && metric < b`), so an inclusive range renders as two rules joined by `and`. DQDL fails
a ColumnValues rule on a NULL row; `nulls: allowed` renders `where "c is not null"` so only the
values present are checked (a rate is null where its denominator is 0).
Severity: `fail` (the default) fails the job run; `warn` is recorded and reported only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import Problems
from .zones import LAKE_ZONES

RESULTS_TABLE = "dq_results"  # per zone: every evaluated rule of every run (lakelib.io.quality)
QUALITY_ARGUMENT = "--quality_rules"  # the job argument carrying its rules (JSON), derived from the declaration
SEVERITIES = ("fail", "warn")
NULLS = ("fail", "allowed")
COLUMN_RE = re.compile(r"^[a-z][a-z0-9_]{0,127}$")

# rule type -> (required keys, optional keys) besides table, rule and severity
RULE_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "RowCount": (frozenset(), frozenset({"min", "max"})),
    "IsComplete": (frozenset({"column"}), frozenset()),
    "Completeness": (frozenset({"column", "min"}), frozenset()),
    "IsUnique": (frozenset({"column"}), frozenset()),
    "Uniqueness": (frozenset({"column", "min"}), frozenset()),
    "IsPrimaryKey": (frozenset({"columns"}), frozenset()),
    "ColumnValues": (frozenset({"column"}), frozenset({"min", "max", "in", "nulls"})),
}
RULE_TYPES = tuple(RULE_KEYS)
COMMON_KEYS = frozenset({"table", "rule", "severity"})
FRACTION_RULES = ("Completeness", "Uniqueness")  # min is a fraction of rows, 0..1


@dataclass(frozen=True)
class QualityRule:
    """One declared rule on one lake table. `columns` holds the one column of a column rule, or the
    key columns of IsPrimaryKey; `min`/`max` are inclusive; `values` is ColumnValues' `in` set."""

    zone: str
    table: str
    rule: str
    columns: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    nulls_allowed: bool = False
    severity: str = "fail"

    @property
    def dqdl(self) -> str:
        return render_rule(self)

    def as_argument(self) -> dict[str, Any]:
        """The JSON form the job receives (lakelib.runtime.quality.parse_rules reads it)."""
        return {"zone": self.zone, "table": self.table, "rule": self.rule, "columns": list(self.columns),
                "min": self.min, "max": self.max, "in": list(self.values), "nulls_allowed": self.nulls_allowed,
                "severity": self.severity, "dqdl": self.dqdl}


# --- DQDL ------------------------------------------------------------------------------------

def _quote(name: str) -> str:
    return f'"{name}"'


def _number(value: float) -> str:
    """A DQDL number: integers without a decimal point, others in plain decimals (0.95, never 1e-05)."""
    return str(int(value)) if float(value).is_integer() else f"{float(value):.12f}".rstrip("0")


def _bounded(head: str, lo: float | None, hi: float | None, where: str = "") -> str:
    parts = ([f"{head} >= {_number(lo)}{where}"] if lo is not None else []) + \
            ([f"{head} <= {_number(hi)}{where}"] if hi is not None else [])
    return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)


def render_rule(r: QualityRule) -> str:
    """The DQDL text of one rule."""
    if r.rule == "RowCount":
        return _bounded("RowCount", r.min, r.max)
    if r.rule in ("IsComplete", "IsUnique"):
        return f"{r.rule} {_quote(r.columns[0])}"
    if r.rule in FRACTION_RULES:
        return f"{r.rule} {_quote(r.columns[0])} >= {_number(r.min)}"
    if r.rule == "IsPrimaryKey":
        return "IsPrimaryKey " + " ".join(_quote(c) for c in r.columns)
    if r.rule == "ColumnValues":
        column = r.columns[0]
        where = f' where "{column} is not null"' if r.nulls_allowed else ""
        if r.values:
            return f"ColumnValues {_quote(column)} in [{', '.join(_quote(v) for v in r.values)}]{where}"
        return _bounded(f"ColumnValues {_quote(column)}", r.min, r.max, where)
    raise ValueError(f"rule type {r.rule!r}; allowed: {' | '.join(RULE_TYPES)}")


def render_ruleset(rules: Iterable[QualityRule]) -> str:
    """A DQDL document: `Rules = [ ... ]`, one rule per line, in declaration order."""
    return "Rules = [\n" + ",\n".join(f"    {r.dqdl}" for r in rules) + "\n]"


# --- declaration -------------------------------------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_rule(raw: Any, key: str, tables: Mapping[str, tuple[str, ...]], problems: Problems) -> QualityRule | None:
    """One item of a job's `quality:` list. `tables` maps each lake table the job declares writing to
    the zones it writes it in."""
    if not isinstance(raw, dict):
        problems.add(key, raw, "a mapping with table, rule and the rule's keys")
        return None
    rule = raw.get("rule")
    if rule not in RULE_KEYS:
        problems.add(f"{key}.rule", rule, " | ".join(RULE_TYPES))
        return None
    required, optional = RULE_KEYS[rule]
    allowed = COMMON_KEYS | required | optional
    before = len(problems.items)
    for extra in sorted(set(raw) - allowed):
        problems.add(f"{key}.{extra}", raw[extra], f"one of the keys of a {rule} rule {sorted(allowed)}")
    for missing in sorted(required - set(raw)):
        problems.add(f"{key}.{missing}", None, f"required by a {rule} rule")

    table = raw.get("table")
    zone = None
    if table not in tables:
        problems.add(f"{key}.table", table, f"a lake table the job declares writing: {sorted(tables)}")
    elif table == RESULTS_TABLE:
        problems.add(f"{key}.table", table, f"a table other than {RESULTS_TABLE} (rules do not check the results)")
    elif len(tables[table]) > 1:
        problems.add(f"{key}.table", table, f"a table the job writes in one zone only (it writes it in "
                                            f"{list(tables[table])})")
    else:
        zone = tables[table][0]
    severity = raw.get("severity", "fail")
    if severity not in SEVERITIES:
        problems.add(f"{key}.severity", severity, " | ".join(SEVERITIES))

    columns: tuple[str, ...] = ()
    if "column" in required and "column" in raw:
        column = raw["column"]
        if not isinstance(column, str) or not COLUMN_RE.match(column):
            problems.add(f"{key}.column", column, "a column name matching " + COLUMN_RE.pattern)
        else:
            columns = (column,)
    if "columns" in required and "columns" in raw:
        cols = raw["columns"]
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) and COLUMN_RE.match(c) for c in cols):
            problems.add(f"{key}.columns", cols, "a non-empty list of column names matching " + COLUMN_RE.pattern)
        elif len(set(cols)) != len(cols):
            problems.add(f"{key}.columns", cols, "each column once")
        else:
            columns = tuple(cols)

    lo, hi = raw.get("min"), raw.get("max")
    for name, v in (("min", lo), ("max", hi)):
        if name in raw and not _is_number(v):
            problems.add(f"{key}.{name}", v, "a number")
    if rule == "RowCount":
        if lo is None and hi is None:
            problems.add(key, raw, "min and/or max (whole numbers >= 0) for a RowCount rule")
        for name, v in (("min", lo), ("max", hi)):
            if _is_number(v) and (v < 0 or not float(v).is_integer()):
                problems.add(f"{key}.{name}", v, "a whole number >= 0 (rows)")
    if rule in FRACTION_RULES and _is_number(lo) and not 0 <= lo <= 1:
        problems.add(f"{key}.min", lo, "a fraction of rows from 0 to 1")
    values: tuple[str, ...] = ()
    if rule == "ColumnValues":
        has_range = "min" in raw or "max" in raw
        if "in" in raw:
            v = raw["in"]
            if has_range:
                problems.add(f"{key}.in", v, "either in or min/max, not both")
            elif not isinstance(v, list) or not v or not all(isinstance(x, str) and '"' not in x for x in v):
                problems.add(f"{key}.in", v, "a non-empty list of strings without double quotes")
            else:
                values = tuple(v)
        elif not has_range:
            problems.add(key, raw, "min and/or max, or in, for a ColumnValues rule")
    if _is_number(lo) and _is_number(hi) and lo > hi:
        problems.add(f"{key}.max", hi, f"a number >= min ({lo})")
    nulls = raw.get("nulls", "fail")
    if nulls not in NULLS:
        problems.add(f"{key}.nulls", nulls, " | ".join(NULLS) + " (allowed: only the values present are checked)")

    if len(problems.items) > before or zone is None:
        return None
    return QualityRule(zone=zone, table=str(table), rule=str(rule), columns=columns,
                       min=float(lo) if _is_number(lo) else None, max=float(hi) if _is_number(hi) else None,
                       values=values, nulls_allowed=nulls == "allowed", severity=str(severity))


def parse_quality(raw: Any, key: str, writes: Iterable[tuple[str, str]], problems: Problems) -> tuple[QualityRule, ...]:
    """A job's `quality:` list. `writes` are the (zone, table) pairs the job declares writing; a job
    with rules must also declare writing `<zone>.dq_results` for each zone its rules' tables are in."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(key, raw, "a list of rules ({table, rule, ...})")
        return ()
    writes = set(writes)
    tables: dict[str, tuple[str, ...]] = {}
    for zone, table in sorted(writes, key=lambda w: LAKE_ZONES.index(w[0]) if w[0] in LAKE_ZONES else -1):
        if zone in LAKE_ZONES:
            tables[table] = tables.get(table, ()) + (zone,)
    rules = [r for i, item in enumerate(raw) if (r := parse_rule(item, f"{key}[{i}]", tables, problems))]
    seen: set[tuple[str, str, str]] = set()
    for i, r in enumerate(rules):
        if (r.zone, r.table, r.dqdl) in seen:
            problems.add(f"{key}", r.dqdl, f"each rule once per table ({r.zone}.{r.table} repeats it)")
        seen.add((r.zone, r.table, r.dqdl))
    for zone in sorted({r.zone for r in rules}):
        if (zone, RESULTS_TABLE) not in writes:
            problems.add(f"{key}", f"rules on {zone} tables",
                         f"a job that also declares writing {{zone: {zone}, tables: [{RESULTS_TABLE}]}} "
                         "(where the job records each rule's outcome)")
    return tuple(rules)


def rule_owner_problems(rules_of_job: Mapping[str, Iterable[QualityRule]], source: str = "<inline>") -> Problems:
    """A table's rules are declared by one job (the one whose run evaluates them), so that each table
    has one ruleset and one evaluation per write."""
    problems = Problems()
    owner: dict[tuple[str, str], str] = {}
    for job, rules in rules_of_job.items():
        for table in dict.fromkeys((r.zone, r.table) for r in rules):
            first = owner.setdefault(table, job)
            if first != job:
                problems.add(f"{source}: jobs.{job}.quality", ".".join(table),
                             f"rules on tables no other job declares rules on ({first} does)")
    return problems


def rules_by_table(rules: Iterable[QualityRule]) -> dict[tuple[str, str], tuple[QualityRule, ...]]:
    """(zone, table) -> its rules, in declaration order."""
    out: dict[tuple[str, str], tuple[QualityRule, ...]] = {}
    for r in rules:
        out[(r.zone, r.table)] = out.get((r.zone, r.table), ()) + (r,)
    return out


def quality_argument(rules: Iterable[QualityRule]) -> str:
    """The value of --quality_rules: compact JSON, one object per rule."""
    return json.dumps([r.as_argument() for r in rules], separators=(",", ":"), sort_keys=True)


def ruleset_name(resource_prefix: str, zone: str, table: str) -> str:
    """The Glue DataQualityRuleset name of one table: <prefix>-<stack>-<zone>-<table> (dashes only)."""
    return f"{resource_prefix}-{zone}-{table}".replace("_", "-")
