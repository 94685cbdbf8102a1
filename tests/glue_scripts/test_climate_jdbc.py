"""lakelib.io.jdbc against a real PostgreSQL server (lakehouse.runner.pg_local): the managed schema,
idempotent upserts, and a load that fails half-way leaving the table as it was. Also where
credentials come from (argument file, environment, Glue connection + Secrets Manager), and TLS:
verify-full against the CA file the job is given, refused for another CA or another host name."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from climate_support import pg  # noqa: F401  (fixture)
from moto import mock_aws

from lakehouse.model.packaging import CA_BUNDLE_PATH as RDS_BUNDLE
from lakehouse.runner import pg_local
from lakelib.climate import schemas as climate
from lakelib.climate.schemas import schema_ddl
from lakelib.io import jdbc

D = dt.date
HOSPITAL_COLUMNS = "location_id string, date date, total_beds int, available_beds int, icu_beds int, " \
                   "staff_count int, source_file string, source_line long"


@pytest.fixture(scope="module")
def target(spark, pg):  # noqa: F811
    t = jdbc.resolve_target(spark, {k.lstrip("-"): v for k, v in pg.job_arguments().items()})
    jdbc.apply_schema(spark, t, schema_ddl())
    jdbc.apply_schema(spark, t, schema_ddl())  # idempotent
    with pg.connect() as c:
        c.execute("INSERT INTO locations (location_id, name, type, population, area) VALUES "
                  "('L1', 'Alpha', 'city', 1000, 10), ('L2', 'Beta', 'town', 500, 5) ON CONFLICT DO NOTHING")
    return t


def hospital_rows(pg):  # noqa: F811
    with pg.connect() as c:
        return c.execute("SELECT location_id, date, total_beds, available_beds, icu_beds, staff_count, source_file, "
                         "source_line, xmin::text FROM hospital_data ORDER BY location_id, date").fetchall()


def stages(pg):  # noqa: F811
    with pg.connect() as c:
        return c.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE '%\\_\\_stage\\_%'").fetchall()


def test_schema_has_natural_primary_keys_and_date_indexes(target, pg):  # noqa: F811
    with pg.connect() as c:
        tables = {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
        idx = dict(c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'").fetchall())
    # the schema loaded from the package data (what Glue applies) created every table
    assert {"locations", "climate_data", "health_data", "hospital_data"} <= tables
    assert idx["locations_pkey"].endswith("USING btree (location_id)")
    for t in ("climate_data", "health_data", "hospital_data"):
        # the primary key index leads with location_id, so it also serves location lookups
        assert idx[f"{t}_pkey"].endswith("USING btree (location_id, date)")
        assert idx[f"{t}_date_idx"].endswith("USING btree (date)")


def test_upsert_inserts_updates_changed_rows_only_and_reruns_change_nothing(spark, target, pg):  # noqa: F811
    v1 = spark.createDataFrame([("L1", D(2024, 7, 1), 100, 20, 10, 300, "f1", 2),
                                ("L1", D(2024, 7, 2), 100, 30, 10, 300, "f1", 3)], HOSPITAL_COLUMNS)
    key = ("location_id", "date")
    data_cols = ["total_beds", "available_beds", "icu_beds", "staff_count"]
    assert jdbc.upsert(spark, target, v1, "hospital_data", key, "run-a", compare=data_cols) == 2
    first = hospital_rows(pg)
    assert [r[:8] for r in first] == [("L1", D(2024, 7, 1), 100, 20, 10, 300, "f1", 2),
                                      ("L1", D(2024, 7, 2), 100, 30, 10, 300, "f1", 3)]
    # The same rows from another file: nothing to update, not even lineage (xmin unchanged).
    again = spark.createDataFrame([(*r[:6], "f2", 9) for r in first], HOSPITAL_COLUMNS)
    assert jdbc.upsert(spark, target, again, "hospital_data", key, "run-b", compare=data_cols) == 0
    assert hospital_rows(pg) == first
    # One changed row and one new row.
    v2 = spark.createDataFrame([("L1", D(2024, 7, 2), 100, 35, 10, 300, "f3", 4),
                                ("L2", D(2024, 7, 2), 50, 5, 4, 120, "f3", 5)], HOSPITAL_COLUMNS)
    assert jdbc.upsert(spark, target, v2, "hospital_data", key, "run-c", compare=data_cols) == 2
    after = hospital_rows(pg)
    assert [r[:8] for r in after] == [("L1", D(2024, 7, 1), 100, 20, 10, 300, "f1", 2),
                                      ("L1", D(2024, 7, 2), 100, 35, 10, 300, "f3", 4),
                                      ("L2", D(2024, 7, 2), 50, 5, 4, 120, "f3", 5)]
    assert after[0][8] == first[0][8]  # the untouched row was not rewritten
    assert stages(pg) == []


def test_a_load_failing_half_way_leaves_the_table_unchanged_and_no_stage(spark, target, pg):  # noqa: F811
    before = hospital_rows(pg)
    assert before, "runs after the upsert test: the table has rows to protect"
    # Valid updates first, then a row breaking the CHECK (available_beds <= total_beds) that
    # validation would have quarantined: the merge statement fails part-way through.
    bad = spark.createDataFrame([("L1", D(2024, 7, 1), 999, 1, 1, 1, "bad", 2),
                                 ("L2", D(2024, 8, 1), 10, 5, 1, 1, "bad", 3),
                                 ("L2", D(2024, 8, 2), 10, 11, 1, 1, "bad", 4)], HOSPITAL_COLUMNS)
    with pytest.raises(Exception, match="hospital_data_check"):
        jdbc.upsert(spark, target, bad, "hospital_data", ("location_id", "date"), "run-bad")
    assert hospital_rows(pg) == before
    assert stages(pg) == []


def test_a_foreign_key_violation_also_rolls_back(spark, target, pg):  # noqa: F811
    before = hospital_rows(pg)
    bad = spark.createDataFrame([("L1", D(2024, 9, 1), 10, 5, 1, 1, "x", 2),
                                 ("NOPE", D(2024, 9, 1), 10, 5, 1, 1, "x", 3)], HOSPITAL_COLUMNS)
    with pytest.raises(Exception, match="hospital_data_location_id_fkey"):
        jdbc.upsert(spark, target, bad, "hospital_data", ("location_id", "date"), "run-fk")
    assert hospital_rows(pg) == before
    assert stages(pg) == []


def test_read_table_reads_typed_columns(spark, target):
    df = jdbc.read_table(spark, target, "locations", climate.feed("locations").columns)
    assert sorted(tuple(r) for r in df.collect()) == [("L1", "Alpha", "city", 1000, 10.0),
                                                       ("L2", "Beta", "town", 500, 5.0)]


# --- SQL text is built from checked identifiers only ---------------------------------------

@pytest.mark.parametrize("name", ["x; DROP TABLE locations", "Locations", "a-b", "", "1abc", "a" * 64, "t\"x"])
def test_identifiers_outside_the_safe_set_are_refused(name):
    with pytest.raises(ValueError, match="SQL identifier .* not allowed; allowed: lower-case letters"):
        jdbc.ident(name)


def test_merge_sql_is_one_insert_on_conflict_that_skips_unchanged_rows():
    assert jdbc.merge_sql("health_data", "health_data__stage_r1", ["location_id", "date", "n", "source_file"],
                          ["location_id", "date"], compare=["n"]) == (
        "INSERT INTO health_data AS t (location_id, date, n, source_file) SELECT location_id, date, n, "
        "source_file FROM health_data__stage_r1 ON CONFLICT (location_id, date) DO UPDATE SET n = EXCLUDED.n, "
        "source_file = EXCLUDED.source_file WHERE t.n IS DISTINCT FROM EXCLUDED.n")
    with pytest.raises(ValueError, match=r"key columns \['id'\] are not among the loaded columns"):
        jdbc.merge_sql("t", "s", ["a"], ["id"])


def test_stage_names_are_per_run_and_bounded():
    assert jdbc.stage_name("climate_data", "jr_0123ABCdef") == "climate_data__stage_jr0123abcdef"
    assert len(jdbc.stage_name("a" * 60, "x" * 40)) == 63


# --- where the URL and credentials come from ------------------------------------------------

def test_local_credentials_come_from_the_secret_file(spark, tmp_path):
    f = tmp_path / "secret.json"
    f.write_text(json.dumps({"username": "u1", "password": "p1"}))
    t = jdbc.resolve_target(spark, {"jdbc_url": "jdbc:postgresql://127.0.0.1:5/db", "jdbc_secret_file": str(f)})
    assert (t.url, t.user, t.password) == ("jdbc:postgresql://127.0.0.1:5/db", "u1", "p1")
    assert "p1" not in repr(t)


def test_local_credentials_come_from_the_environment(spark, monkeypatch):
    monkeypatch.setenv(jdbc.ENV_USER, "envuser")
    monkeypatch.setenv(jdbc.ENV_PASSWORD, "envpass")
    t = jdbc.resolve_target(spark, {"jdbc_url": "jdbc:postgresql://h:5432/db"})
    assert (t.user, t.password) == ("envuser", "envpass")


def test_missing_credentials_and_bad_urls_are_explained(spark, monkeypatch, tmp_path):
    monkeypatch.delenv(jdbc.ENV_USER, raising=False)
    monkeypatch.delenv(jdbc.ENV_PASSWORD, raising=False)
    with pytest.raises(jdbc.JdbcConfigError, match="needs credentials: --jdbc_secret_file"):
        jdbc.resolve_target(spark, {"jdbc_url": "jdbc:postgresql://h:5432/db"})
    with pytest.raises(jdbc.JdbcConfigError, match=r"--jdbc_url: got 'jdbc:mysql://h/db'; allowed: jdbc:postgresql://"):
        jdbc.resolve_target(spark, {"jdbc_url": "jdbc:mysql://h/db"})
    with pytest.raises(jdbc.JdbcConfigError, match="no database configured: pass --connection_name"):
        jdbc.resolve_target(spark, {})
    bad = tmp_path / "s.json"
    bad.write_text('{"user": "x"}')
    with pytest.raises(jdbc.JdbcConfigError, match='expected a JSON object with "username" and "password"'):
        jdbc.resolve_target(spark, {"jdbc_url": "jdbc:postgresql://h:5432/db", "jdbc_secret_file": str(bad)})


@mock_aws
def test_on_glue_the_connection_and_its_secret_give_url_and_credentials(spark, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="lakehouse-dev-db", SecretString=json.dumps({"username": "glue", "password": "s3cr3t"}))
    boto3.client("glue").create_connection(ConnectionInput={
        "Name": "lakehouse-dev-postgres", "ConnectionType": "JDBC",
        "ConnectionProperties": {"JDBC_CONNECTION_URL": "jdbc:postgresql://db.internal:5432/lakehouse",
                                 "SECRET_ID": "lakehouse-dev-db", "JDBC_ENFORCE_SSL": "true"}})
    with pytest.raises(jdbc.JdbcConfigError, match=r"enforces SSL \(JDBC_ENFORCE_SSL\).*pass --jdbc_ca_file"):
        jdbc.resolve_target(spark, {"connection_name": "lakehouse-dev-postgres"})
    t = jdbc.resolve_target(spark, {"connection_name": "lakehouse-dev-postgres", "jdbc_ca_file": str(RDS_BUNDLE)})
    assert (t.url, t.user, t.password, dict(t.properties)) == (
        "jdbc:postgresql://db.internal:5432/lakehouse", "glue", "s3cr3t",
        {"sslmode": "verify-full", "sslrootcert": str(RDS_BUNDLE)})


def test_a_glue_url_without_database_takes_jdbc_database():
    assert jdbc._with_database("jdbc:postgresql://h:5432", "lakehouse") == "jdbc:postgresql://h:5432/lakehouse"
    assert jdbc._with_database("jdbc:postgresql://h:5432/x", "lakehouse") == "jdbc:postgresql://h:5432/x"
    with pytest.raises(jdbc.JdbcConfigError, match="names no database; pass --jdbc_database"):
        jdbc._with_database("jdbc:postgresql://h:5432/", None)


# --- TLS: verify-full against the CA file the job is given ------------------------------------

def _ssl_in_use(spark, t) -> list[tuple]:
    return jdbc.query(spark, t, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")


def test_local_runs_verify_the_server_certificate_with_the_ca_file(spark, target, pg):  # noqa: F811
    assert dict(target.properties) == {"sslmode": "verify-full", "sslrootcert": str(pg.ca_file)}
    assert target.url == f"jdbc:postgresql://localhost:{pg.port}/lakehouse"
    assert _ssl_in_use(spark, target) == [("true",)]  # the driver's connection (DDL, merge)
    # Spark's own JDBC reader opens its connection from the same options (on executors, on Glue)
    assert jdbc.read_table(spark, target, "locations", ["location_id"]).count() >= 2


def _error_text(e: BaseException) -> str:
    return str(getattr(e, "java_exception", None) or e)


@pytest.mark.parametrize("ca", ["another run's CA", "the RDS bundle"])
def test_a_server_certificate_from_another_ca_is_refused(spark, target, tmp_path, ca):
    if ca == "the RDS bundle":  # read by the JDBC driver (else "Could not read SSL root certificate file")
        other = RDS_BUNDLE
    else:
        other = tmp_path / "other-ca.pem"
        other.write_bytes(pg_local.throwaway_tls("localhost").ca_pem)
    t = jdbc.JdbcTarget(target.url, target.user, target.password,
                        jdbc.tls_properties(str(other), required_by=None))
    with pytest.raises(Exception) as e:
        _ssl_in_use(spark, t)
    assert "PKIX path building failed" in _error_text(e.value), _error_text(e.value)


def test_a_host_name_the_certificate_does_not_carry_is_refused(spark, target, pg):  # noqa: F811
    t = jdbc.JdbcTarget(f"jdbc:postgresql://127.0.0.1:{pg.port}/lakehouse", target.user, target.password,
                        target.properties)
    with pytest.raises(Exception) as e:
        _ssl_in_use(spark, t)
    assert "The hostname 127.0.0.1 could not be verified" in _error_text(e.value), _error_text(e.value)


def test_a_missing_or_unreadable_ca_file_names_the_argument(spark, pg, tmp_path):  # noqa: F811
    args = {"jdbc_url": pg.jdbc_url, "jdbc_secret_file": str(pg.secret_file)}
    with pytest.raises(jdbc.JdbcConfigError, match=r"--jdbc_ca_file: cannot read 'nowhere\.pem'"):
        jdbc.resolve_target(spark, {**args, "jdbc_ca_file": "nowhere.pem"})
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("hello")
    with pytest.raises(jdbc.JdbcConfigError, match="--jdbc_ca_file: .* holds no PEM certificate"):
        jdbc.resolve_target(spark, {**args, "jdbc_ca_file": str(not_pem)})
