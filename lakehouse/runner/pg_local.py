"""A throwaway PostgreSQL server for local runs and tests of the JDBC jobs.

On AWS the climate jobs reach RDS through their Glue connection; on a laptop they need a
real PostgreSQL too (no SQLite, no mocks). This module runs the distribution's own server
binaries (`initdb`, `pg_ctl` from /usr/lib/postgresql/<version>/bin) on a data directory
that belongs to one warehouse, listening on a free port of 127.0.0.1 only:

    with local_postgres(warehouse_dir) as pg:
        pg.jdbc_url        # jdbc:postgresql://localhost:<port>/lakehouse
        pg.job_arguments() # {"--jdbc_url": ..., "--jdbc_secret_file": ..., "--jdbc_ca_file": ...}

The data directory persists with the warehouse (so a second local run sees what the first
loaded, just as bronze remembers which files it ingested); the server only lives inside
the `with`. The superuser password is random, written once to a 0600 secret file beside the
data directory (the same {"username", "password"} shape as the AWS secret) and never put in
arguments or declarations.

TLS as on AWS: every start makes a throwaway CA (its key is never written anywhere) and a server
certificate for `localhost` signed by it; the server speaks TLS only (pg_hba.conf: hostssl), and
the jobs connect with sslmode=verify-full against that CA (`--jdbc_ca_file`, written to
<warehouse>/_postgres/ca.pem), through the same code path that verifies RDS against the RDS CA
bundle on Glue. The JDBC URL names `localhost` (the name in the certificate); the server listens
on 127.0.0.1, which `localhost` resolves to.

initdb and postgres refuse to run as root: when we are root they run as the `postgres`
system user (runuser), which must own the data directory and be able to reach it. When
the warehouse sits below a directory that user cannot enter (pytest's 0700 temp root),
the data directory goes to /tmp/lakehouse-pg-<hash of the warehouse path> instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

DATABASE = "lakehouse"
USERNAME = "lakehouse"
LISTEN = "127.0.0.1"
TLS_HOST = "localhost"  # the name the server certificate carries: clients connect by it (verify-full)
CERT_LIFETIME = dt.timedelta(days=2)  # a run's server lives inside one `with`
HBA = (  # pg_hba.conf, rewritten on every start: TCP on loopback, TLS and SCRAM only
    "# written by lakehouse.runner.pg_local on every start: TLS only, SCRAM passwords, loopback only\n"
    f"hostssl all all {LISTEN}/32 scram-sha-256\n"
)
SERVICE_USER = "postgres"  # the unprivileged account the server runs as when we are root
SETUP_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found under "
    "/usr/lib/postgresql/*/bin or on PATH. Run the project set-up (`make setup`, i.e. "
    "scripts/setup.sh) or install them: `apt-get install -y postgresql` (Debian/Ubuntu)."
)


class PostgresNotAvailable(RuntimeError):
    """The server binaries are missing or the server could not start."""


def find_bin_dir() -> Path:
    """Directory holding initdb and pg_ctl: the newest /usr/lib/postgresql/<v>/bin, else PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else -1,
        reverse=True,
    )
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    raise PostgresNotAvailable(SETUP_HINT)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _is_root() -> bool:
    return os.geteuid() == 0


def _can_reach(path: Path, user: str) -> bool:
    """Whether `user` can traverse every directory down to `path` (which may not exist yet)."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    result = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-x", str(existing)],
        capture_output=True,
    )
    return result.returncode == 0


def state_dir(warehouse_dir: str | Path) -> Path:
    """Where this warehouse's server keeps its secret file (always under the warehouse)."""
    return Path(warehouse_dir).resolve() / "_postgres"


def data_dir(warehouse_dir: str | Path) -> Path:
    """The server's data directory for this warehouse (see the module docstring)."""
    preferred = state_dir(warehouse_dir) / "pgdata"
    if not _is_root() or _can_reach(preferred, SERVICE_USER):
        return preferred
    digest = hashlib.sha1(str(Path(warehouse_dir).resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"lakehouse-pg-{digest}" / "pgdata"


@dataclass(frozen=True)
class ThrowawayTls:
    """A CA made for one run (PEM certificate only: its key is discarded) and the server's
    certificate and key, signed by it, for `host`."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes = field(repr=False)


def throwaway_tls(host: str = TLS_HOST) -> ThrowawayTls:
    """A fresh CA and a server certificate for `host` (subjectAltName DNS), EC P-256."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    start, end = now - dt.timedelta(minutes=5), now + CERT_LIFETIME
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            f"lakehouse local throwaway CA {secrets.token_hex(4)}")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return ThrowawayTls(
        ca.public_bytes(pem), cert.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@dataclass(frozen=True)
class LocalPostgres:
    """A running server: where it listens and where its credentials and CA certificate are."""

    host: str  # the address it listens on (127.0.0.1)
    port: int
    database: str
    secret_file: Path
    data_dir: Path
    ca_file: Path  # PEM: the CA that signed the server's certificate for tls_host
    tls_host: str = TLS_HOST

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.tls_host}:{self.port}/{self.database}"

    def credentials(self) -> dict[str, str]:
        return json.loads(self.secret_file.read_text())

    def job_arguments(self) -> dict[str, str]:
        """What a JDBC job needs locally: the URL, the secret file (never the password) and the CA
        file, with which lakelib.io.jdbc connects with sslmode=verify-full."""
        return {"--jdbc_url": self.jdbc_url, "--jdbc_secret_file": str(self.secret_file),
                "--jdbc_ca_file": str(self.ca_file)}

    def connect(self):
        """A psycopg connection, for tests and checks (the jobs use the JDBC driver), verifying
        the server's certificate like the jobs do."""
        import psycopg

        c = self.credentials()
        return psycopg.connect(
            host=self.tls_host, hostaddr=self.host, port=self.port, dbname=self.database,
            user=c["username"], password=c["password"], sslmode="verify-full", sslrootcert=str(self.ca_file),
        )


def _run_as_service(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    full = ["runuser", "-u", SERVICE_USER, "--", *cmd] if _is_root() else cmd
    return subprocess.run(full, capture_output=True, text=True, **kw)


def _check(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        raise PostgresNotAvailable(
            f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def _own(path: Path) -> None:
    if _is_root():
        pw = pwd.getpwnam(SERVICE_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _init(bin_dir: Path, pgdata: Path, secret_file: Path) -> None:
    """initdb with a random password for USERNAME, saved to the 0600 secret file."""
    if _is_root():
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise PostgresNotAvailable(
                f"running as root needs the unprivileged user {SERVICE_USER!r} to run the server; "
                + SETUP_HINT
            ) from None
    password = secrets.token_urlsafe(24)
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"username": USERNAME, "password": password}, fh)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(mode=0o700)
    _own(pgdata)
    # initdb reads the password from a file the service user can read; removed right after.
    pwfile = pgdata.parent / f".pw-{secrets.token_hex(4)}"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    _own(pwfile)
    try:
        _check(_run_as_service([
            str(bin_dir / "initdb"), "-D", str(pgdata), "-U", USERNAME, "--pwfile", str(pwfile),
            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
        ]), "initdb")
    finally:
        pwfile.unlink(missing_ok=True)


def _write_owned(path: Path, data: bytes, mode: int) -> None:
    """`data` into `path` with `mode`, owned by the server's user (the server reads it)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    _own(path)


def _set_up_tls(pgdata: Path, ca_file: Path) -> None:
    """A new CA and server certificate for this start: server.crt/server.key (PostgreSQL's default
    names, in the data directory; the key 0600 as the server requires), the CA certificate to
    `ca_file` for clients, and pg_hba.conf admitting TLS connections only."""
    tls = throwaway_tls(TLS_HOST)
    _write_owned(pgdata / "server.crt", tls.cert_pem, 0o600)
    _write_owned(pgdata / "server.key", tls.key_pem, 0o600)
    _write_owned(pgdata / "pg_hba.conf", HBA.encode(), 0o600)
    ca_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = ca_file.with_name(ca_file.name + ".tmp")
    tmp.write_bytes(tls.ca_pem)
    tmp.chmod(0o644)
    tmp.replace(ca_file)


def _psql_create_db(bin_dir: Path, port: int, secret_file: Path, ca_file: Path) -> None:
    creds = json.loads(secret_file.read_text())
    env = {**os.environ, "PGPASSWORD": creds["password"], "PGHOSTADDR": LISTEN, "PGSSLMODE": "verify-full",
           "PGSSLROOTCERT": str(ca_file)}
    exists = subprocess.run(
        [str(bin_dir / "psql"), "-h", TLS_HOST, "-p", str(port), "-U", creds["username"],
         "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
        capture_output=True, text=True, env=env,
    )
    _check(exists, "psql")
    if exists.stdout.strip() != "1":
        _check(subprocess.run(
            [str(bin_dir / "createdb"), "-h", TLS_HOST, "-p", str(port), "-U",
             creds["username"], DATABASE],
            capture_output=True, text=True, env=env,
        ), "createdb")


@contextlib.contextmanager
def local_postgres(warehouse_dir: str | Path) -> Iterator[LocalPostgres]:
    """Start this warehouse's server (initdb on first use), yield it, stop it on exit."""
    bin_dir = find_bin_dir()
    pgdata = data_dir(warehouse_dir)
    secret_file = state_dir(warehouse_dir) / "secret.json"
    ca_file = state_dir(warehouse_dir) / "ca.pem"
    if not (pgdata / "PG_VERSION").is_file():
        if pgdata.exists():
            shutil.rmtree(pgdata)  # a half-initialised directory from an interrupted initdb
        _init(bin_dir, pgdata, secret_file)
    elif not secret_file.is_file():
        raise PostgresNotAvailable(
            f"{pgdata} exists but its secret file {secret_file} is missing; delete {pgdata} "
            "to start from an empty database"
        )
    port = free_port()
    log = pgdata.parent / "server.log"
    if not log.exists():
        log.touch()
    _own(log)
    _set_up_tls(pgdata, ca_file)
    # Only TCP on 127.0.0.1, TLS only (pg_hba.conf); no Unix socket (its path could exceed the 107-byte limit).
    options = f"-c listen_addresses={LISTEN} -p {port} -c unix_socket_directories='' -c fsync=off -c ssl=on"
    _check(_run_as_service([
        str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-l", str(log), "-o", options, "-w", "-t", "60",
        "start",
    ]), f"pg_ctl start (log: {log})")
    try:
        _psql_create_db(bin_dir, port, secret_file, ca_file)
        yield LocalPostgres(LISTEN, port, DATABASE, secret_file, pgdata, ca_file)
    finally:
        _run_as_service([str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"])


def remove(warehouse_dir: str | Path) -> None:
    """Delete this warehouse's database files and secret (the server must be stopped)."""
    pgdata = data_dir(warehouse_dir)
    shutil.rmtree(pgdata.parent if pgdata.parent.name.startswith("lakehouse-pg-") else pgdata,
                  ignore_errors=True)
    shutil.rmtree(state_dir(warehouse_dir), ignore_errors=True)


@contextlib.contextmanager
def local_jdbc_for_pipeline(warehouse_dir: str | Path) -> Iterator[dict[str, str]]:
    """The runner's hook: extra job arguments for `connection: true` jobs, server running
    for the duration of the `with`."""
    with local_postgres(warehouse_dir) as pg:
        yield pg.job_arguments()
