"""Every validation and correction rule of the climate-health feeds (lakelib.climate: rules.py,
applied by ingest.py) and the daily metrics (metrics.py), on tiny CSV files parsed and validated
by real local Spark. Each feed is validated once per module; each test checks one line's outcome
exactly (reason text, typed values, audit)."""

from __future__ import annotations

import datetime as dt

import pytest
from climate_support import lines_df

from lakelib.climate import ingest, metrics, schemas

D = dt.date
LOC_H = "location_id,name,type,population,area"
CLI_H = ("location_id,date,temperature,precipitation,humidity,flood_probability,drought_probability,"
         "heatwave_probability")
HEA_H = "location_id,date,respiratory_cases,heat_related_cases,waterborne_cases,vector_borne_cases"
HOS_H = "location_id,date,total_beds,available_beds,icu_beds,staff_count"

LOCATIONS = {
    "a.csv": [LOC_H,
              "L1,Alpha,city,1000,12.5",  # 2: superseded by line 15
              ",Beta,city,10,1.0",
              "L3,,city,10,1.0",
              "L4,Delta,,10,1.0",
              "L5,Eps,city,12k,1.0",
              "L6,Zeta,city,10.5,1.0",
              "L7,Eta,city,10,abc",
              "L8,Theta,city,-5,1.0",
              "L9,Iota,city,10,0",
              "L10,Kappa,city,99999999999,1.0",
              "L11,Lam,city,3000000000,1.0",
              "L12,Mu,city",
              ",,,,",
              "L1,Alpha2,city,2000,13",
              '"L16","Quoted, Name",district, 500 ,7',
              "   ",
              "L18,NaNville,city,10,NaN"],
    "b.csv": ["id,name,type,population,area", "L20,X,city,1,1"],
    "c.csv": ["\ufeff" + LOC_H, "L30,Y,city,1,1"],
}
LOCATION_REASONS = [
    ("a.csv", 2, "duplicate key (location_id) in this run: superseded by a later line"),
    ("a.csv", 3, "location_id: missing"),
    ("a.csv", 4, "name: missing"),
    ("a.csv", 5, "type: missing"),
    ("a.csv", 6, "population: '12k' is not an integer"),
    ("a.csv", 7, "population: '10.5' is not an integer"),
    ("a.csv", 8, "area: 'abc' is not a number"),
    ("a.csv", 9, "population: -5 is negative"),
    ("a.csv", 10, "area: 0.0 is not > 0"),
    ("a.csv", 11, "population: '99999999999' is not an integer"),
    ("a.csv", 12, "population: '3000000000' is not an integer"),
    ("a.csv", 13, f"malformed CSV line: expected 5 fields ({LOC_H})"),
    ("a.csv", 14, "location_id: missing; name: missing; type: missing; population: missing; area: missing"),
    ("a.csv", 15, None),
    ("a.csv", 16, None),
    ("a.csv", 18, "area: 'NaN' is not a number"),
    ("b.csv", 2, f"file header 'id,name,type,population,area' is not the expected '{LOC_H}'"),
    ("c.csv", 2, None),
]

CLIMATE = {"cl.csv": [
    CLI_H,
    "L1,2024-07-01,25.5,1.0,60,0.1,0.2,0.3",  # 2: superseded by line 15
    "L1,2024-02-30,25,,,0.1,0.1,0.1",
    "L1,2024-7-1,25,,,,,",
    "L1,2024/07/01,25,,,,,",
    "L1,2024-07-02,,1,1,0.1,0.1,0.1",
    "L1,2024-07-03,warm,1,1,0.1,0.1,0.1",
    "L1,2024-07-04,20,0,50,1.5,0.1,0.1",
    "L1,2024-07-05,20,0,50,-0.2,0.1,-0.01",
    "L1,2024-07-06,20,0,50,,,",
    "L3,2024-07-07,20,0,50,0.1,0.1,0.1",
    "L1,2024-02-30,20,0,50,-0.5,0.1,0.1",
    "L2,2024-07-08,20,0,50,1,0,0",
    "L2,2024-07-09,20,0,50,-0.1,2,0",
    "L1,2024-07-01,26.0,0.5,55,0.2,0.2,0.2",
    "L2,2024-07-08,hot,0,50,1,0,0",
]}
CLIMATE_REASONS = [
    ("cl.csv", 2, "duplicate key (location_id, date) in this run: superseded by a later line"),
    ("cl.csv", 3, "date: '2024-02-30' is not a yyyy-MM-dd date"),
    ("cl.csv", 4, "date: '2024-7-1' is not a yyyy-MM-dd date"),
    ("cl.csv", 5, "date: '2024/07/01' is not a yyyy-MM-dd date"),
    ("cl.csv", 6, "temperature: missing"),
    ("cl.csv", 7, "temperature: 'warm' is not a number"),
    ("cl.csv", 8, "flood_probability: 1.5 is above 1"),
    ("cl.csv", 9, None),
    ("cl.csv", 10, None),
    ("cl.csv", 11, "location_id: 'L3' is not a known location"),
    ("cl.csv", 12, "date: '2024-02-30' is not a yyyy-MM-dd date"),
    ("cl.csv", 13, None),
    ("cl.csv", 14, "drought_probability: 2.0 is above 1"),
    ("cl.csv", 15, None),
    ("cl.csv", 16, "temperature: 'hot' is not a number"),
]

HEALTH = {"he.csv": [
    HEA_H,
    "L1,2024-07-01,5,0,1,2",
    "L1,2024-07-02,-3,0,-1,2",
    "L1,2024-07-03,3.5,0,1,2",
    ",2024-07-04,1,1,1,1",
    "L1,,1,1,1,1",
    "L1,2024-07-05,1,,1,1",
]}
HEALTH_REASONS = [
    ("he.csv", 2, None),
    ("he.csv", 3, None),
    ("he.csv", 4, "respiratory_cases: '3.5' is not an integer"),
    ("he.csv", 5, "location_id: missing"),
    ("he.csv", 6, "date: missing"),
    ("he.csv", 7, "heat_related_cases: missing"),
]

HOSPITAL = {"ho.csv": [
    HOS_H,
    "L1,2024-07-01,100,20,10,300",
    "L1,2024-07-02,100,100,10,300",
    "L1,2024-07-03,100,101,10,300",
    "L1,2024-07-04,100,20,-1,300",
    "L1,2024-07-05,-5,-6,1,1",
    "L1,2024-07-06,ten,1,1,1",
]}
HOSPITAL_REASONS = [
    ("ho.csv", 2, None),
    ("ho.csv", 3, None),
    ("ho.csv", 4, "available_beds: 101 exceeds total_beds 100"),
    ("ho.csv", 5, "icu_beds: -1 is negative"),
    ("ho.csv", 6, "total_beds: -5 is negative; available_beds: -6 is negative"),
    ("ho.csv", 7, "total_beds: 'ten' is not an integer"),
]

CASES = {"locations": (LOCATIONS, LOCATION_REASONS), "climate": (CLIMATE, CLIMATE_REASONS),
         "health": (HEALTH, HEALTH_REASONS), "hospital": (HOSPITAL, HOSPITAL_REASONS)}


def _validate(spark, files: dict[str, list[str]], feed_name: str):
    fd = schemas.feed(feed_name)
    lines = lines_df(spark, [(f, i + 1, text) for f, texts in files.items() for i, text in enumerate(texts)])
    known = spark.createDataFrame([("L1",), ("L2",)], "location_id string")
    return fd, ingest.validate(ingest.parse_lines(lines, fd), fd, known)


@pytest.fixture(scope="module")
def validated(spark):
    """feed -> (Feed, validated DataFrame), cached: each feed is computed once."""
    out = {}
    for feed_name, (files, _) in CASES.items():
        fd, df = _validate(spark, files, feed_name)
        out[feed_name] = (fd, df.cache())
    yield out
    for _, df in out.values():
        df.unpersist()


@pytest.fixture(scope="module")
def outcomes(validated):
    """feed -> {(file, line): row} of the validated DataFrame."""
    return {name: {(r["_source_file"], r["_source_line"]): r for r in df.collect()}
            for name, (_, df) in validated.items()}


@pytest.mark.parametrize("feed_name,source_file,line,reason", [
    (feed_name, f, line, reason) for feed_name, (_, cases) in CASES.items() for f, line, reason in cases
])
def test_each_line_gets_exactly_its_reason(outcomes, feed_name, source_file, line, reason):
    assert outcomes[feed_name][(source_file, line)]["_reason"] == reason


@pytest.mark.parametrize("feed_name", sorted(CASES))
def test_every_data_line_is_accepted_or_quarantined_and_blank_lines_are_not_input(outcomes, feed_name):
    files, cases = CASES[feed_name]
    data_lines = {(f, i + 1) for f, texts in files.items() for i, t in enumerate(texts) if i > 0 and t.strip()}
    assert set(outcomes[feed_name]) == data_lines
    assert {(f, line) for f, line, _ in cases} == data_lines


def test_locations_are_typed_trimmed_and_the_later_duplicate_wins(outcomes):
    rows = outcomes["locations"]
    assert [(r["location_id"], r["name"], r["type"], r["population"], r["area"])
            for k, r in sorted(rows.items()) if r["_reason"] is None] == [
        ("L1", "Alpha2", "city", 2000, 13.0),
        ("L16", "Quoted, Name", "district", 500, 7.0),
        ("L30", "Y", "city", 1, 1.0),
    ]


def test_negative_probabilities_become_zero_and_are_audited(validated, outcomes):
    row = outcomes["climate"][("cl.csv", 9)]
    assert (row["flood_probability"], row["drought_probability"], row["heatwave_probability"]) == (0.0, 0.1, 0.0)
    fd, df = validated["climate"]
    audit = sorted(tuple(r) for r in ingest.to_correction_rows(df, fd, "run-7").collect())
    # Lines 12 and 14 also hold negative probabilities but are quarantined: nothing audited.
    assert audit == [
        ("climate_data", "location_id=L1|date=2024-07-05", "flood_probability", "-0.2", "0",
         "negative probability set to 0", "run-7", "cl.csv", 9),
        ("climate_data", "location_id=L1|date=2024-07-05", "heatwave_probability", "-0.01", "0",
         "negative probability set to 0", "run-7", "cl.csv", 9),
    ]


def test_missing_probabilities_stay_null_and_bounds_zero_and_one_are_valid(outcomes):
    r10, r13 = outcomes["climate"][("cl.csv", 10)], outcomes["climate"][("cl.csv", 13)]
    assert (r10["flood_probability"], r10["drought_probability"], r10["heatwave_probability"]) == (None, None, None)
    assert (r13["flood_probability"], r13["drought_probability"], r13["heatwave_probability"]) == (1.0, 0.0, 0.0)
    assert r13["date"] == D(2024, 7, 8)


def test_negative_case_counts_become_zero_and_are_audited(validated, outcomes):
    row = outcomes["health"][("he.csv", 3)]
    assert [row[c] for c in schemas.CASE_COUNTS] == [0, 0, 0, 2]
    fd, df = validated["health"]
    audit = sorted(tuple(r) for r in ingest.to_correction_rows(df, fd, "r1").collect())
    assert audit == [
        ("health_data", "location_id=L1|date=2024-07-02", "respiratory_cases", "-3", "0",
         "negative case count set to 0", "r1", "he.csv", 3),
        ("health_data", "location_id=L1|date=2024-07-02", "waterborne_cases", "-1", "0",
         "negative case count set to 0", "r1", "he.csv", 3),
    ]


def test_available_beds_equal_to_total_beds_is_accepted(outcomes):
    row = outcomes["hospital"][("ho.csv", 3)]
    assert (row["total_beds"], row["available_beds"], row["icu_beds"], row["staff_count"]) == (100, 100, 10, 300)


def test_quarantine_rows_keep_file_line_raw_text_and_reason(validated):
    fd, df = validated["hospital"]
    q = sorted(tuple(r) for r in ingest.to_quarantine_rows(df, fd, "r9").collect())
    assert q[0] == ("hospital", "ho.csv", 4, "L1,2024-07-03,100,101,10,300",
                    "available_beds: 101 exceeds total_beds 100", "r9")
    assert [r[2] for r in q] == [4, 5, 6, 7]
    acc = ingest.to_accepted_rows(df, fd)
    assert acc.columns == [*fd.columns, "source_file", "source_line"]
    assert sorted(tuple(r) for r in acc.collect()) == [
        ("L1", D(2024, 7, 1), 100, 20, 10, 300, "ho.csv", 2),
        ("L1", D(2024, 7, 2), 100, 100, 10, 300, "ho.csv", 3),
    ]


def test_unknown_feed_names_the_feeds():
    with pytest.raises(ValueError, match=r"unknown climate feed 'weather'; feeds: \['climate', 'health'"):
        schemas.feed("weather")


# --- derived metrics on hand-computed values -------------------------------------------------

def test_daily_metrics_match_hand_computed_values(spark):
    locs = spark.createDataFrame([("A", "Alpha", "city", 200000, 50.0), ("Z", "Zero", "rural", 0, 10.0)],
                                 "location_id string, name string, type string, population int, area double")
    cl = spark.createDataFrame(
        [("A", D(2024, 7, 1), 30.0, 2.0, 0.1, 0.2, 0.3), ("A", D(2024, 7, 2), 20.0, 0.0, None, None, None),
         ("Z", D(2024, 7, 1), 10.0, 0.0, 0.5, None, None)],
        "location_id string, date date, temperature double, precipitation double, flood_probability double, "
        "drought_probability double, heatwave_probability double")
    he = spark.createDataFrame([("A", D(2024, 7, 1), 10, 4, 3, 3), ("Z", D(2024, 7, 1), 1, 0, 0, 0)],
                               "location_id string, date date, respiratory_cases int, heat_related_cases int, "
                               "waterborne_cases int, vector_borne_cases int")
    ho = spark.createDataFrame([("A", D(2024, 7, 1), 50, 10), ("A", D(2024, 7, 3), 0, 0)],
                               "location_id string, date date, total_beds int, available_beds int")
    got = {(r["location_id"], r["date"]): r.asDict() for r in metrics.to_daily_metrics(locs, cl, he, ho).collect()}
    assert sorted(got) == [("A", D(2024, 7, 1)), ("A", D(2024, 7, 2)), ("A", D(2024, 7, 3)), ("Z", D(2024, 7, 1))]
    a1 = got[("A", D(2024, 7, 1))]
    assert a1["population_density"] == pytest.approx(4000.0)
    assert a1["climate_risk_index"] == pytest.approx(1 - 0.9 * 0.8 * 0.7)
    assert a1["total_cases"] == 20
    assert a1["cases_per_100k"] == pytest.approx(10.0)
    assert a1["heat_related_cases_per_100k"] == pytest.approx(2.0)
    assert a1["bed_occupancy_rate"] == pytest.approx(0.8)
    assert a1["beds_per_100k"] == pytest.approx(25.0)
    a2 = got[("A", D(2024, 7, 2))]  # climate row with every probability missing, no health/hospital row
    assert (a2["climate_risk_index"], a2["total_cases"], a2["cases_per_100k"], a2["bed_occupancy_rate"]) == (
        None, None, None, None)
    a3 = got[("A", D(2024, 7, 3))]  # hospital only, zero beds
    assert (a3["temperature"], a3["bed_occupancy_rate"], a3["beds_per_100k"]) == (None, None, 0.0)
    z1 = got[("Z", D(2024, 7, 1))]  # population 0: per-100k rates undefined; one known probability
    assert (z1["cases_per_100k"], z1["total_cases"], z1["climate_risk_index"]) == (None, 1, 0.5)
    assert list(metrics.to_daily_metrics(locs, cl, he, ho).columns) == list(schemas.METRIC_COLUMNS)
