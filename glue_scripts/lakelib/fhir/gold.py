"""Gold transforms (pure, DataFrame -> DataFrame, no I/O): cms_facility_monthly exactly as
docs/metrics.md defines it (what counts: rules.py), and the gold job's argument parsing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..runtime.args import JobArgumentError
from .rules import (
    DEFAULT_HAI_CODES,
    EXCLUDED_CONDITION_STATUS,
    EXCLUDED_ENCOUNTER_STATUS,
    EXPIRED,
    ICD10CM,
    INPATIENT_CLASSES,
    NOT_INDEX_DISPOSITIONS,
    SNOMED,
    UNKNOWN_FACILITY,
)
from .schemas import CMS_FACILITY_MONTHLY

# the silver.encounters columns the metrics read
ENCOUNTER_COLUMNS = ("encounter_id", "patient_id", "status", "class_code", "admit_date", "discharge_date",
                     "facility_id", "discharge_disposition")


@dataclass(frozen=True)
class HaiCode:
    system: str
    code: str  # without the trailing *
    prefix: bool


def parse_hai_codes(text: str | None) -> tuple[HaiCode, ...]:
    """`system|code[,system|code*...]` -> codes; the contract's default set when empty."""
    text = DEFAULT_HAI_CODES if text is None or not text.strip() else text
    out, problems = [], []
    for item in (i.strip() for i in text.split(",")):
        system, sep, code = item.rpartition("|")
        if not sep or not system or not code or code == "*" or "*" in code[:-1]:
            problems.append(f"--hai_codes: entry {item!r} in {text!r}; allowed: system|code or system|prefix* "
                            f"separated by commas, e.g. {SNOMED}|91302008,{ICD10CM}|T81.4*")
            continue
        out.append(HaiCode(system, code.rstrip("*"), code.endswith("*")))
    if problems:
        raise JobArgumentError(problems)
    return tuple(out)


def parse_as_of(text: str | None) -> dt.date | None:
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise JobArgumentError([f"--as_of: got {text!r}; allowed: a date YYYY-MM-DD (default: the latest "
                                "admission or discharge date among inpatient encounters)"]) from None


def has_hai_code(codes: Column, hai: tuple[HaiCode, ...]) -> Column:
    """Whether an array<struct<system,code>> holds a code of the set (a higher-order
    function over the array, no UDF)."""
    def match(c: Column) -> Column:
        cond = F.lit(False)
        for h in hai:
            code = c.getField("code").startswith(h.code) if h.prefix else (c.getField("code") == h.code)
            cond = cond | ((c.getField("system") == h.system) & code)
        return cond
    return F.coalesce(F.exists(codes, match), F.lit(False))


def filter_inpatient_stays(encounters: DataFrame) -> DataFrame:
    """Inpatient encounters counted by the metrics (status not entered-in-error/cancelled)."""
    return encounters.where(
        F.col("class_code").isin(*INPATIENT_CLASSES)
        & (F.col("status").isNull() | ~F.col("status").isin(*EXCLUDED_ENCOUNTER_STATUS))
        & F.col("admit_date").isNotNull()
    )


def to_as_of(stays: DataFrame, as_of: dt.date | None) -> DataFrame:
    """One row, one column `as_of`: the argument, or the latest admission/discharge date."""
    if as_of is not None:
        return stays.sparkSession.range(1).select(F.lit(as_of).alias("as_of"))
    return stays.agg(F.max(F.greatest("admit_date", "discharge_date")).alias("as_of"))


def to_flagged_discharges(stays: DataFrame, patients: DataFrame, as_of: DataFrame) -> DataFrame:
    """One row per discharge: facility, month, los, is_death, is_index, is_readmitted."""
    d = stays.where(F.col("discharge_date").isNotNull()).select(
        "encounter_id", "patient_id", "admit_date", "discharge_date", "discharge_disposition",
        F.coalesce("facility_id", F.lit(UNKNOWN_FACILITY)).alias("facility_id"),
    )
    other = stays.select(
        F.col("encounter_id").alias("o_encounter_id"), F.col("patient_id").alias("o_patient_id"),
        F.col("admit_date").alias("o_admit_date"),
    )
    # later stays of the same patient starting 0..30 days after the discharge: 0 = same-day
    # transfer (no index stay), 1..30 = readmission
    nearby = d.join(
        other,
        (d["patient_id"] == other["o_patient_id"]) & (d["encounter_id"] != other["o_encounter_id"])
        & (other["o_admit_date"] >= d["discharge_date"])
        & (other["o_admit_date"] <= F.date_add(d["discharge_date"], 30)),
    ).groupBy("encounter_id").agg(
        F.max(F.col("o_admit_date") == F.col("discharge_date")).alias("has_same_day_stay"),
        F.max(F.col("o_admit_date") > F.col("discharge_date")).alias("has_readmission"),
    )
    deceased = patients.select("patient_id", "deceased_date")
    d = d.join(nearby, "encounter_id", "left").join(deceased, "patient_id", "left").crossJoin(as_of)
    died = (F.col("discharge_disposition") == EXPIRED) | (
        F.col("deceased_date").between(F.col("admit_date"), F.date_add("discharge_date", 1))
    )
    is_death = F.coalesce(died, F.lit(False))
    is_index = (
        ~is_death
        & (F.col("discharge_disposition").isNull() | ~F.col("discharge_disposition").isin(*NOT_INDEX_DISPOSITIONS))
        & ~F.coalesce(F.col("has_same_day_stay"), F.lit(False))
        & F.coalesce(F.date_add("discharge_date", 30) <= F.col("as_of"), F.lit(False))
    )
    return d.select(
        "encounter_id", "patient_id", "facility_id", "admit_date", "discharge_date",
        F.date_format("discharge_date", "yyyy-MM").alias("month"),
        F.greatest(F.lit(1), F.datediff("discharge_date", "admit_date")).alias("los"),
        is_death.alias("is_death"),
        is_index.alias("is_index"),
        (is_index & F.coalesce(F.col("has_readmission"), F.lit(False))).alias("is_readmitted"),
    )


def to_hai_conditions(conditions: DataFrame, discharges: DataFrame, hai: tuple[HaiCode, ...]) -> DataFrame:
    """(facility_id, month, condition_id) of each HAI: an HAI-coded condition of a discharge
    with onset on hospital day 3 or later (admission = day 1) and not after discharge."""
    c = conditions.where(
        (F.col("verification_status").isNull() | ~F.col("verification_status").isin(*EXCLUDED_CONDITION_STATUS))
        & (F.col("status").isNull() | ~F.col("status").isin(*EXCLUDED_CONDITION_STATUS))
        & has_hai_code(F.col("codes"), hai)
        & F.col("onset_date").isNotNull()
    ).select("condition_id", F.col("encounter_id").alias("c_encounter_id"), "onset_date")
    j = c.join(discharges, c["c_encounter_id"] == discharges["encounter_id"])
    return j.where(
        (F.col("onset_date") >= F.date_add("admit_date", 2)) & (F.col("onset_date") <= F.col("discharge_date"))
    ).select("facility_id", "month", "condition_id")


def _rate(num: Column, den: Column, scale: float = 1.0) -> Column:
    return F.when(den > 0, F.lit(scale) * num.cast("double") / den.cast("double"))


def to_cms_facility_monthly(
    patients: DataFrame, encounters: DataFrame, conditions: DataFrame,
    hai: tuple[HaiCode, ...], as_of: dt.date | None,
) -> DataFrame:
    """The gold table, columns in the contract's order; rates null when the denominator is 0."""
    stays = filter_inpatient_stays(encounters)
    d = to_flagged_discharges(stays, patients, to_as_of(stays, as_of))
    by_month = d.groupBy("facility_id", "month").agg(
        F.count(F.lit(1)).alias("discharges"),
        F.count(F.when(F.col("is_death"), 1)).alias("deaths"),
        F.sum("los").alias("patient_days"),
        F.count(F.when(F.col("is_index"), 1)).alias("index_stays"),
        F.count(F.when(F.col("is_readmitted"), 1)).alias("readmissions"),
    )
    hai_counts = to_hai_conditions(conditions, d, hai).groupBy("facility_id", "month").agg(
        F.countDistinct("condition_id").alias("hai_count")
    )
    g = by_month.join(hai_counts, ["facility_id", "month"], "left").withColumn(
        "hai_count", F.coalesce(F.col("hai_count"), F.lit(0))
    )
    out = g.select(
        "facility_id", "month", "discharges", "deaths",
        _rate(F.col("deaths"), F.col("discharges")).alias("mortality_rate"),
        "patient_days",
        _rate(F.col("patient_days"), F.col("discharges")).alias("alos"),
        "index_stays", "readmissions",
        _rate(F.col("readmissions"), F.col("index_stays")).alias("readmission_rate"),
        "hai_count",
        _rate(F.col("hai_count"), F.col("patient_days"), 1000.0).alias("hai_per_1000_patient_days"),
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in CMS_FACILITY_MONTHLY.fields])
