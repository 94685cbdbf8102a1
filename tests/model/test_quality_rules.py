"""Data-quality declarations (lakehouse.model.quality): parsing, refusals naming key, value and what
is allowed, the DQDL each rule renders to, and the declared rules of the real pipelines."""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from lakehouse.model.errors import ConfigError
from lakehouse.model.pipelines import PIPELINES_DIR, load_pipeline, parse_pipeline
from lakehouse.model.platform import LakeLocation, declared_argument_problem, job_arguments
from lakehouse.model.quality import (
    RESULTS_TABLE,
    RULE_TYPES,
    QualityRule,
    quality_argument,
    render_rule,
    render_ruleset,
    rules_by_table,
    ruleset_name,
)


def pipeline_data(quality, writes=None) -> dict:
    return {"name": "demo", "description": "d", "jobs": [{
        "name": "gold", "script": "fhir/gold.py",
        "writes": writes or [{"zone": "gold", "tables": ["facts", RESULTS_TABLE]}],
        "quality": quality}]}


def rules_of(*quality) -> tuple[QualityRule, ...]:
    return parse_pipeline(pipeline_data(list(quality))).job("gold").quality


def problems_of(quality, writes=None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_pipeline(pipeline_data(quality, writes))
    return e.value.problems


# --- DQDL: the AWS Glue developer guide's syntax per rule type (golden: DQDL is the contract) -------
GOLDEN = [
    ({"rule": "RowCount", "min": 1}, 'RowCount >= 1'),
    ({"rule": "RowCount", "max": 500}, 'RowCount <= 500'),
    ({"rule": "RowCount", "min": 1, "max": 500}, '(RowCount >= 1) and (RowCount <= 500)'),
    ({"rule": "IsComplete", "column": "facility_id"}, 'IsComplete "facility_id"'),
    ({"rule": "Completeness", "column": "facility_id", "min": 0.95}, 'Completeness "facility_id" >= 0.95'),
    ({"rule": "IsUnique", "column": "facility_id"}, 'IsUnique "facility_id"'),
    ({"rule": "Uniqueness", "column": "facility_id", "min": 0.99}, 'Uniqueness "facility_id" >= 0.99'),
    ({"rule": "IsPrimaryKey", "columns": ["facility_id"]}, 'IsPrimaryKey "facility_id"'),
    ({"rule": "IsPrimaryKey", "columns": ["facility_id", "month"]}, 'IsPrimaryKey "facility_id" "month"'),
    ({"rule": "ColumnValues", "column": "deaths", "min": 0}, 'ColumnValues "deaths" >= 0'),
    ({"rule": "ColumnValues", "column": "alos", "max": 365.5}, 'ColumnValues "alos" <= 365.5'),
    # DQDL's between is exclusive: an inclusive range is two rules joined by and
    ({"rule": "ColumnValues", "column": "rate", "min": 0, "max": 1},
     '(ColumnValues "rate" >= 0) and (ColumnValues "rate" <= 1)'),
    ({"rule": "ColumnValues", "column": "rate", "min": 0, "max": 1, "nulls": "allowed"},
     '(ColumnValues "rate" >= 0 where "rate is not null") and (ColumnValues "rate" <= 1 where "rate is not null")'),
    ({"rule": "ColumnValues", "column": "g", "in": ["male", "female"]}, 'ColumnValues "g" in ["male", "female"]'),
    ({"rule": "ColumnValues", "column": "g", "in": ["male"], "nulls": "allowed"},
     'ColumnValues "g" in ["male"] where "g is not null"'),
    ({"rule": "Completeness", "column": "c", "min": 0.00001}, 'Completeness "c" >= 0.00001'),  # never 1e-05
]


@pytest.mark.parametrize("raw, dqdl", GOLDEN, ids=[g[1] for g in GOLDEN])
def test_each_rule_renders_the_documented_dqdl(raw, dqdl):
    (rule,) = rules_of({"table": "facts", **raw})
    assert render_rule(rule) == rule.dqdl == dqdl


def test_every_rule_type_has_a_golden_rendering():
    assert {g[0]["rule"] for g in GOLDEN} == set(RULE_TYPES)


def test_a_ruleset_is_a_rules_list_in_declaration_order():
    rules = rules_of({"table": "facts", "rule": "RowCount", "min": 1},
                     {"table": "facts", "rule": "IsComplete", "column": "a", "severity": "warn"})
    assert render_ruleset(rules) == 'Rules = [\n    RowCount >= 1,\n    IsComplete "a"\n]'


# Rules drawn at random: the ruleset names each one once, as a top-level item of the documented shape.
COLUMN = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
FRACTION = st.sampled_from([0, 0.5, 0.9, 0.95, 0.999, 1])
RULES = st.one_of(
    st.builds(lambda lo: {"rule": "RowCount", "min": lo}, st.integers(0, 10**6)),
    st.builds(lambda c: {"rule": "IsComplete", "column": c}, COLUMN),
    st.builds(lambda c, m: {"rule": "Completeness", "column": c, "min": m}, COLUMN, FRACTION),
    st.builds(lambda c: {"rule": "IsUnique", "column": c}, COLUMN),
    st.builds(lambda c, m: {"rule": "Uniqueness", "column": c, "min": m}, COLUMN, FRACTION),
    st.builds(lambda cs: {"rule": "IsPrimaryKey", "columns": cs},
              st.lists(COLUMN, min_size=1, max_size=3, unique=True)),
    st.builds(lambda c, lo, span, n: {"rule": "ColumnValues", "column": c, "min": lo, "max": lo + span,
                                      "nulls": n}, COLUMN, st.integers(-100, 100), st.integers(0, 100),
              st.sampled_from(["fail", "allowed"])),
)
TOP_LEVEL = re.compile(r'^(\((?P<a>[A-Za-z]+ [^()]*)\) and \((?P<b>[A-Za-z]+ [^()]*)\)|[A-Za-z]+( "[a-z0-9_]+")*'
                       r'( (>=|<=) -?[0-9.]+| in \[[^\]]*\])?( where "[a-z0-9_]+ is not null")?)$')


@given(st.lists(RULES, min_size=1, max_size=12, unique_by=json.dumps))
def test_every_declared_rule_appears_in_the_ruleset_once(raws):
    rules = rules_of(*({"table": "facts", **r} for r in raws))
    text = render_ruleset(rules)
    assert text.startswith("Rules = [\n") and text.endswith("\n]")
    lines = [line.strip().rstrip(",") for line in text.splitlines()[1:-1]]
    assert lines == [r.dqdl for r in rules]
    for r, line in zip(rules, lines):
        assert line.split(" ")[0].lstrip("(") == r.rule
        assert all(f'"{c}"' in line for c in r.columns)
        assert TOP_LEVEL.match(line), line


# --- refusals -----------------------------------------------------------------------------------------
BAD = [
    ({"table": "facts", "rule": "IsFine", "column": "a"}, "jobs.gold.quality[0].rule: got 'IsFine'; allowed: "
     + " | ".join(RULE_TYPES)),
    ({"table": "nope", "rule": "IsComplete", "column": "a"},
     "jobs.gold.quality[0].table: got 'nope'; allowed: a lake table the job declares writing: ['dq_results', 'facts']"),
    ({"table": RESULTS_TABLE, "rule": "RowCount", "min": 1},
     "quality[0].table: got 'dq_results'; allowed: a table other"),
    ({"table": "facts", "rule": "IsComplete"}, "quality[0].column: got None; allowed: required by a IsComplete rule"),
    ({"table": "facts", "rule": "IsComplete", "column": "A-b"}, "quality[0].column: got 'A-b'; allowed: a column name"),
    ({"table": "facts", "rule": "IsComplete", "column": "a", "min": 1},
     "quality[0].min: got 1; allowed: one of the keys of a IsComplete rule"),
    ({"table": "facts", "rule": "IsComplete", "column": "a", "severity": "error"},
     "quality[0].severity: got 'error'; allowed: fail | warn"),
    ({"table": "facts", "rule": "Completeness", "column": "a", "min": 95},
     "quality[0].min: got 95; allowed: a fraction of rows from 0 to 1"),
    ({"table": "facts", "rule": "RowCount"}, "allowed: min and/or max (whole numbers >= 0) for a RowCount rule"),
    ({"table": "facts", "rule": "RowCount", "min": 1.5}, "quality[0].min: got 1.5; allowed: a whole number >= 0"),
    ({"table": "facts", "rule": "RowCount", "min": "1"}, "quality[0].min: got '1'; allowed: a number"),
    ({"table": "facts", "rule": "ColumnValues", "column": "a", "min": 2, "max": 1},
     "quality[0].max: got 1; allowed: a number >= min (2)"),
    ({"table": "facts", "rule": "ColumnValues", "column": "a"}, "allowed: min and/or max, or in, for a ColumnValues"),
    ({"table": "facts", "rule": "ColumnValues", "column": "a", "in": ["x"], "min": 0},
     "quality[0].in: got ['x']; allowed: either in or min/max, not both"),
    ({"table": "facts", "rule": "ColumnValues", "column": "a", "in": ['x"y']}, "without double quotes"),
    ({"table": "facts", "rule": "ColumnValues", "column": "a", "min": 0, "nulls": "yes"},
     "quality[0].nulls: got 'yes'; allowed: fail | allowed"),
    ({"table": "facts", "rule": "IsPrimaryKey", "columns": []},
     "quality[0].columns: got []; allowed: a non-empty list"),
    ({"table": "facts", "rule": "IsPrimaryKey", "columns": ["a", "a"]}, "allowed: each column once"),
    ("IsComplete a", "jobs.gold.quality[0]: got 'IsComplete a'; allowed: a mapping with table, rule"),
]


@pytest.mark.parametrize("raw, message", BAD, ids=[b[1][:60] for b in BAD])
def test_a_bad_rule_names_key_value_and_what_is_allowed(raw, message):
    problems = problems_of([raw])
    assert any(message in p for p in problems), problems


def test_rules_need_the_zones_results_table_declared_as_a_write():
    problems = problems_of([{"table": "facts", "rule": "RowCount", "min": 1}],
                           writes=[{"zone": "gold", "tables": ["facts"]}])
    assert problems == ["<inline>: jobs.gold.quality: got 'rules on gold tables'; allowed: a job that also declares "
                        "writing {zone: gold, tables: [dq_results]} (where the job records each rule's outcome)"]


def test_a_rule_repeated_and_a_table_of_two_zones_are_refused():
    assert any("each rule once per table" in p for p in problems_of(
        [{"table": "facts", "rule": "RowCount", "min": 1}, {"table": "facts", "rule": "RowCount", "min": 1}]))
    writes = [{"zone": "silver", "tables": ["facts", RESULTS_TABLE]}, {"zone": "gold", "tables": ["facts"]}]
    assert any("a table the job writes in one zone only" in p
               for p in problems_of([{"table": "facts", "rule": "RowCount", "min": 1}], writes))


def test_two_jobs_may_not_both_declare_rules_on_one_table():
    data = pipeline_data([{"table": "facts", "rule": "RowCount", "min": 1}])
    other = copy.deepcopy(data["jobs"][0])
    data["jobs"].append({**other, "name": "again", "depends_on": ["gold"]})
    with pytest.raises(ConfigError) as e:
        parse_pipeline(data)
    assert any("jobs.again.quality: got 'gold.facts'; allowed: rules on tables no other job declares rules on "
               "(gold does)" in p for p in e.value.problems), e.value.problems


def test_the_job_argument_carries_every_rule_and_cannot_be_declared():
    job = parse_pipeline(pipeline_data([{"table": "facts", "rule": "RowCount", "min": 1},
                                        {"table": "facts", "rule": "IsUnique", "column": "a",
                                         "severity": "warn"}])).job("gold")
    where = LakeLocation("local", {z: f"file:///w/{z}/" for z in ("raw", "bronze", "silver", "gold")},
                         {z: f"db_{z}" for z in ("bronze", "silver", "gold")})
    sent = json.loads(job_arguments(job, where)["--quality_rules"])
    assert [(s["table"], s["dqdl"], s["severity"]) for s in sent] == [
        ("facts", "RowCount >= 1", "fail"), ("facts", 'IsUnique "a"', "warn")]
    assert sent == json.loads(quality_argument(job.quality))
    assert "derived from the job's quality rules" in declared_argument_problem("--quality_rules")
    assert "--quality_rules" not in job_arguments(parse_pipeline(pipeline_data(None)).job("gold"), where)


def test_ruleset_names_use_dashes():
    assert ruleset_name("lakehouse-dev", "gold", "cms_facility_monthly") == "lakehouse-dev-gold-cms-facility-monthly"


# --- the declared rules ---------------------------------------------------------------------------------

def known_columns() -> dict[tuple[str, str], set[str]]:
    """The tables whose schema the Glue library states (tests may import both sides)."""
    from lakelib.climate.schemas import METRIC_COLUMNS, METRICS_TABLE
    from lakelib.fhir.schemas import CMS_FACILITY_MONTHLY, GOLD_TABLE, SILVER_SCHEMAS, SILVER_TABLES

    known = {("gold", GOLD_TABLE): set(CMS_FACILITY_MONTHLY.fieldNames()), ("gold", METRICS_TABLE): set(METRIC_COLUMNS)}
    known |= {("silver", SILVER_TABLES[rt]): set(s.fieldNames()) for rt, s in SILVER_SCHEMAS.items()}
    return known


PIPELINES = sorted(p.stem for p in PIPELINES_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", PIPELINES)
def test_declared_rules_name_columns_of_the_tables_schema(name):
    """Wherever lakelib states the table's schema (a table of another pipeline is checked at run time)."""
    known = known_columns()
    rules = [r for j in load_pipeline(name).jobs for r in j.quality]
    if name in ("fhir", "climate"):
        assert rules and all((r.zone, r.table) in known for r in rules), f"pipeline {name}: rules on unknown tables"
    for r in rules:
        if (r.zone, r.table) in known:
            assert set(r.columns) <= known[(r.zone, r.table)], (r.dqdl, sorted(known[(r.zone, r.table)]))


def test_the_column_check_sees_a_wrong_column(tmp_path):
    data = yaml.safe_load((PIPELINES_DIR / "fhir.yaml").read_text())
    gold = next(j for j in data["jobs"] if j["name"] == "gold")
    gold["quality"].append({"table": "cms_facility_monthly", "rule": "IsComplete", "column": "mortalty_rate"})
    rules = [r for j in parse_pipeline(data).jobs for r in j.quality]
    known = known_columns()
    assert [r.dqdl for r in rules if not set(r.columns) <= known[(r.zone, r.table)]] == ['IsComplete "mortalty_rate"']


def test_gold_and_silver_tables_of_fhir_carry_the_metrics_contract():
    tables = {k: [r.dqdl for r in v] for j in load_pipeline("fhir").jobs for k, v in rules_by_table(j.quality).items()}
    assert set(tables) == {("silver", "patients"), ("silver", "encounters"), ("silver", "conditions"),
                           ("gold", "cms_facility_monthly")}
    gold = tables[("gold", "cms_facility_monthly")]
    assert 'IsPrimaryKey "facility_id" "month"' in gold
    for rate in ("mortality_rate", "readmission_rate"):  # rates in [0, 1], null where the denominator is 0
        assert (f'(ColumnValues "{rate}" >= 0 where "{rate} is not null") and '
                f'(ColumnValues "{rate}" <= 1 where "{rate} is not null")') in gold
    for count in ("deaths", "index_stays", "readmissions", "hai_count"):
        assert f'ColumnValues "{count}" >= 0' in gold
