"""The gold metric contract (docs/metrics.md) computed a second time, in DuckDB SQL, straight from
the FHIR NDJSON files. Tests compare the Spark pipeline's `cms_facility_monthly` with it row for
row. It shares no code with glue_scripts/: the same rules, written down twice.

Why it is fast (same results as the straightforward version, issue 21): each file is read once,
into a table of (path, line number, text) per resource type, so the JSON work after it runs on both
threads; each line is parsed as JSON at most three times (json_valid; one json_extract_string with
the list of every path the rules read; for Condition one json_extract of its two arrays) instead of
once per field; the costly strict-JSON blanking regex runs only on lines that could need it; the
records keep only typed, narrow columns (never the text) for the version window and the metrics;
and no query binds parameters (DuckDB's Python client would import pandas for that).

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

# What each file type's rules and metrics read: column -> JSON path. All of a line's text fields come
# from one json_extract_string call with the list of paths (one parse of the line); JSON_FIELDS keep
# a sub-document as JSON (one more parse) for what is read as an array.
COMMON_FIELDS = {"rt": "$.resourceType", "rid": "$.id", "updated_raw": "$.meta.lastUpdated"}
TEXT_FIELDS = {
    "Patient": {"birth_raw": "$.birthDate", "deceased_raw": "$.deceasedDateTime"},
    "Encounter": {
        "status": "$.status", "class_code": "$.class.code", "subject_raw": "$.subject.reference",
        "start_raw": "$.period.start", "end_raw": "$.period.end", "facility_raw": "$.serviceProvider.reference",
        "disp_raw": "$.hospitalization.dischargeDisposition.coding[0].code",
    },
    "Condition": {
        "status": "$.status", "subject_raw": "$.subject.reference", "encounter_raw": "$.encounter.reference",
        "onset_raw": "$.onsetDateTime",
    },
}
JSON_FIELDS = {"Condition": {"codings": "$.code.coding", "verification_codings": "$.verificationStatus.coding"}}


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


def _sql_str(text: str) -> str:
    """A SQL string literal. Values are inlined, not bound: DuckDB's Python client imports pandas on
    the first query with parameters, which costs more than reading a small data set."""
    return "'" + text.replace("'", "''") + "'"


def _read_lines(path: Path) -> str:
    """SQL: one row per line of `path`: a delimiter that never occurs makes each line one column; a
    blank line reads as NULL."""
    return (f"read_csv({_sql_str(str(path))}, columns={{'line': 'VARCHAR'}}, delim=chr(1), quote='', escape='', "
            "header=false, auto_detect=false, parallel=false, compression='auto', strict_mode=false)")


def _lines_sql(files: list[tuple[str, str, Path]]) -> str:
    """SQL: (path, line_no, text) of every line of `files`, read once. Each file is read sequentially
    on its own, so row_number() OVER () is its line number."""
    if not files:
        return "SELECT NULL::VARCHAR AS path, NULL::BIGINT AS line_no, NULL::VARCHAR AS text WHERE false"
    return "\nUNION ALL\n".join(
        f"SELECT {_sql_str(rel)} AS path, row_number() OVER () AS line_no, coalesce(line, '') AS text "
        f"FROM {_read_lines(path)}" for rel, _, path in files)


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
    fixed = f"regexp_replace(regexp_replace({expr}, '^(.{{16}}):60', '\\1:59'), '(\\.[0-9]{{6}})[0-9]+', '\\1')"
    # the rewrites change only a text holding ':60' or 7+ fraction digits: the others skip them
    text = f"CASE WHEN contains({expr}, ':60') OR regexp_matches({expr}, '\\.[0-9]{{7}}') THEN {fixed} ELSE {expr} END"
    return f"(CASE WHEN length({expr}) >= 10 THEN try_cast({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END)"


_SUSPECT = "NaN|Infinity|,\\s*[]}]"  # what DuckDB's json_valid (yyjson) takes beyond RFC 8259


def _strict_json(expr: str) -> str:
    """SQL: RFC 8259 JSON. DuckDB's json_valid (yyjson) also takes NaN, Infinity and trailing commas:
    a line holding any of those outside strings (strings blanked first) is not JSON. CASE evaluates a
    branch only for the rows reaching it, so the costly blanking runs on suspect lines alone."""
    blanked = f"regexp_replace({expr}, '\"([^\"\\\\]|\\\\.)*\"', '\"\"', 'g')"
    return f"""(CASE WHEN NOT json_valid({expr}) THEN false
        WHEN NOT (contains({expr}, 'NaN') OR contains({expr}, 'Infinity') OR regexp_matches({expr}, ',\\s*[]}}]'))
          THEN true
        ELSE NOT regexp_matches({blanked}, '{_SUSPECT}') END)"""


# Silver, per type, on what bronze accepted: the first failing check is the reason (unknown_patient,
# which needs every type's outcome, comes after). Columns are those of TEXT_FIELDS / JSON_FIELDS and
# the *_ts columns of _SILVER_TS.
_SILVER_TS = {"Patient": ("updated", "deceased"), "Encounter": ("updated", "start", "end"),
              "Condition": ("updated", "onset")}
_SILVER_CHECKS = {
    "Patient": f"""
        WHEN {_bad_date('updated_raw', 'instant')} OR {_bad_date('birth_raw', 'date')}
          OR {_bad_date('deceased_raw', 'dateTime')} THEN 'invalid_date'""",
    "Encounter": f"""
        WHEN patient_id IS NULL OR class_code IS NULL OR start_raw IS NULL THEN 'missing_required_field'
        WHEN {_bad_date('updated_raw', 'instant')} OR {_bad_date('start_raw', 'dateTime')}
          OR {_bad_date('end_raw', 'dateTime')} THEN 'invalid_date'
        WHEN length(start_raw) < 10 OR length(end_raw) < 10 THEN 'partial_date'
        WHEN end_raw IS NOT NULL AND (CASE
            WHEN length(start_raw) > 10 AND length(end_raw) > 10 THEN end_ts < start_ts
            ELSE CAST(end_ts AS DATE) < CAST(start_ts AS DATE) END) THEN 'end_before_start'""",
    "Condition": f"""
        WHEN patient_id IS NULL OR coalesce(json_array_length(codings), 0) = 0 THEN 'missing_required_field'
        WHEN {_bad_date('updated_raw', 'instant')} OR {_bad_date('onset_raw', 'dateTime')} THEN 'invalid_date'""",
}


# What a record keeps (besides path, line_no, id, reason, updated_ts): what the metrics read.
_KEEP = {
    "Patient": "CAST(deceased_ts AS DATE) AS deceased_date",
    "Encounter": ("patient_id, status, class_code, facility_ref, disp_raw, "
                  "CAST(start_ts AS DATE) AS adm_date, CAST(end_ts AS DATE) AS dis_date"),
    "Condition": ("patient_id, status, encounter_id, codings, verification_codings, "
                  "CAST(onset_ts AS DATE) AS onset_date"),
}


def _records_sql(rtype: str, lines: str) -> str:
    """SQL: one row per line of the table `lines` (`rtype`'s files) with its quarantine reason (NULL =
    accepted) and, for an accepted record, the typed fields the metrics read. A line is parsed as JSON
    three times at most (validity, the text fields, the JSON fields), whatever the number of fields."""
    text_fields = {**COMMON_FIELDS, **TEXT_FIELDS[rtype]}
    json_fields = JSON_FIELDS.get(rtype, {})

    def extract(fn: str, fields: dict[str, str]) -> str:
        paths = ", ".join(f"'{p}'" for p in fields.values())
        return f"{fn}(obj, [{paths}])"

    cols = [f"t[{i}] AS {name}" for i, name in enumerate(text_fields, 1)]
    cols += [f"j[{i}] AS {name}" for i, name in enumerate(json_fields, 1)]
    json_list = f", {extract('json_extract', json_fields)} AS j" if json_fields else ""
    refs = {"subject_raw": "patient_id", "facility_raw": "facility_ref", "encounter_raw": "encounter_id"}
    resolved = "".join(f", {_ref(raw)} AS {name}" for raw, name in refs.items() if raw in text_fields)
    stamps = "".join(f", {_ts(f'{f}_raw')} AS {f}_ts" for f in _SILVER_TS[rtype])
    sql = f"""
        WITH strict AS (  -- JSON functions only ever see valid JSON (CASE runs a branch only where it applies)
          SELECT path, line_no, CASE WHEN {_strict_json('text')} THEN text END AS text FROM {lines}
        ), obj AS (  -- valid JSON starting with '{{' is an object; anything else asks json_type
          SELECT path, line_no, CASE WHEN text IS NULL THEN false WHEN starts_with(text, '{{') THEN true
                                     ELSE coalesce(json_type(text) = 'OBJECT', false) END AS is_obj, text
          FROM strict
        ), parsed AS (
          SELECT path, line_no, is_obj, CASE WHEN is_obj THEN text END AS obj FROM obj
        ), extracted AS (
          SELECT path, line_no, is_obj, {extract('json_extract_string', text_fields)} AS t{json_list} FROM parsed
        ), fields AS (
          SELECT path, line_no, is_obj, {', '.join(cols)} FROM extracted
        ), bronze AS (  -- rt: any JSON value, as its text (a number cannot match a type)
          SELECT *,
            CASE WHEN NOT is_obj THEN 'invalid_json'
                 WHEN rt IS NULL OR trim(rt) = '' THEN 'missing_resource_type'
                 WHEN rt <> '{rtype}' THEN 'resource_type_mismatch'
                 WHEN rid IS NULL OR trim(rid) = '' THEN 'missing_id'
                 WHEN NOT regexp_full_match(rid, '{FHIR_ID}') THEN 'invalid_id'
            END AS bronze_reason
          FROM fields
        ), typed AS (
          SELECT * EXCLUDE (is_obj, rt){resolved}{stamps} FROM bronze
        )
        SELECT path, line_no, rid AS id, updated_ts, {_KEEP[rtype]},
          CASE WHEN bronze_reason IS NOT NULL THEN bronze_reason {_SILVER_CHECKS[rtype]}
          END AS reason
        FROM typed"""
    return sql


def _table(rtype: str) -> str:
    return f"{rtype.lower()}_records"


def _build(con: duckdb.DuckDBPyConnection, input_dir: str | Path) -> None:
    con.execute("SET TimeZone = 'UTC'")
    files = input_files(input_dir)
    for rtype in RESOURCE_TYPES:
        # Reading is sequential per file (for the line numbers); the table lets the JSON work run in parallel.
        con.execute(f"CREATE TEMP TABLE lines AS {_lines_sql([f for f in files if f[1] == rtype])}")
        con.execute(f"CREATE TEMP TABLE {_table(rtype)} AS {_records_sql(rtype, 'lines')}")
        con.execute("DROP TABLE lines")
    for rtype in ("Encounter", "Condition"):
        con.execute(f"""
            UPDATE {_table(rtype)} SET reason = 'unknown_patient'
            WHERE reason IS NULL
              AND patient_id NOT IN (SELECT id FROM patient_records WHERE reason IS NULL)""")


def _versions(con: duckdb.DuckDBPyConnection) -> None:
    """current_<type>: the version kept per id. A quarantined record is never a version."""
    for rtype in RESOURCE_TYPES:
        con.execute(f"""
            CREATE TEMP TABLE current_{rtype.lower()} AS
            SELECT * EXCLUDE (path, line_no, updated_ts, reason) FROM {_table(rtype)} WHERE reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY id
                                       ORDER BY updated_ts DESC NULLS LAST, path DESC, line_no DESC) = 1""")


def _metrics_sql(as_of: date | None) -> str:
    return f"""
    WITH patients AS (
      SELECT id, deceased_date FROM current_patient
    ), inpatient AS (
      SELECT id, patient_id,
        coalesce(facility_ref, 'unknown') AS facility_id, adm_date, dis_date,
        CASE WHEN disp_raw = 'exp' THEN '20'
             WHEN regexp_full_match(disp_raw, '[0-9]') THEN '0' || disp_raw
             ELSE disp_raw END AS disposition
      FROM current_encounter
      WHERE class_code IN ('IMP', 'ACUTE') AND coalesce(status, '') NOT IN ('entered-in-error', 'cancelled')
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
      FROM current_condition c JOIN discharges d ON d.id = c.encounter_id
      WHERE coalesce(c.status, '') <> 'entered-in-error'
        AND NOT list_contains(coalesce(CAST(json_extract_string(c.verification_codings, '$[*].code') AS VARCHAR[]), []),
                              'entered-in-error')
        AND c.onset_date BETWEEN d.adm_date + 2 AND d.dis_date
        AND EXISTS (SELECT 1 FROM unnest(CAST(json_extract(c.codings, '$[*]') AS JSON[])) AS t(coding)
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
    codes = ", ".join(f"({_sql_str(s)}, {_sql_str(c)}, {bool(p)})" for s, c, p in (hai_codes or DEFAULT_HAI_CODES))
    con.execute(f"CREATE TEMP TABLE hai_codes AS SELECT * FROM (VALUES {codes}) AS t(system, code, is_prefix)")
    _build(con, input_dir)
    return con


def reference_rows(input_dir: str | Path, as_of: date | str | None = None,
                   hai_codes: Iterable[tuple[str, str, bool]] | None = None) -> list[tuple]:
    """cms_facility_monthly rows (COLUMNS order), sorted by facility_id, month."""
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    con = _connect(input_dir, hai_codes)
    try:
        _versions(con)
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
        rows = con.execute(" UNION ALL ".join(
            f"SELECT '{t}', reason, count(*) FROM {_table(t)} WHERE reason IS NOT NULL GROUP BY ALL"
            for t in RESOURCE_TYPES)).fetchall()
    finally:
        con.close()
    return {(t, r): int(n) for t, r, n in rows}


def line_counts(input_dir: str | Path) -> dict[str, int]:
    """Records (lines, a blank one too) per resource type of the file: bronze's input."""
    files = input_files(input_dir)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 2")
        counts: dict[str, int] = {}
        for _, rtype, path in files:
            [(n,)] = con.execute(f"SELECT count(*) FROM {_read_lines(path)}").fetchall()
            if n:  # a type whose files hold no line has no entry
                counts[rtype] = counts.get(rtype, 0) + int(n)
        return counts
    finally:
        con.close()
