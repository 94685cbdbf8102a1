"""Schema evolution of a bronze table, decided per batch (crawler partition) from the columns the
crawler found: pure functions over Spark StructTypes, no I/O (docs/orders-pipeline.md).

`plan_evolution(table, incoming, aliases, required)` compares a batch's columns with the table's:
- a declared alias (`--column_aliases customer_ref=customer_id`) renames a column first;
- a column (or nested field) the table lacks is an addition: ALTER TABLE ADD COLUMN;
- a wider type Iceberg can widen to (int -> bigint, float -> double, decimal(p,s) -> decimal(p2,s) with
  p2 > p) is a widening: ALTER TABLE ALTER COLUMN ... TYPE;
- a type the table's type holds without loss (int into bigint, text into a date ...) changes nothing:
  the values are read as the table's type, and a value that does not parse is quarantined;
- any other type is a conflict (e.g. text where a number was, decimals into an int column): reported,
  and every row whose value does not parse as the table's type is quarantined (type_mismatch);
- a required column missing makes the batch incompatible (all its rows quarantined as
  schema_incompatible): "column unit_price missing, price unexpected" when the batch also carries
  columns the table does not know (an undeclared rename), or "column unit_price missing"; as does a
  struct where the table has a value or the reverse.
Nothing is ever dropped: a column the batch lacks (not required) stays in the table, null for its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from pyspark.sql.types import (
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

_INTEGRAL_DIGITS = {ByteType: 3, ShortType: 5, IntegerType: 10, LongType: 19}


class AliasError(ValueError):
    pass


def parse_aliases(text: str | None) -> dict[str, str]:
    """`--column_aliases` "old=new,old2=new2" -> {old: new}; names are lower-case column names."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in (text or "").split(","))):
        old, sep, new = item.partition("=")
        old, new = old.strip().lower(), new.strip().lower()
        if not sep or not old or not new or old == new or not (old + new).replace("_", "").isalnum():
            raise AliasError(f"--column_aliases: got {item!r} in {text!r}; allowed: old_name=new_name pairs "
                             "separated by commas (letters, digits, _)")
        if old in out:
            raise AliasError(f"--column_aliases: {old!r} is renamed twice in {text!r}")
        out[old] = new
    return out


def widening(table: DataType, incoming: DataType) -> DataType | None:
    """The type Iceberg widens `table` to for `incoming`, or None when it cannot (or need not) widen."""
    if isinstance(table, IntegerType) and isinstance(incoming, LongType):
        return LongType()
    if isinstance(table, FloatType) and isinstance(incoming, DoubleType):
        return DoubleType()
    if isinstance(table, DecimalType) and isinstance(incoming, DecimalType) and incoming.scale == table.scale \
            and incoming.precision > table.precision:
        return DecimalType(incoming.precision, table.scale)
    return None


def holds(table: DataType, incoming: DataType) -> bool:
    """Whether values of `incoming` read as `table` lose nothing (text into a date or timestamp is parsed
    value by value; a value that does not parse is quarantined, so it is not a conflict of the batch)."""
    if type(table) is type(incoming) and not isinstance(table, DecimalType):
        return True
    if isinstance(table, StringType):
        return not isinstance(incoming, StructType)
    if isinstance(incoming, StringType):
        return isinstance(table, (DateType, TimestampType))
    if isinstance(table, LongType):
        return type(incoming) in (ByteType, ShortType, IntegerType)
    if isinstance(table, IntegerType):
        return type(incoming) in (ByteType, ShortType)
    if isinstance(table, DoubleType):
        return type(incoming) in (FloatType, ByteType, ShortType, IntegerType)
    if isinstance(table, TimestampType):
        return isinstance(incoming, DateType)
    if isinstance(table, DecimalType):
        whole = table.precision - table.scale
        if isinstance(incoming, DecimalType):
            return incoming.scale <= table.scale and incoming.precision - incoming.scale <= whole
        if type(incoming) in _INTEGRAL_DIGITS:
            return _INTEGRAL_DIGITS[type(incoming)] <= whole
        # text formats carry decimals as text: a crawler calls "12.50" double; each value is parsed
        # exactly (one with more decimals than the scale, or too many digits, is quarantined)
        return isinstance(incoming, (DoubleType, FloatType))
    return False


@dataclass(frozen=True)
class Change:
    path: str  # dotted for nested fields: address.region
    table_type: str | None  # None for an addition
    incoming_type: str
    dtype: DataType | None = field(default=None, compare=False)  # the type the DDL applies

    def describe(self) -> str:
        if self.table_type is None:
            return f"{self.path} {self.incoming_type}"
        return f"{self.path}: {self.table_type} in the table, {self.incoming_type} in the batch"


@dataclass(frozen=True)
class EvolutionPlan:
    renames: Mapping[str, str] = field(default_factory=dict)  # batch column -> table column (declared aliases)
    additions: tuple[Change, ...] = ()
    widenings: tuple[Change, ...] = ()
    conflicts: tuple[Change, ...] = ()
    incompatible: str | None = None  # why every row of the batch is quarantined

    def as_dict(self) -> dict:
        return {"renames": dict(self.renames), "additions": [c.describe() for c in self.additions],
                "widenings": [f"{c.path}: {c.table_type} -> {c.incoming_type}" for c in self.widenings],
                "conflicts": [c.describe() for c in self.conflicts], "incompatible": self.incompatible}


def renamed(incoming: StructType, aliases: Mapping[str, str]) -> StructType:
    """`incoming` with its top-level columns renamed by `aliases` (old -> new)."""
    return StructType([StructField(aliases.get(f.name.lower(), f.name), f.dataType, f.nullable)
                       for f in incoming.fields])


def plan_evolution(table: StructType, incoming: StructType, aliases: Mapping[str, str] | None = None,
                   required: Iterable[str] = ()) -> EvolutionPlan:
    """What to do with a batch whose columns are `incoming` (the crawler's) for a table whose data
    columns are `table` (module docstring)."""
    aliases = {k: v for k, v in (aliases or {}).items() if k in {f.name.lower() for f in incoming.fields}}
    batch = renamed(incoming, aliases)
    names = [f.name.lower() for f in batch.fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return EvolutionPlan(renames=aliases, incompatible=f"column {', '.join(dupes)} twice (after --column_aliases)")
    have = {f.name.lower() for f in table.fields}
    missing = [c for c in required if c.lower() not in set(names)]
    if missing:
        unexpected = [f.name for f in batch.fields if f.name.lower() not in have]
        why = f"column {', '.join(missing)} missing"
        if unexpected:
            why += f", {', '.join(unexpected)} unexpected (a renamed field? declare it in --column_aliases old=new)"
        return EvolutionPlan(renames=aliases, incompatible=why)
    additions: list[Change] = []
    widenings: list[Change] = []
    conflicts: list[Change] = []
    problems: list[str] = []
    _compare(table, batch, "", additions, widenings, conflicts, problems)
    if problems:
        return EvolutionPlan(renames=aliases, incompatible="; ".join(problems))
    return EvolutionPlan(aliases, tuple(additions), tuple(widenings), tuple(conflicts))


def _compare(table: StructType, batch: StructType, prefix: str, additions: list, widenings: list,
             conflicts: list, problems: list) -> None:
    by_name = {f.name.lower(): f for f in table.fields}
    for f in batch.fields:
        path = prefix + f.name
        t = by_name.get(f.name.lower())
        if t is None:
            additions.append(Change(path, None, f.dataType.simpleString(), f.dataType))
        elif isinstance(t.dataType, StructType) and isinstance(f.dataType, StructType):
            _compare(t.dataType, f.dataType, path + ".", additions, widenings, conflicts, problems)
        elif isinstance(t.dataType, StructType) or isinstance(f.dataType, StructType):
            problems.append(f"column {path}: {t.dataType.simpleString()} in the table, "
                            f"{f.dataType.simpleString()} in the batch")
        elif (wider := widening(t.dataType, f.dataType)) is not None:
            widenings.append(Change(path, t.dataType.simpleString(), wider.simpleString(), wider))
        elif not holds(t.dataType, f.dataType):
            conflicts.append(Change(path, t.dataType.simpleString(), f.dataType.simpleString()))


def evolved(table: StructType, plan: EvolutionPlan) -> StructType:
    """The table's data columns once `plan`'s additions and widenings are applied (what the DDL makes)."""
    if plan.incompatible:
        return table
    out = table
    for c in plan.widenings:
        out = _replace(out, c.path.split("."), c.dtype)
    for c in plan.additions:
        out = _add(out, c.path.split("."), c.dtype)
    return out


def _replace(struct: StructType, path: list[str], new: DataType) -> StructType:
    fields = []
    for f in struct.fields:
        if f.name.lower() == path[0].lower():
            dt = new if len(path) == 1 else _replace(f.dataType, path[1:], new)
            fields.append(StructField(f.name, dt, f.nullable))
        else:
            fields.append(f)
    return StructType(fields)


def _add(struct: StructType, path: list[str], new: DataType) -> StructType:
    if len(path) == 1:
        return StructType([*struct.fields, StructField(path[0], new, True)])
    return StructType([StructField(f.name, _add(f.dataType, path[1:], new), f.nullable)
                       if f.name.lower() == path[0].lower() else f for f in struct.fields])


def read_schema(target: StructType, incoming: StructType, aliases: Mapping[str, str]) -> StructType:
    """The schema to read a batch's files with: the batch's columns in the batch's order under the
    batch's names, each of the target (evolved) table's type. (CSV columns are positional.)"""
    by_name = {f.name.lower(): f for f in target.fields}
    return StructType([StructField(f.name, by_name[aliases.get(f.name.lower(), f.name).lower()].dataType, True)
                       for f in incoming.fields])
