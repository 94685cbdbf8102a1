"""Schemas: the JSON shapes parsed with from_json (only the fields used) and the table schemas.

Scalar JSON leaves are read as strings: Spark's JSON reader turns any scalar token into its
text, so a number where a string is expected (disposition `1`) never fails the record; only
a wrong *shape* (string where an object belongs) does, and that is quarantined.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

RESOURCE_TYPES = ("Patient", "Encounter", "Condition")


def _s(*names: str) -> list[StructField]:
    return [StructField(n, StringType()) for n in names]


CODING = StructType(_s("system", "code"))
CODEABLE = StructType([StructField("coding", ArrayType(CODING))])
REFERENCE = StructType(_s("reference"))
META = StructType(_s("lastUpdated"))

# bronze only needs to know what a line is
HEADER_JSON = StructType(_s("resourceType", "id"))
# strict JSON (RFC 8259), as the DuckDB reference's json_valid: Spark's reader would otherwise
# take 'single quotes' and NaN
STRICT_JSON = {"allowSingleQuotes": "false", "allowNonNumericNumbers": "false", "mode": "PERMISSIVE"}

PATIENT_JSON = StructType(
    _s("resourceType", "id")
    + [StructField("meta", META)]
    + _s("gender", "birthDate", "deceasedDateTime")
)
ENCOUNTER_JSON = StructType(
    _s("resourceType", "id")
    + [
        StructField("meta", META),
        StructField("status", StringType()),
        StructField("class", CODING),
        StructField("subject", REFERENCE),
        StructField("period", StructType(_s("start", "end"))),
        StructField("serviceProvider", REFERENCE),
        StructField("hospitalization", StructType([StructField("dischargeDisposition", CODEABLE)])),
    ]
)
CONDITION_JSON = StructType(
    _s("resourceType", "id")
    + [
        StructField("meta", META),
        StructField("subject", REFERENCE),
        StructField("encounter", REFERENCE),
        StructField("code", CODEABLE),
        StructField("clinicalStatus", CODEABLE),
        StructField("verificationStatus", CODEABLE),
    ]
    + _s("status", "onsetDateTime", "abatementDateTime", "recordedDate")
)

# --- bronze tables ------------------------------------------------------------------------
BRONZE_TABLES = {"Patient": "fhir_patient", "Encounter": "fhir_encounter", "Condition": "fhir_condition"}
BRONZE = StructType([
    StructField("resource_id", StringType()),
    StructField("resource_type", StringType()),
    StructField("raw", StringType()),
    StructField("source_file", StringType()),
    StructField("line_number", LongType()),
    StructField("ingest_seq", LongType()),
    StructField("run_id", StringType()),
    StructField("ingested_at", TimestampType()),
])
INGEST_LOG_TABLE = "fhir_ingested_files"
INGEST_LOG = StructType([
    StructField("source_file", StringType()),
    StructField("resource_type", StringType()),
    StructField("file_size", LongType()),
    StructField("lines", LongType()),
    StructField("accepted", LongType()),
    StructField("quarantined", LongType()),
    StructField("ingest_seq", LongType()),
    StructField("run_id", StringType()),
    StructField("ingested_at", TimestampType()),
    # a file quarantined as a whole (rules.FILE_REASONS; lines, accepted, quarantined 0); null when read
    StructField("reason", StringType()),
    StructField("detail", StringType()),
])
QUARANTINE_TABLE = "fhir_quarantine"  # in bronze and in silver
QUARANTINE_SCHEMA = StructType([
    StructField("stage", StringType()),  # bronze | silver
    StructField("resource_type", StringType()),  # from the file name (bronze) or the resource (silver)
    StructField("resource_id", StringType()),
    StructField("reason", StringType()),  # rules.REASONS
    StructField("detail", StringType()),
    StructField("source_file", StringType()),  # relative to the raw zone root, e.g. fhir/batch-0001/Patient.ndjson
    StructField("line_number", LongType()),  # 1-based line in the (decompressed) file
    StructField("ingest_seq", LongType()),  # bronze run sequence that ingested the line
    StructField("raw", StringType()),  # the line as read
    StructField("run_id", StringType()),  # the run that quarantined it
    StructField("quarantined_at", TimestampType()),
])
QUARANTINE_KEY = ("stage", "source_file", "line_number", "reason")

# --- silver tables ------------------------------------------------------------------------
VERSION_FIELDS = [  # which version wins: last_updated, then ingestion order (seq, file, line)
    StructField("last_updated", TimestampType()),
    StructField("ingest_seq", LongType()),
    StructField("source_file", StringType()),
    StructField("line_number", LongType()),
]
LINEAGE_FIELDS = [StructField("silver_run_id", StringType()), StructField("updated_at", TimestampType())]

SILVER_TABLES = {"Patient": "patients", "Encounter": "encounters", "Condition": "conditions"}
SILVER_KEYS = {"Patient": "patient_id", "Encounter": "encounter_id", "Condition": "condition_id"}
PATIENTS = StructType(
    [
        StructField("patient_id", StringType()),
        StructField("gender", StringType()),
        StructField("birth_date", DateType()),
        StructField("deceased_at", TimestampType()),
        StructField("deceased_date", DateType()),
    ]
    + VERSION_FIELDS
    + LINEAGE_FIELDS
)
ENCOUNTERS = StructType(
    [
        StructField("encounter_id", StringType()),
        StructField("patient_id", StringType()),
        StructField("status", StringType()),
        StructField("class_code", StringType()),
        StructField("period_start", TimestampType()),
        StructField("period_end", TimestampType()),
        StructField("admit_date", DateType()),
        StructField("discharge_date", DateType()),
        StructField("facility_id", StringType()),
        StructField("discharge_disposition", StringType()),
    ]
    + VERSION_FIELDS
    + LINEAGE_FIELDS
)
CONDITIONS = StructType(
    [
        StructField("condition_id", StringType()),
        StructField("patient_id", StringType()),
        StructField("encounter_id", StringType()),
        StructField("codes", ArrayType(CODING)),
        StructField("onset_at", TimestampType()),
        StructField("onset_date", DateType()),
        StructField("abatement_at", TimestampType()),
        StructField("recorded_at", TimestampType()),
        StructField("clinical_status", StringType()),
        StructField("status", StringType()),  # not in R4 Condition, honoured when present
        StructField("verification_status", StringType()),
    ]
    + VERSION_FIELDS
    + LINEAGE_FIELDS
)
SILVER_SCHEMAS = {"Patient": PATIENTS, "Encounter": ENCOUNTERS, "Condition": CONDITIONS}
# Merge-on-read: an incremental MERGE writes position deletes plus the new row versions
# instead of rewriting every data file holding a matched id (ids are random, so with
# copy-on-write that was every file: the cost grew with the table, not the batch).
SILVER_PROPERTIES = {
    "write.merge.mode": "merge-on-read",
    "write.update.mode": "merge-on-read",
    "write.delete.mode": "merge-on-read",
}
CHECKPOINT_TABLE = "fhir_checkpoints"
CHECKPOINTS = StructType([
    StructField("consumer", StringType()),  # e.g. fhir.silver
    StructField("source_table", StringType()),  # <database>.<table> read incrementally
    StructField("snapshot_id", LongType()),  # last snapshot consumed (inclusive)
    StructField("checkpoint_seq", LongType()),  # 1, 2, ... per consumer run
    StructField("run_id", StringType()),
    StructField("committed_at", TimestampType()),
])
# Encounters and Conditions that passed every check but whose subject is no accepted Patient yet:
# held here and checked again by every silver run until their patient arrives (or, with
# --max_waiting_runs, until they are quarantined as unknown_patient). The bronze line is kept, so a
# retry parses exactly what a first reading would.
WAITING_TABLE = "fhir_waiting"
WAITING = StructType([
    StructField("resource_type", StringType()),
    StructField("resource_id", StringType()),
    StructField("patient_id", StringType()),  # the subject it waits for (resolved id)
    StructField("raw", StringType()),  # the bronze line
    StructField("source_file", StringType()),
    StructField("line_number", LongType()),
    StructField("ingest_seq", LongType()),
    StructField("waiting_since_seq", LongType()),  # fhir_checkpoints.checkpoint_seq of the run that first held it
    StructField("waiting_since", TimestampType()),  # when that run held it
    StructField("run_id", StringType()),  # the run that wrote this row
])
WAITING_KEY = ("source_file", "line_number")

# --- gold -----------------------------------------------------------------------------------
GOLD_TABLE = "cms_facility_monthly"

CMS_FACILITY_MONTHLY = StructType([
    StructField("facility_id", StringType()),
    StructField("month", StringType()),
    StructField("discharges", LongType()),
    StructField("deaths", LongType()),
    StructField("mortality_rate", DoubleType()),
    StructField("patient_days", LongType()),
    StructField("alos", DoubleType()),
    StructField("index_stays", LongType()),
    StructField("readmissions", LongType()),
    StructField("readmission_rate", DoubleType()),
    StructField("hai_count", LongType()),
    StructField("hai_per_1000_patient_days", DoubleType()),
])
