"""The gold metric contract (docs/metrics.md) computed a second time, in DuckDB SQL, straight from
the FHIR NDJSON files. Tests compare the Spark pipeline's `cms_facility_monthly` with it row for
row. It shares no code with glue_scripts/: the same rules, written down twice.

`reference_rows(input_dir, as_of=None, hai_codes=None)` reads every file under `<input_dir>/fhir/`
(recursively) named `<ResourceType>.ndjson` or `<ResourceType>.<part>.ndjson`, optionally `.gz`,
for Patient, Encounter and Condition (other files are not input), and returns the gold rows as
tuples in the table's column order (COLUMNS), sorted by facility and month.
`quarantine_counts(input_dir)` returns {(resource type, reason): records} for reconciliation.

Bad-record rules (a record quarantined here is one the Spark jobs quarantine; it counts nowhere):
- Every line of a file is a record (a blank line too: it is `invalid_json`); numbers start at 1.
- Bronze, checked in this order, first failure wins:
  `invalid_json` the line is not exactly one strict (RFC 8259) JSON object;
  `missing_resource_type` no resourceType (null or blank); `resource_type_mismatch` resourceType
  (any JSON value, as text) differs from the file name's type; `missing_id` no id (null or
  blank); `invalid_id` the id's text is not a FHIR id (1-64 of A-Z a-z 0-9 - .).
- Silver, checked in this order on what bronze accepted:
  `missing_required_field` Encounter without subject, class.code or period.start; Condition
  without subject or a code.coding entry (a missing meta.lastUpdated is allowed: oldest version);
  `invalid_date` meta.lastUpdated (FHIR instant), Patient birthDate (date) / deceasedDateTime,
  Encounter period.start / period.end or Condition onsetDateTime (dateTime) present but not its
  FHIR R4 grammar (FHIR_DATE_GRAMMARS, whole text) or naming no calendar day;
  `partial_date` Encounter period.start or period.end only a year or a year-month;
  `end_before_start` Encounter period.end before period.start (as instants when both have a time,
  otherwise as UTC days: a date-only end includes its day);
  `unknown_patient` an Encounter or Condition whose subject is no patient id among the accepted
  Patient records (of all files, any version). The pipeline holds such a record in
  silver.fhir_waiting (reported as `waiting`) until its patient arrives, and quarantines it as
  `unknown_patient` only with --max_waiting_runs; seen from all input at once, its patient is
  nowhere, so it counts nowhere in either.
- Dates: a date-time is its instant in UTC (fraction cut to microseconds, a leap second :60 read
  as :59); a date-only value is that day; a partial deceasedDateTime or onsetDateTime (a year or
  a year-month, valid FHIR) names no day, so it makes no death by date and no HAI.
- A quarantined record is never a version: versions are chosen among accepted records only.
- Excluded, not quarantined (accepted, then left out of the metrics): Encounter status
  `entered-in-error` / `cancelled`; Condition `status` or `verificationStatus` `entered-in-error`.

Ordering: the version kept per (resource type, id) has the greatest meta.lastUpdated instant (none
= older than any); ties go to the greatest (source path relative to `fhir/`, line number) - what a from-scratch run
ingests last.

Other decisions the contract leaves open (see docs/metrics.md): the disposition is the first
coding's code of hospitalization.dischargeDisposition; "another inpatient encounter" (same-day
transfer, readmission) means another current, non-excluded inpatient encounter of the patient,
open stays included; the default as-of date is the latest admission or discharge date of those
encounters; an HAI coding matches on system and code.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Iterable

import duckdb

COLUMNS = (
    "facility_id", "month", "discharges", "deaths", "mortality_rate", "patient_days", "alos",
    "index_stays", "readmissions", "readmission_rate", "hai_count", "hai_per_1000_patient_days",
)
RESOURCE_TYPES = ("Patient", "Encounter", "Condition")
FILE_RE = re.compile(r"^(Patient|Encounter|Condition)(\.[^/]+)?\.ndjson(\.gz)?$")
FHIR_ID = r"[A-Za-z0-9\-\.]{1,64}"  # the FHIR R4 id datatype
# The FHIR R4 (4.0.1) date, dateTime and instant grammars, verbatim (https://hl7.org/fhir/R4/datatypes.html).
# The pipeline has the same text (lakelib.fhir.dates.GRAMMARS): the spec's definition, copied so this
# module stays independent of glue_scripts/, and kept byte-identical by tests/glue_scripts/test_fhir_dates.py.
FHIR_DATE_GRAMMARS = {
    "date": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?",
    "dateTime": (
        r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
        r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
    ),
    "instant": (
        r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
        r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
    ),
}

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
# (system, code, is_prefix)
DEFAULT_HAI_CODES = (
    (SNOMED, "91302008", False), (SNOMED, "76571007", False),
    (ICD10, "T80.211A", False), (ICD10, "T83.511A", False),
    (ICD10, "A04.71", False), (ICD10, "A04.72", False), (ICD10, "T81.4", True),
)


def input_files(input_dir: str | Path) -> list[tuple[str, str, Path]]:
    """(path relative to fhir/, resource type, absolute path), sorted by relative path."""
    root = Path(input_dir) / "fhir"
    if not root.is_dir():
        raise FileNotFoundError(f"input_dir: got {str(input_dir)!r}; allowed: a folder holding fhir/")
    out = []
    for p in root.rglob("*"):
        m = FILE_RE.match(p.name)
        if p.is_file() and m:
            out.append((p.relative_to(root).as_posix(), m.group(1), p))
    return sorted(out)


def _load_lines(con: duckdb.DuckDBPyConnection, files: list[tuple[str, str, Path]]) -> None:
    con.execute("CREATE TEMP TABLE raw_lines (path VARCHAR, line_no BIGINT, file_type VARCHAR, text VARCHAR)")
    for rel, rtype, path in files:
        # One file at a time, read sequentially: row_number() over () is the line number.
        # A delimiter that never occurs makes each line one column; a blank line reads as NULL.
        con.execute(
            """INSERT INTO raw_lines
               SELECT ?, row_number() OVER (), ?, coalesce(line, '')
               FROM read_csv(?, columns={'line': 'VARCHAR'}, delim=chr(1), quote='', escape='',
                             header=false, auto_detect=false, parallel=false, compression='auto',
                             strict_mode=false)""",
            [rel, rtype, str(path)],
        )


def _ref(expr: str) -> str:
    """SQL: a reference string -> bare id (Patient/x, urn:uuid:x, Org?identifier=sys|x, x)."""
    return f"""(CASE
        WHEN {expr} IS NULL OR trim({expr}) = '' THEN NULL
        WHEN contains({expr}, '?identifier=') THEN regexp_extract({expr}, '[?]identifier=(?:[^|]*[|])?(.*)$', 1)
        WHEN starts_with({expr}, 'urn:uuid:') THEN substr({expr}, 10)
        WHEN contains({expr}, '/') THEN regexp_extract({expr}, '([^/]*)$', 1)
        ELSE {expr} END)"""


def _valid_date(expr: str, grammar: str) -> str:
    """SQL: the text is its FHIR type's grammar (the whole text) and, when it names a day, that day exists."""
    return (f"(regexp_full_match({expr}, '{FHIR_DATE_GRAMMARS[grammar]}') AND "
            f"(length({expr}) < 10 OR try_cast(substr({expr}, 1, 10) AS DATE) IS NOT NULL))")


def _bad_date(expr: str, grammar: str) -> str:
    return f"({expr} IS NOT NULL AND NOT coalesce({_valid_date(expr, grammar)}, false))"


def _ts(expr: str) -> str:
    """SQL: a valid FHIR date/dateTime/instant -> UTC TIMESTAMP: a date-time's instant (fraction cut
    to microseconds, a leap second :60 read as :59), a day's midnight UTC; NULL for a year or a month."""
    text = f"regexp_replace(regexp_replace({expr}, '^(.{{16}}):60', '\\1:59'), '(\\.[0-9]{{6}})[0-9]+', '\\1')"
    return f"(CASE WHEN length({expr}) >= 10 THEN try_cast({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END)"


def _strict_json(expr: str) -> str:
    """RFC 8259 JSON. DuckDB's json_valid (yyjson) also takes NaN, Infinity and trailing commas:
    lines holding any of those outside strings (strings blanked first) are not JSON."""
    blanked = f"regexp_replace({expr}, '\"([^\"\\\\]|\\\\.)*\"', '\"\"', 'g')"
    return (f"(json_valid({expr}) AND (NOT regexp_matches({expr}, 'NaN|Infinity|,\\s*[]}}]') "
            f"OR NOT regexp_matches({blanked}, 'NaN|Infinity|,\\s*[]}}]')))")


def _build(con: duckdb.DuckDBPyConnection, input_dir: str | Path) -> None:
    con.execute("SET TimeZone = 'UTC'")
    _load_lines(con, input_files(input_dir))
    valid_json = _strict_json('text')
    con.execute(f"""
        CREATE TEMP TABLE bronze AS
        WITH v AS (  -- JSON functions only ever see valid JSON (DuckDB does not short-circuit AND)
          SELECT * EXCLUDE (text), text AS raw_text, CASE WHEN {valid_json} THEN text END AS text FROM raw_lines
        ), j AS (
          SELECT *, coalesce(json_type(text) = 'OBJECT', false) AS is_obj FROM v
        ), f AS (
          SELECT *,
            text->>'$.resourceType' AS rt,  -- any JSON value, as its text (a number cannot match a type)
            text->>'$.id' AS rid
          FROM j
        )
        SELECT path, line_no, file_type, CASE WHEN is_obj THEN text END AS text, rt, rid,
          CASE WHEN NOT is_obj THEN 'invalid_json'
               WHEN rt IS NULL OR trim(rt) = '' THEN 'missing_resource_type'
               WHEN rt <> file_type THEN 'resource_type_mismatch'
               WHEN rid IS NULL OR trim(rid) = '' THEN 'missing_id'
               WHEN NOT regexp_full_match(rid, '{FHIR_ID}') THEN 'invalid_id'
          END AS reason
        FROM f""")
    # Flatten what the metrics need, per type, from the records bronze accepted.
    con.execute(f"""
        CREATE TEMP TABLE flat AS
        SELECT path, line_no, file_type AS rtype, rid AS id,
          text->>'$.meta.lastUpdated' AS updated_raw,
          text->>'$.status' AS status,
          text->>'$.birthDate' AS birth_raw,
          text->>'$.deceasedDateTime' AS deceased_raw,
          text->>'$.class.code' AS class_code,
          {_ref("(text->>'$.subject.reference')")} AS patient_id,
          text->>'$.period.start' AS start_raw,
          text->>'$.period.end' AS end_raw,
          {_ref("(text->>'$.serviceProvider.reference')")} AS facility_ref,
          text->>'$.hospitalization.dischargeDisposition.coding[0].code' AS disp_raw,
          {_ref("(text->>'$.encounter.reference')")} AS encounter_id,
          text->>'$.onsetDateTime' AS onset_raw,
          coalesce(json_array_length(text, '$.code.coding'), 0) AS n_codings,
          list_contains(coalesce(
            CAST(json_extract_string(text, '$.verificationStatus.coding[*].code') AS VARCHAR[]), []),
            'entered-in-error') AS verification_eie,
          text
        FROM bronze WHERE reason IS NULL""")
    con.execute(f"""
        CREATE TEMP TABLE checked AS
        SELECT *,
          CASE
            WHEN (rtype = 'Encounter' AND (patient_id IS NULL OR class_code IS NULL OR start_raw IS NULL))
              OR (rtype = 'Condition' AND (patient_id IS NULL OR n_codings = 0))
              THEN 'missing_required_field'
            WHEN {_bad_date('updated_raw', 'instant')}
              OR (rtype = 'Patient' AND ({_bad_date('birth_raw', 'date')} OR {_bad_date('deceased_raw', 'dateTime')}))
              OR (rtype = 'Encounter' AND ({_bad_date('start_raw', 'dateTime')} OR {_bad_date('end_raw', 'dateTime')}))
              OR (rtype = 'Condition' AND {_bad_date('onset_raw', 'dateTime')})
              THEN 'invalid_date'
            WHEN rtype = 'Encounter' AND (length(start_raw) < 10 OR length(end_raw) < 10)
              THEN 'partial_date'
            WHEN rtype = 'Encounter' AND end_raw IS NOT NULL AND (CASE
                WHEN length(start_raw) > 10 AND length(end_raw) > 10 THEN {_ts('end_raw')} < {_ts('start_raw')}
                ELSE CAST({_ts('end_raw')} AS DATE) < CAST({_ts('start_raw')} AS DATE) END)
              THEN 'end_before_start'
          END AS reason
        FROM flat""")
    con.execute("""
        UPDATE checked SET reason = 'unknown_patient'
        WHERE reason IS NULL AND rtype IN ('Encounter', 'Condition')
          AND patient_id NOT IN (SELECT id FROM checked WHERE rtype = 'Patient' AND reason IS NULL)""")
    con.execute(f"""
        CREATE TEMP TABLE current AS
        SELECT * EXCLUDE (rn) FROM (
          SELECT *, {_ts('updated_raw')} AS updated,
            row_number() OVER (PARTITION BY rtype, id
                               ORDER BY {_ts('updated_raw')} DESC NULLS LAST, path DESC, line_no DESC) AS rn
          FROM checked WHERE reason IS NULL)
        WHERE rn = 1""")


def _metrics_sql(as_of: date | None) -> str:
    return f"""
    WITH patients AS (
      SELECT id, CAST({_ts('deceased_raw')} AS DATE) AS deceased_date FROM current WHERE rtype = 'Patient'
    ), inpatient AS (
      SELECT id, patient_id,
        coalesce(facility_ref, 'unknown') AS facility_id,
        CAST({_ts('start_raw')} AS DATE) AS adm_date,
        CAST({_ts('end_raw')} AS DATE) AS dis_date,
        CASE WHEN disp_raw = 'exp' THEN '20'
             WHEN regexp_full_match(disp_raw, '[0-9]') THEN '0' || disp_raw
             ELSE disp_raw END AS disposition
      FROM current
      WHERE rtype = 'Encounter' AND class_code IN ('IMP', 'ACUTE')
        AND coalesce(status, '') NOT IN ('entered-in-error', 'cancelled')
    ), as_of AS (
      SELECT {f"DATE '{as_of.isoformat()}' AS d" if as_of else
              "max(greatest(adm_date, coalesce(dis_date, adm_date))) AS d FROM inpatient"}
    ), discharges AS (
      SELECT i.*, strftime(i.dis_date, '%Y-%m') AS month,
        greatest(1, i.dis_date - i.adm_date) AS los,
        (i.disposition IS NOT DISTINCT FROM '20'
          OR coalesce(p.deceased_date BETWEEN i.adm_date AND i.dis_date + 1, false)) AS died
      FROM inpatient i LEFT JOIN patients p ON p.id = i.patient_id
      WHERE i.dis_date IS NOT NULL
    ), index_stays AS (
      SELECT d.*,
        EXISTS (SELECT 1 FROM inpatient r WHERE r.patient_id = d.patient_id AND r.id <> d.id
                AND r.adm_date - d.dis_date BETWEEN 1 AND 30) AS readmitted
      FROM discharges d, as_of
      WHERE NOT d.died AND coalesce(d.disposition, '') NOT IN ('02', '07')
        AND NOT EXISTS (SELECT 1 FROM inpatient t WHERE t.patient_id = d.patient_id AND t.id <> d.id
                        AND t.adm_date = d.dis_date)
        AND d.dis_date + 30 <= as_of.d
    ), hai AS (
      SELECT d.facility_id, d.month, count(DISTINCT c.id) AS hai_count
      FROM current c JOIN discharges d ON d.id = c.encounter_id
      WHERE c.rtype = 'Condition'
        AND coalesce(c.status, '') <> 'entered-in-error' AND NOT c.verification_eie
        AND CAST({_ts('c.onset_raw')} AS DATE) BETWEEN d.adm_date + 2 AND d.dis_date
        AND EXISTS (SELECT 1 FROM unnest(CAST(json_extract(c.text, '$.code.coding[*]') AS JSON[])) AS t(coding)
                    JOIN hai_codes h ON h.system = (coding->>'$.system')
                     AND ((coding->>'$.code') = h.code OR (h.is_prefix AND starts_with(coding->>'$.code', h.code))))
      GROUP BY ALL
    ), per_month AS (
      SELECT facility_id, month, count(*) AS discharges, count(*) FILTER (WHERE died) AS deaths,
        sum(los) AS patient_days
      FROM discharges GROUP BY ALL
    ), readm AS (
      SELECT facility_id, month, count(*) AS index_stays, count(*) FILTER (WHERE readmitted) AS readmissions
      FROM index_stays GROUP BY ALL
    )
    SELECT m.facility_id, m.month,
      m.discharges, m.deaths, m.deaths / m.discharges AS mortality_rate,
      m.patient_days, m.patient_days / m.discharges AS alos,
      coalesce(r.index_stays, 0) AS index_stays, coalesce(r.readmissions, 0) AS readmissions,
      CASE WHEN coalesce(r.index_stays, 0) > 0 THEN r.readmissions / r.index_stays END AS readmission_rate,
      coalesce(h.hai_count, 0) AS hai_count,
      1000.0 * coalesce(h.hai_count, 0) / m.patient_days AS hai_per_1000_patient_days
    FROM per_month m
    LEFT JOIN readm r USING (facility_id, month)
    LEFT JOIN hai h USING (facility_id, month)
    ORDER BY m.facility_id, m.month"""


def _connect(input_dir: str | Path, hai_codes: Iterable[tuple[str, str, bool]] | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE TEMP TABLE hai_codes (system VARCHAR, code VARCHAR, is_prefix BOOLEAN)")
    con.executemany("INSERT INTO hai_codes VALUES (?, ?, ?)", [tuple(c) for c in (hai_codes or DEFAULT_HAI_CODES)])
    _build(con, input_dir)
    return con


def reference_rows(input_dir: str | Path, as_of: date | str | None = None,
                   hai_codes: Iterable[tuple[str, str, bool]] | None = None) -> list[tuple]:
    """cms_facility_monthly rows (COLUMNS order), sorted by facility_id, month."""
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    con = _connect(input_dir, hai_codes)
    try:
        rows = con.execute(_metrics_sql(as_of)).fetchall()
    finally:
        con.close()
    return [tuple(_plain(v) for v in r) for r in rows]


def _plain(v):
    if isinstance(v, float) or v is None or isinstance(v, str):
        return v
    return int(v) if not isinstance(v, bool) else v


def quarantine_counts(input_dir: str | Path) -> dict[tuple[str, str], int]:
    """{(resource type of the file, reason): records} over bronze and silver checks."""
    con = _connect(input_dir, None)
    try:
        rows = con.execute("""
            SELECT file_type, reason, count(*) FROM bronze WHERE reason IS NOT NULL GROUP BY ALL
            UNION ALL
            SELECT rtype, reason, count(*) FROM checked WHERE reason IS NOT NULL GROUP BY ALL""").fetchall()
    finally:
        con.close()
    return {(t, r): int(n) for t, r, n in rows}


def line_counts(input_dir: str | Path) -> dict[str, int]:
    """Records (non-empty lines) per resource type of the file: bronze's input."""
    con = duckdb.connect()
    try:
        _load_lines(con, input_files(input_dir))
        return {t: int(n) for t, n in con.execute("SELECT file_type, count(*) FROM raw_lines GROUP BY 1").fetchall()}
    finally:
        con.close()
