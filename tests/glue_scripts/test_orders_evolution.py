"""Schema evolution of the orders bronze tables (lakelib.orders.evolution): pure functions over StructTypes,
no Spark session. Examples for each rule, and properties over generated schemas: a plan never drops a
column, every widening is one Iceberg allows, and applying a plan makes the table hold the batch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql.types import (
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakelib.orders.evolution import (
    AliasError,
    evolved,
    holds,
    parse_aliases,
    plan_evolution,
    read_schema,
    widening,
)
from lakelib.orders.schemas import BRONZE_BASE, CUSTOMERS, ORDERS, REQUIRED


def S(**cols) -> StructType:
    return StructType([StructField(n, t) for n, t in cols.items()])


BASE = S(order_id=IntegerType(), customer_id=StringType(), quantity=IntegerType(), unit_price=DecimalType(12, 2))


def test_an_unchanged_batch_changes_nothing():
    plan = plan_evolution(BASE, BASE, {}, ["order_id"])
    assert (plan.additions, plan.widenings, plan.conflicts, plan.incompatible) == ((), (), (), None)
    assert evolved(BASE, plan) == BASE


def test_a_new_column_is_added_at_the_end():
    plan = plan_evolution(BASE, S(**{f.name: f.dataType for f in BASE.fields}, channel=StringType()))
    assert [c.describe() for c in plan.additions] == ["channel string"]
    assert evolved(BASE, plan).names == [*BASE.names, "channel"]


def test_int_to_bigint_is_widened_and_bigint_into_int_is_not_a_widening_the_other_way():
    plan = plan_evolution(BASE, S(order_id=LongType()), {}, ["order_id"])
    assert [(c.path, c.table_type, c.incoming_type) for c in plan.widenings] == [("order_id", "int", "bigint")]
    assert evolved(BASE, plan)["order_id"].dataType == LongType()
    wide = S(order_id=LongType())
    assert plan_evolution(wide, S(order_id=IntegerType())).widenings == ()  # int fits a bigint column


def test_decimal_precision_widens_only_at_the_same_scale():
    assert widening(DecimalType(7, 2), DecimalType(9, 2)) == DecimalType(9, 2)
    assert widening(DecimalType(7, 2), DecimalType(9, 3)) is None
    assert widening(FloatType(), DoubleType()) == DoubleType()
    assert widening(LongType(), DoubleType()) is None  # Iceberg cannot widen long to double


def test_text_where_a_number_was_is_a_conflict_checked_row_by_row():
    plan = plan_evolution(BASE, S(quantity=StringType()))
    assert [c.describe() for c in plan.conflicts] == ["quantity: int in the table, string in the batch"]
    assert plan.incompatible is None


def test_text_into_dates_and_doubles_into_decimals_are_parsed_not_conflicts():
    table = S(d=DateType(), t=TimestampType(), p=DecimalType(12, 2))
    plan = plan_evolution(table, S(d=StringType(), t=StringType(), p=DoubleType()))
    assert plan.conflicts == () and plan.widenings == ()


def test_an_undeclared_rename_makes_the_batch_incompatible_with_both_names():
    plan = plan_evolution(BASE, S(order_id=IntegerType(), customer_id=StringType(), quantity=IntegerType(),
                                  price=DoubleType()), {}, ["order_id", "unit_price"])
    assert plan.incompatible == ("column unit_price missing, price unexpected (a renamed field? declare it in "
                                 "--column_aliases old=new)")
    assert evolved(BASE, plan) == BASE  # nothing applied


def test_a_declared_rename_is_applied_before_comparing():
    incoming = S(order_id=IntegerType(), customer_ref=StringType(), quantity=IntegerType(), unit_price=DoubleType())
    plan = plan_evolution(BASE, incoming, parse_aliases("customer_ref=customer_id"), REQUIRED[ORDERS][:1])
    assert plan.incompatible is None and dict(plan.renames) == {"customer_ref": "customer_id"}
    assert plan.additions == ()
    assert read_schema(BASE, incoming, plan.renames).names == ["order_id", "customer_ref", "quantity", "unit_price"]
    assert read_schema(BASE, incoming, plan.renames)["customer_ref"].dataType == StringType()


def test_a_missing_required_column_alone_is_incompatible():
    assert plan_evolution(BASE, S(order_id=IntegerType()), {}, ["order_id", "quantity"]).incompatible == \
        "column quantity missing"


def test_nested_fields_are_added_and_a_struct_for_a_value_is_incompatible():
    base = BRONZE_BASE[CUSTOMERS]
    address = StructType([*base["address"].dataType.fields, StructField("region", StringType())])
    incoming = StructType([f if f.name != "address" else StructField("address", address) for f in base.fields])
    plan = plan_evolution(base, incoming, {}, REQUIRED[CUSTOMERS])
    assert [c.describe() for c in plan.additions] == ["address.region string"]
    assert evolved(base, plan)["address"].dataType.names[-1] == "region"
    bad = StructType([f if f.name != "address" else StructField("address", StringType()) for f in base.fields])
    assert "column address: struct<" in plan_evolution(base, bad, {}, REQUIRED[CUSTOMERS]).incompatible


@pytest.mark.parametrize("text", ["x", "a=b=c", "a=", "=b", "a=a", "a-b=c", "a=b,a=c"])
def test_bad_aliases_are_refused_naming_the_argument(text):
    with pytest.raises(AliasError, match="--column_aliases"):
        parse_aliases(text)


# --- properties ---------------------------------------------------------------------------------

PRIMITIVES = [IntegerType(), LongType(), FloatType(), DoubleType(), StringType(), DateType(), TimestampType(),
              DecimalType(7, 2), DecimalType(9, 2), DecimalType(12, 3)]
names = st.sampled_from(["a", "b", "c", "d", "e"])
schemas = st.lists(st.tuples(names, st.sampled_from(PRIMITIVES)), max_size=5, unique_by=lambda t: t[0]).map(
    lambda cols: S(**dict(cols)))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(table=schemas, incoming=schemas)
def test_a_plan_never_drops_a_column_and_widens_only_the_iceberg_way(table, incoming):
    plan = plan_evolution(table, incoming)
    after = evolved(table, plan)
    assert after.names[:len(table.names)] == table.names  # nothing dropped, nothing reordered
    for c in plan.widenings:
        old, new = table[c.path].dataType, after[c.path].dataType
        assert (old, new) in ((IntegerType(), LongType()), (FloatType(), DoubleType())) or (
            isinstance(old, DecimalType) and isinstance(new, DecimalType) and new.scale == old.scale
            and new.precision > old.precision)
    # once applied, every column of the batch is in the table, and the table's type either holds the
    # batch's type or the column is a reported conflict (checked row by row)
    conflicts = {c.path for c in plan.conflicts}
    for f in incoming.fields:
        assert f.name in after.names
        assert holds(after[f.name].dataType, f.dataType) or f.name in conflicts
    assert plan_evolution(after, incoming).additions == () and plan_evolution(after, incoming).widenings == ()
