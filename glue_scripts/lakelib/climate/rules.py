"""Climate-health rules as data: what each field kind accepts, the value rules that reject a
well-typed row, the corrections the source system applies instead of rejecting, and which
feeds must name a known location. ingest.validate applies them (docs/climate-pipeline.md;
each rule has a test in tests/glue_scripts/test_climate_rules.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .schemas import CASE_COUNTS, PROBABILITIES, RESOURCE_COUNTS

# --- field kinds: the text a value of each kind must match ------------------------------------
INT_RE = r"^[+-]?[0-9]{1,10}$"
NUMBER_RE = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
KIND_WORDS = {"string": "text", "int": "an integer", "double": "a number", "date": "a yyyy-MM-dd date"}


# --- value rules: reject a well-typed row (values no correction can fix) -----------------------
@dataclass(frozen=True)
class ValueRule:
    """`column <op> bound` rejects the row; the reason reads "<column>: <value> <words>", followed
    by the bound's value when the bound is another column."""

    column: str
    op: str  # "<" | "<=" | ">"
    bound: int | str  # a number, or the name of another column of the row
    words: str


VALUE_RULES: dict[str, tuple[ValueRule, ...]] = {
    "locations": (
        ValueRule("population", "<", 0, "is negative"),
        ValueRule("area", "<=", 0, "is not > 0"),
    ),
    "climate": tuple(ValueRule(p, ">", 1, "is above 1") for p in PROBABILITIES),
    "hospital": (
        *(ValueRule(r, "<", 0, "is negative") for r in RESOURCE_COUNTS),
        ValueRule("available_beds", ">", "total_beds", "exceeds total_beds"),
    ),
}

# --- corrections: (column, rule) the source system corrects instead of rejecting: values below
# 0 become 0, each correction audited (bronze climate_corrections) --------------------------------
NEGATIVE_PROBABILITY_RULE = "negative probability set to 0"
NEGATIVE_COUNT_RULE = "negative case count set to 0"
CORRECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "climate": tuple((p, NEGATIVE_PROBABILITY_RULE) for p in PROBABILITIES),
    "health": tuple((n, NEGATIVE_COUNT_RULE) for n in CASE_COUNTS),
}

# --- references: fact feeds whose location_id must be a known location --------------------------
KNOWN_LOCATION_FEEDS = frozenset({"climate", "health", "hospital"})

