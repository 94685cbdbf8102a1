"""PostgreSQL through JDBC: where the database is, and loads that never half-apply.

Resolution (`resolve_target`), first match wins:
- `--jdbc_url` given (local runs, tests): credentials from `--jdbc_secret_file` (a JSON file
  {"username", "password"}, e.g. the one lakehouse/pg_local.py writes under the warehouse),
  else the environment variables LAKEHOUSE_JDBC_USER / LAKEHOUSE_JDBC_PASSWORD.
- `--connection_name` given (AWS Glue; the platform attaches the Glue connection to jobs
  declaring `connection: true` and passes its name): URL and credentials from
  `GlueContext.extract_jdbc_conf(name)`; if that yields no password, from the connection's
  properties (glue:GetConnection) and the Secrets Manager secret named by its SECRET_ID.
Passwords never appear in arguments, declarations or logs.

TLS (`tls_properties`): given `--jdbc_ca_file` (a PEM file of CA certificates), the connection uses
sslmode=verify-full with sslrootcert=<that file>: the server's certificate must chain to one of
them and name the URL's host. A Glue connection with JDBC_ENFORCE_SSL=true requires it. On Glue
the platform ships the RDS CA bundle with `--extra-files` (copied into the working directory of
the driver and of every executor, where Spark's JDBC writes open their own connections) and
names it, relative, in `--jdbc_ca_file`; locally lakehouse/runner/pg_local.py passes the CA of
its throwaway server. Both take this one code path.

Statements outside Spark's JDBC reader/writer (DDL, the merge transaction) go through the
same PostgreSQL JDBC driver over Spark's JVM (py4j), so nothing beyond the driver jar is
needed on Glue (psycopg is not part of Glue 5.0).

Loads (`upsert`): Spark writes the rows into a per-run staging table, then one transaction
runs INSERT ... ON CONFLICT (key) DO UPDATE into the target and drops the stage. A failure
at any point rolls the transaction back, so the target keeps its previous state; the
stage is dropped in every case. A load is recorded in the run's `Writes` as "postgres.<table>".
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from pyspark.sql import DataFrame, SparkSession

from ..runtime.job import Writes

DRIVER = "org.postgresql.Driver"
IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
URL_RE = re.compile(r"^jdbc:postgresql://[^/?#]+(?P<db>/[^?#]*)?(?:\?.*)?$")
ENV_USER = "LAKEHOUSE_JDBC_USER"
ENV_PASSWORD = "LAKEHOUSE_JDBC_PASSWORD"
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


class JdbcConfigError(ValueError):
    """The job cannot tell which database to use or how to log in."""


@dataclass(frozen=True)
class JdbcTarget:
    url: str
    user: str
    password: str = field(repr=False)
    properties: Mapping[str, str] = field(default_factory=dict)  # sslmode, sslrootcert (tls_properties)

    def spark_options(self) -> dict[str, str]:
        return {"url": self.url, "user": self.user, "password": self.password, "driver": DRIVER,
                **self.properties}


def ident(name: str) -> str:
    """A table/column name safe to put into SQL text (lower-case letters, digits, _)."""
    if not isinstance(name, str) or not IDENT_RE.match(name):
        raise ValueError(f"SQL identifier {name!r} not allowed; allowed: lower-case letters, digits and _ "
                         "(max 63), starting with a letter or _")
    return name


def check_url(url: str) -> str:
    m = URL_RE.match(url or "")
    if not m or not (m.group("db") or "/").strip("/"):
        raise JdbcConfigError(f"--jdbc_url: got {url!r}; allowed: jdbc:postgresql://host:port/database")
    return url


# --- where is the database ---------------------------------------------------------------

def _secret_json(text: str, where: str) -> tuple[str, str]:
    try:
        data = json.loads(text)
        return str(data["username"]), str(data["password"])
    except (ValueError, KeyError, TypeError):
        raise JdbcConfigError(f"{where}: expected a JSON object with \"username\" and \"password\"") from None


def tls_properties(ca_file: str | None, required_by: str | None) -> dict[str, str]:
    """Driver properties verifying the server against `ca_file` (sslmode=verify-full): the
    certificate chain and the host name. Without a CA file: none, unless `required_by` says why
    TLS is required (then a JdbcConfigError naming --jdbc_ca_file). The file is checked here, on
    the driver; executors open the same relative path in their own working directory."""
    if not ca_file:
        if required_by:
            raise JdbcConfigError(f"{required_by}: pass --jdbc_ca_file <PEM file of the CA certificates that "
                                  "sign the server's certificate> (on Glue the platform sets it)")
        return {}
    try:
        with open(ca_file, "rb") as fh:
            pem = fh.read()
    except OSError as e:
        raise JdbcConfigError(
            f"--jdbc_ca_file: cannot read {ca_file!r} ({e.strerror}; working directory {os.getcwd()}); on Glue "
            "the platform ships it with --extra-files into the job's working directory") from None
    if PEM_CERTIFICATE not in pem:
        raise JdbcConfigError(f"--jdbc_ca_file: {ca_file!r} holds no PEM certificate ({PEM_CERTIFICATE.decode()})")
    return {"sslmode": "verify-full", "sslrootcert": ca_file}


def resolve_target(spark: SparkSession, args: Mapping[str, str | None]) -> JdbcTarget:
    """The database of this run (see the module docstring). `args` keys without dashes."""
    url = args.get("jdbc_url")
    ca_file = args.get("jdbc_ca_file")
    if url:
        check_url(url)
        secret_file = args.get("jdbc_secret_file")
        if secret_file:
            try:
                text = open(secret_file, encoding="utf-8").read()
            except OSError as e:
                raise JdbcConfigError(f"--jdbc_secret_file: cannot read {secret_file!r}: {e.strerror}") from None
            user, password = _secret_json(text, f"--jdbc_secret_file {secret_file}")
        elif os.environ.get(ENV_USER) and os.environ.get(ENV_PASSWORD) is not None:
            user, password = os.environ[ENV_USER], os.environ[ENV_PASSWORD]
        else:
            raise JdbcConfigError(
                f"--jdbc_url {url} needs credentials: --jdbc_secret_file <json file> or the "
                f"environment variables {ENV_USER} and {ENV_PASSWORD}")
        return JdbcTarget(url, user, password, tls_properties(ca_file, required_by=None))
    name = args.get("connection_name")
    if name:
        return _from_glue_connection(spark, name, args.get("jdbc_database"), ca_file)
    raise JdbcConfigError(
        "no database configured: pass --connection_name (the job's Glue connection, on AWS) or "
        "--jdbc_url with --jdbc_secret_file (local runs; the local runner starts a server itself)")


def _with_database(url: str, database: str | None) -> str:
    """Glue's extract_jdbc_conf may return the URL without the database part."""
    m = URL_RE.match(url)
    if m and not (m.group("db") or "/").strip("/"):
        if not database:
            raise JdbcConfigError(f"the Glue connection URL {url} names no database; pass --jdbc_database")
        return url.rstrip("/") + "/" + database
    return url


def _from_glue_connection(spark: SparkSession, name: str, database: str | None, ca_file: str | None) -> JdbcTarget:
    enforce_ssl = False
    try:
        from awsglue.context import GlueContext  # only on Glue

        conf = GlueContext(spark.sparkContext).extract_jdbc_conf(name)
        url = conf.get("fullUrl") or conf.get("url")
        user, password = conf.get("user"), conf.get("password")
        enforce_ssl = str(conf.get("enforceSSL", "false")).lower() == "true"
    except ImportError:
        url = user = password = None
    if not (url and user and password):
        import boto3

        connection = boto3.client("glue").get_connection(Name=name, HidePassword=False)["Connection"]
        cp = connection.get("ConnectionProperties", {})
        url = url or cp.get("JDBC_CONNECTION_URL")
        enforce_ssl = enforce_ssl or cp.get("JDBC_ENFORCE_SSL", "false").lower() == "true"
        if cp.get("SECRET_ID"):
            secret = boto3.client("secretsmanager").get_secret_value(SecretId=cp["SECRET_ID"])
            user, password = _secret_json(secret["SecretString"], f"secret {cp['SECRET_ID']}")
        else:
            user, password = cp.get("USERNAME"), cp.get("PASSWORD")
    if not (url and user and password):
        raise JdbcConfigError(f"Glue connection {name!r} yields no JDBC URL or credentials "
                              "(expected JDBC_CONNECTION_URL and SECRET_ID)")
    tls = tls_properties(ca_file, f"the Glue connection {name!r} enforces SSL (JDBC_ENFORCE_SSL)"
                         if enforce_ssl else None)
    return JdbcTarget(_with_database(url, database), user, password, tls)


# --- statements over the JVM driver ------------------------------------------------------

def _connect(spark: SparkSession, target: JdbcTarget):
    """A java.sql.Connection from the PostgreSQL driver Spark already loaded."""
    jvm = spark.sparkContext._jvm
    props = jvm.java.util.Properties()
    props.setProperty("user", target.user)
    props.setProperty("password", target.password)
    for k, v in target.properties.items():
        props.setProperty(k, v)
    # Registered through Spark so DriverManager sees a driver from spark.jars / --extra-jars.
    jvm.org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry.register(DRIVER)
    return jvm.java.sql.DriverManager.getConnection(target.url, props)


def execute(spark: SparkSession, target: JdbcTarget, statements: Sequence[str]) -> list[int]:
    """Run statements in one transaction; update counts in order. Rolls back on any error."""
    conn = _connect(spark, target)
    try:
        conn.setAutoCommit(False)
        stmt = conn.createStatement()
        counts = [int(stmt.executeUpdate(s)) for s in statements]
        conn.commit()
        return counts
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.close()


def query(spark: SparkSession, target: JdbcTarget, sql: str) -> list[tuple]:
    """Rows of a small query (metadata checks), as tuples of strings/None."""
    conn = _connect(spark, target)
    try:
        rs = conn.createStatement().executeQuery(sql)
        n = rs.getMetaData().getColumnCount()
        rows = []
        while rs.next():
            rows.append(tuple(rs.getString(i) for i in range(1, n + 1)))
        return rows
    finally:
        conn.close()


def split_sql(text: str) -> list[str]:
    """Statements of a schema file: ';'-terminated, '--' comments removed (no ';' inside
    literals or bodies: keep the schema file plain DDL)."""
    lines = [ln.split("--", 1)[0] for ln in text.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def apply_schema(spark: SparkSession, target: JdbcTarget, ddl: str) -> None:
    """Apply idempotent DDL (CREATE ... IF NOT EXISTS) in one transaction."""
    execute(spark, target, split_sql(ddl))


# --- reads and loads ---------------------------------------------------------------------

def read_table(spark: SparkSession, target: JdbcTarget, table: str, columns: Sequence[str] = ()) -> DataFrame:
    cols = ", ".join(ident(c) for c in columns) if columns else "*"
    return (spark.read.format("jdbc").options(**target.spark_options())
            .option("query", f"SELECT {cols} FROM {ident(table)}").load())


def stage_name(table: str, run_id: str) -> str:
    """Per-run staging table: <table>__stage_<run id letters/digits>, at most 63 characters."""
    suffix = re.sub(r"[^a-z0-9]", "", run_id.lower())[-20:] or "run"
    return ident(f"{table}__stage_{suffix}"[:63])


def leftover_stages(spark: SparkSession, target: JdbcTarget, table: str) -> list[str]:
    """Stages of `table` left by runs killed mid-load (any run id). Loads of one pipeline never
    overlap (the workflow and the local runner allow one run at a time), so these are dead."""
    prefix = stage_name(table, "")[: -len("run")]  # "<table>__stage_"
    rows = query(spark, target, "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                f"current_schema() AND left(table_name, {len(prefix)}) = '{prefix}'")
    return [r[0] for r in rows]


def merge_sql(table: str, stage: str, columns: Sequence[str], key: Sequence[str],
              compare: Sequence[str] | None = None) -> str:
    """INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE, touching a row only when one of
    `compare` (default: every non-key column) changed, so a re-run rewrites nothing."""
    cols = [ident(c) for c in columns]
    keys = [ident(k) for k in key]
    missing = [k for k in keys if k not in cols]
    if missing:
        raise ValueError(f"key columns {missing} are not among the loaded columns {cols}")
    non_key = [c for c in cols if c not in keys]
    compare = [ident(c) for c in (compare if compare is not None else non_key)]
    col_list = ", ".join(cols)
    sql = (f"INSERT INTO {ident(table)} AS t ({col_list}) SELECT {col_list} FROM {ident(stage)} "
           f"ON CONFLICT ({', '.join(keys)}) ")
    if not non_key:
        return sql + "DO NOTHING"
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in non_key)
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in compare) or "FALSE"
    return sql + f"DO UPDATE SET {sets} WHERE {changed}"


def upsert(spark: SparkSession, target: JdbcTarget, df: DataFrame, table: str, key: Sequence[str],
           run_id: str, compare: Sequence[str] | None = None, writes: Writes | None = None) -> int:
    """Load `df` into `table` by key (see the module docstring); returns rows inserted or
    updated, and records the table in `writes`. The stage copies the target's columns (LIKE),
    so Spark writes typed values into it instead of creating its own column types."""
    stage = stage_name(table, run_id)
    columns = df.columns
    execute(spark, target, [
        *(f"DROP TABLE IF EXISTS {ident(s)}" for s in leftover_stages(spark, target, table)),
        f"DROP TABLE IF EXISTS {stage}",
        f"CREATE UNLOGGED TABLE {stage} (LIKE {ident(table)} INCLUDING DEFAULTS)",
    ])
    try:
        (df.write.format("jdbc").options(**target.spark_options())
         .option("dbtable", stage).option("batchsize", "1000").mode("append").save())
        changed = execute(spark, target, [
            merge_sql(table, stage, columns, key, compare),
            f"DROP TABLE {stage}",
        ])[0]
        if writes is not None:
            writes.postgres(table)
        return changed
    finally:
        execute(spark, target, [f"DROP TABLE IF EXISTS {stage}"])
