"""Data-quality rules as the job evaluates them: the rules of `--quality_rules` (derived from the
pipeline declaration by lakehouse.model.quality, the same rules as the tables' Glue
DataQualityRulesets) and one pure function per rule type over a DataFrame.

Each evaluation returns an `Outcome`: the rule, whether it passed, the observed value (the metric
Glue Data Quality reports for that rule type: a row count or a fraction of rows) and a sentence
saying what was seen. Glue's own EvaluateDataQuality transform (awsgluedq) exists only inside Glue,
not on PyPI, so the same code evaluates the rules locally and on Glue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .args import JobArgumentError

RULE_TYPES = ("RowCount", "IsComplete", "Completeness", "IsUnique", "Uniqueness", "IsPrimaryKey", "ColumnValues")
SEVERITIES = ("fail", "warn")


class QualityError(RuntimeError):
    """A `fail` rule was breached, or a rule names a column the table does not have. `quality`: the
    outcome of every rule evaluated (as_dict), for the run report."""

    def __init__(self, message: str, quality: list[dict] | None = None):
        super().__init__(message)
        self.quality = list(quality or [])


@dataclass(frozen=True)
class Rule:
    zone: str
    table: str
    rule: str  # a DQDL rule type (RULE_TYPES)
    columns: tuple[str, ...]
    min: float | None
    max: float | None
    values: tuple[str, ...]  # ColumnValues ... in [...]
    nulls_allowed: bool  # ColumnValues: only the values present are checked
    severity: str  # fail | warn
    dqdl: str  # the rule's DQDL text, as in the table's DataQualityRuleset


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    passed: bool
    observed: float
    detail: str


def parse_rules(value: str | None) -> tuple[Rule, ...]:
    """The rules of --quality_rules (a JSON list); () when unset. JobArgumentError when malformed."""
    if value in (None, ""):
        return ()
    try:
        items = json.loads(value)
        rules = tuple(Rule(zone=i["zone"], table=i["table"], rule=i["rule"], columns=tuple(i["columns"]),
                           min=i["min"], max=i["max"], values=tuple(i["in"]), nulls_allowed=bool(i["nulls_allowed"]),
                           severity=i["severity"], dqdl=i["dqdl"]) for i in items)
    except (ValueError, KeyError, TypeError) as e:
        raise JobArgumentError([f"--quality_rules: got {value[:200]!r}; allowed: the JSON list of rules derived "
                                f"from the pipeline declaration ({type(e).__name__}: {e})"]) from None
    bad = [r.dqdl for r in rules if r.rule not in RULE_TYPES or r.severity not in SEVERITIES]
    if bad:
        raise JobArgumentError([f"--quality_rules: rules {bad}; allowed: rule types {list(RULE_TYPES)} with "
                                f"severity {' | '.join(SEVERITIES)}"])
    return rules


# --- one pure function per rule type -------------------------------------------------------------
# The rules that need only column aggregates (row counts, nulls, bounds, key completeness) share one
# aggregate over the table: on tiny and large tables alike one scan, not one query per rule (the FHIR
# silver job alone has 14 rules). Uniqueness and primary keys add one group-by each.

Row = dict  # a rule's aggregates, by name


def _fraction(part: int, whole: int) -> float:
    return 1.0 if whole == 0 else part / whole  # an empty table breaches no per-row rule


def _fmt(v: float | None) -> str:
    return "none" if v is None else (str(int(v)) if float(v).is_integer() else f"{v:.6g}")


def row_count_aggregates(r: Rule) -> dict:
    return {"n": F.count(F.lit(1))}


def row_count(df: DataFrame, r: Rule, row: Row) -> Outcome:
    n = row["n"]
    ok = (r.min is None or n >= r.min) and (r.max is None or n <= r.max)
    return Outcome(r, ok, float(n), f"{n} rows")


def completeness_aggregates(r: Rule) -> dict:
    return {"n": F.count(F.lit(1)), "present": F.count(F.col(r.columns[0]))}


def completeness(df: DataFrame, r: Rule, row: Row) -> Outcome:
    """IsComplete (every value present) and Completeness (at least `min` of the values present)."""
    observed = _fraction(row["present"], row["n"])
    ok = row["present"] == row["n"] if r.rule == "IsComplete" else observed >= r.min
    return Outcome(r, ok, observed, f"{row['n'] - row['present']} of {row['n']} rows null")


def uniqueness(df: DataFrame, r: Rule, row: Row) -> Outcome:
    """IsUnique and Uniqueness: the fraction of the non-null values that occur exactly once."""
    c = r.columns[0]
    counts = df.where(F.col(c).isNotNull()).groupBy(c).count()
    row = counts.agg(F.coalesce(F.sum("count"), F.lit(0)).alias("n"),
                     F.coalesce(F.sum(F.when(F.col("count") == 1, 1)), F.lit(0)).alias("once"),
                     F.count(F.when(F.col("count") > 1, 1)).alias("repeated")).first()
    observed = _fraction(row["once"], row["n"])
    ok = row["once"] == row["n"] if r.rule == "IsUnique" else observed >= r.min
    return Outcome(r, ok, observed, f"{row['repeated']} values repeated, over {row['n'] - row['once']} of "
                                    f"{row['n']} non-null rows")


def _key_complete(r: Rule):
    complete = F.lit(True)
    for c in r.columns:
        complete = complete & F.col(c).isNotNull()
    return complete


def primary_key_aggregates(r: Rule) -> dict:
    return {"n": F.count(F.lit(1)), "incomplete": F.count(F.when(~_key_complete(r), 1))}


def primary_key(df: DataFrame, r: Rule, row: Row) -> Outcome:
    """IsPrimaryKey: every row's key complete and no key on two rows. Observed: the fraction of rows
    whose key is complete and occurs once."""
    counts = df.where(_key_complete(r)).groupBy(*r.columns).count()
    once = counts.agg(F.coalesce(F.sum(F.when(F.col("count") == 1, 1)), F.lit(0)).alias("once"),
                      F.count(F.when(F.col("count") > 1, 1)).alias("repeated")).first()
    observed = _fraction(once["once"], row["n"])
    return Outcome(r, once["once"] == row["n"], observed,
                   f"{row['incomplete']} of {row['n']} rows with a null key column, {once['repeated']} keys repeated")


def _meets(r: Rule):
    """ColumnValues' condition on a present value, and how a breach is described."""
    c = F.col(r.columns[0])
    if r.values:
        return c.isin(*r.values), f"not in {list(r.values)}"
    meets = F.lit(True)
    if r.min is not None:
        meets = meets & (c >= F.lit(r.min))
    if r.max is not None:
        meets = meets & (c <= F.lit(r.max))
    lo = _fmt(r.min) if r.min is not None else "-inf"
    return meets, f"outside [{lo}, {_fmt(r.max) if r.max is not None else 'inf'}]"


def column_values_aggregates(r: Rule) -> dict:
    c = F.col(r.columns[0])
    meets, _ = _meets(r)
    # with nulls allowed only the values present count; otherwise a NULL is a row that fails
    n = F.count(c) if r.nulls_allowed else F.count(F.lit(1))
    return {"n": n, "ok": F.count(F.when(F.coalesce(meets, F.lit(False)), 1)), "lo": F.min(c), "hi": F.max(c)}


def column_values(df: DataFrame, r: Rule, row: Row) -> Outcome:
    """ColumnValues: the fraction of rows whose value meets the rule (inclusive bounds, or one of
    `values`); a NULL fails it unless nulls are allowed, then only the values present count."""
    _, what = _meets(r)
    bad = row["n"] - row["ok"]
    seen = "" if r.values else f"; min {_fmt(row['lo'])}, max {_fmt(row['hi'])}"
    return Outcome(r, bad == 0, _fraction(row["ok"], row["n"]), f"{bad} of {row['n']} rows {what}{seen}")


def _no_aggregates(r: Rule) -> dict:
    return {}


# per rule type: (its column aggregates, computed in the one shared pass; the judgement from them)
EVALUATORS: dict[str, tuple[Callable[[Rule], dict], Callable[[DataFrame, Rule, Row], Outcome]]] = {
    "RowCount": (row_count_aggregates, row_count),
    "IsComplete": (completeness_aggregates, completeness), "Completeness": (completeness_aggregates, completeness),
    "IsUnique": (_no_aggregates, uniqueness), "Uniqueness": (_no_aggregates, uniqueness),
    "IsPrimaryKey": (primary_key_aggregates, primary_key),
    "ColumnValues": (column_values_aggregates, column_values),
}


def evaluate(df: DataFrame, rules: tuple[Rule, ...] | list[Rule], name: str) -> list[Outcome]:
    """Every rule over `df` (the table `name`, for messages), in order. A rule naming a column the
    table does not have is a QualityError whatever its severity: the declaration and the table disagree."""
    have = set(df.columns)
    missing = sorted({c for r in rules for c in r.columns if c not in have})
    if missing:
        raise QualityError(f"{name}: data-quality rules name columns {missing} the table does not have; "
                           f"its columns: {sorted(have)}")
    wanted = [EVALUATORS[r.rule][0](r) for r in rules]
    exprs = [e.alias(f"r{i}_{k}") for i, aggs in enumerate(wanted) for k, e in aggs.items()]
    shared = df.agg(*exprs).first().asDict() if exprs else {}
    return [EVALUATORS[r.rule][1](df, r, {k: shared[f"r{i}_{k}"] for k in wanted[i]}) for i, r in enumerate(rules)]


def breaches(outcomes: list[Outcome], severity: str) -> list[Outcome]:
    return [o for o in outcomes if not o.passed and o.rule.severity == severity]


def describe(o: Outcome) -> str:
    """One line naming the table, the rule, its severity and what was observed."""
    return (f"{o.rule.zone}.{o.rule.table}: {o.rule.dqdl} [{o.rule.severity}] observed {o.observed:.6g} "
            f"({o.detail})")


def as_dict(o: Outcome) -> dict[str, Any]:
    """What the run's result (and so the run report) carries per evaluated rule."""
    return {"table": f"{o.rule.zone}.{o.rule.table}", "rule": o.rule.dqdl, "type": o.rule.rule,
            "severity": o.rule.severity, "passed": o.passed, "observed": o.observed, "detail": o.detail}
