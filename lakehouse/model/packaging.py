"""Deterministic build artifacts for Glue: the shared library zip and content-hashed keys.

The same sources always give the same bytes (sorted entries, fixed timestamps and modes,
no __pycache__), so the object key - which carries the content hash - only changes when
the code does, and `pulumi preview` shows no diff for an unchanged library.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path, PurePosixPath

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
HASH_CHARS = 16
LIBRARY_PREFIX = "lib/"  # library zips in the scripts bucket
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
