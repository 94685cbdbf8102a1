"""lakehouse.runner.pg_local: a real throwaway PostgreSQL per warehouse, on 127.0.0.1 only, run as
an unprivileged user, with its password only in a 0600 secret file, speaking TLS only with a
certificate for `localhost` from a CA made for the run (clients verify it as the jobs verify RDS)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import psycopg
import pytest

from lakehouse.runner import pg_local


@pytest.fixture()
def open_warehouse():
    """A warehouse the server's user can reach (mkdtemp is 0700: open it like a project folder)."""
    d = Path(tempfile.mkdtemp(prefix="pg-local-test-"))
    d.chmod(0o755)
    yield d
    pg_local.remove(d)
    shutil.rmtree(d, ignore_errors=True)


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_finds_the_server_binaries():
    assert (pg_local.find_bin_dir() / "initdb").is_file()


def test_missing_binaries_name_the_setup_command(monkeypatch):
    monkeypatch.setattr(pg_local.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_local.shutil, "which", lambda name: None)
    with pytest.raises(pg_local.PostgresNotAvailable, match=r"apt-get install -y postgresql"):
        pg_local.find_bin_dir()


def test_server_lives_under_the_warehouse_listens_on_loopback_and_keeps_data(open_warehouse):
    with pg_local.local_postgres(open_warehouse) as pg:
        assert pg.data_dir == open_warehouse.resolve() / "_postgres" / "pgdata"
        assert stat.S_IMODE(pg.secret_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(pg.data_dir.stat().st_mode) == 0o700
        if os.geteuid() == 0:  # root cannot run postgres: the data belongs to the service user
            assert pg.data_dir.owner() == pg_local.SERVICE_USER
        with pg.connect() as c:
            assert c.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
            assert c.execute("SELECT current_user, current_database()").fetchone() == ("lakehouse", "lakehouse")
            c.execute("CREATE TABLE kept (x int)")
            c.execute("INSERT INTO kept VALUES (42)")
        args = pg.job_arguments()
        assert args == {"--jdbc_url": f"jdbc:postgresql://localhost:{pg.port}/lakehouse",
                        "--jdbc_secret_file": str(pg.secret_file), "--jdbc_ca_file": str(pg.ca_file)}
        assert pg.credentials()["password"] not in "".join(args.values())
        port = pg.port
    assert not _accepts(port)  # stopped on exit
    with pg_local.local_postgres(open_warehouse) as pg2:  # same warehouse: same data
        with pg2.connect() as c:
            assert c.execute("SELECT x FROM kept").fetchall() == [(42,)]


def test_a_warehouse_the_service_user_cannot_enter_gets_a_data_dir_in_tmp(tmp_path):
    if os.geteuid() != 0:
        assert pg_local.data_dir(tmp_path) == tmp_path.resolve() / "_postgres" / "pgdata"
        return
    locked = Path(tempfile.mkdtemp(prefix="pg-local-locked-"))  # 0700, owned by root
    try:
        d = pg_local.data_dir(locked / "wh")
        assert d.parent.parent == Path(tempfile.gettempdir()) and d.parent.name.startswith("lakehouse-pg-")
        assert pg_local.data_dir(locked / "wh") == d  # stable for the same warehouse
        with pg_local.local_jdbc_for_pipeline(locked / "wh") as args:
            assert args["--jdbc_url"].startswith("jdbc:postgresql://localhost:")
            assert Path(args["--jdbc_ca_file"]).is_file()
            assert Path(args["--jdbc_secret_file"]) == locked.resolve() / "wh" / "_postgres" / "secret.json"
        pg_local.remove(locked / "wh")
        assert not d.parent.exists()
    finally:
        shutil.rmtree(locked, ignore_errors=True)


def test_the_server_speaks_tls_only_with_a_certificate_for_localhost_from_a_run_ca(open_warehouse):
    with pg_local.local_postgres(open_warehouse) as pg:
        c = pg.credentials()
        login = {"port": pg.port, "dbname": pg.database, "user": c["username"], "password": c["password"],
                 "connect_timeout": 10}
        with pg.connect() as conn:  # verify-full against the run's CA, by the name in the certificate
            assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
            assert conn.info.host == "localhost"
        with pytest.raises(psycopg.OperationalError, match="no encryption"):  # pg_hba: hostssl only
            psycopg.connect(host="127.0.0.1", sslmode="disable", **login)
        with pytest.raises(psycopg.OperationalError, match='does not match host name "127.0.0.1"'):
            psycopg.connect(host="127.0.0.1", sslmode="verify-full", sslrootcert=str(pg.ca_file), **login)
        other = open_warehouse / "other-ca.pem"
        other.write_bytes(pg_local.throwaway_tls("localhost").ca_pem)
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
            psycopg.connect(host="localhost", hostaddr="127.0.0.1", sslmode="verify-full", sslrootcert=str(other),
                            **login)
        first_ca = pg.ca_file.read_bytes()
    with pg_local.local_postgres(open_warehouse) as pg2:  # a new run, a new CA (its key never kept)
        assert pg2.ca_file.read_bytes() != first_ca
        assert not list(pg2.ca_file.parent.glob("*.key"))
        with pg2.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
