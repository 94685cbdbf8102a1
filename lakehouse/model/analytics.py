"""What analysts get on AWS: the headline questions on gold, as Athena named queries.

Each query reads one gold table by its bare name (the named query's database is the stack's gold
database) in the SQL Athena engine version 3 runs (Trino); they use nothing dialect-specific, so
tests/model/test_analytics.py runs them on DuckDB against tables with the gold columns.
A pipeline's queries are deployed only when the stack deploys a pipeline writing their table.
"""

from __future__ import annotations

from dataclasses import dataclass

from .pipelines import PipelineSpec

ATHENA_ENGINE_VERSION = "Athena engine version 3"  # pinned: no silent engine upgrade under analysts


@dataclass(frozen=True)
class HeadlineQuery:
    name: str  # also the named query's logical suffix
    table: str  # the gold table it reads
    description: str
    sql: str


HEADLINE_QUERIES: tuple[HeadlineQuery, ...] = (
    HeadlineQuery(
        "readmissions-latest-month", "cms_facility_monthly",
        "Facilities by 30-day readmission rate in the latest month (index stays > 0)",
        "SELECT facility_id, month, index_stays, readmissions, readmission_rate\n"
        "FROM cms_facility_monthly\n"
        "WHERE month = (SELECT max(month) FROM cms_facility_monthly) AND index_stays > 0\n"
        "ORDER BY readmission_rate DESC, facility_id\nLIMIT 20"),
    HeadlineQuery(
        "mortality-and-stay-trend", "cms_facility_monthly",
        "Mortality rate and average length of stay per facility and month",
        "SELECT facility_id, month, discharges, deaths, mortality_rate, alos\n"
        "FROM cms_facility_monthly\nORDER BY facility_id, month"),
    HeadlineQuery(
        "infections-per-1000-patient-days", "cms_facility_monthly",
        "Hospital-acquired infections per 1,000 patient days, highest first",
        "SELECT facility_id, month, hai_count, patient_days, hai_per_1000_patient_days\n"
        "FROM cms_facility_monthly\nWHERE patient_days > 0\n"
        "ORDER BY hai_per_1000_patient_days DESC, facility_id, month\nLIMIT 50"),
    HeadlineQuery(
        "climate-risk-latest-day", "climate_daily_metrics",
        "Locations by climate risk index on the latest day, with heat-related cases",
        "SELECT location_id, location_name, date, climate_risk_index, heat_related_cases_per_100k\n"
        "FROM climate_daily_metrics\n"
        "WHERE date = (SELECT max(date) FROM climate_daily_metrics)\n"
        "ORDER BY climate_risk_index DESC, location_id\nLIMIT 20"),
    HeadlineQuery(
        "bed-occupancy-under-heatwave-risk", "climate_daily_metrics",
        "Bed occupancy on days with a heatwave probability of at least 0.5",
        "SELECT location_id, date, heatwave_probability, bed_occupancy_rate, available_beds\n"
        "FROM climate_daily_metrics\nWHERE heatwave_probability >= 0.5\n"
        "ORDER BY bed_occupancy_rate DESC, location_id, date\nLIMIT 50"),
)


def gold_tables(pipelines: tuple[PipelineSpec, ...]) -> tuple[str, ...]:
    """Every gold table a deployed pipeline writes: what the analyst role may read."""
    return tuple(sorted({t for p in pipelines for j in p.jobs for a in j.writes if a.zone == "gold"
                         for t in a.tables}))


def headline_queries(pipelines: tuple[PipelineSpec, ...]) -> tuple[HeadlineQuery, ...]:
    tables = set(gold_tables(pipelines))
    return tuple(q for q in HEADLINE_QUERIES if q.table in tables)
