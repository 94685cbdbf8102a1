"""Which release of lakelib a job runs: a digest of its sources, the same whether the package is
a folder (local runs, tests) or the --extra-py-files zip on Glue (read through importlib.resources,
which zipimport serves too). A job that skips work already done (the FHIR gold job) records it
with its output, so a release that changes any source redoes that work once."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

PACKAGE = __name__.split(".")[0]


@lru_cache(maxsize=1)
def source_digest() -> str:
    """sha256 (first 16 hex digits) over each file's path inside the package and its bytes, in
    path order; __pycache__ and compiled files are left out, as the packaged zip leaves them out."""
    h = hashlib.sha256()

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, f"{prefix}{child.name}/")
            elif not child.name.endswith((".pyc", ".pyo")):
                data = child.read_bytes()
                h.update(f"{prefix}{child.name}\0{len(data)}\0".encode())
                h.update(data)

    walk(resources.files(PACKAGE), "")
    return h.hexdigest()[:16]
