"""What a warehouse remembers between runs: the one-run-at-a-time lock and the change detection.

`WarehouseLock` is `<warehouse>/.runner.lock` (the owner's PID). `RunState` is
`<warehouse>/_runs/state.json`: per pipeline, the fingerprint of its last successful run (input
files, arguments, and the declaration and code it executed); `what_changed` compares the current
input, arguments and code with it, so an unchanged run stops before Spark starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..model.pipelines import GLUE_SCRIPTS_DIR, REPO_ROOT, PipelineSpec
from .errors import WarehouseInUse

RUNS_DIR = "_runs"
LOCK_FILE = ".runner.lock"
STATE_FILE = "state.json"


# --- one run at a time ------------------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WarehouseLock:
    """`<warehouse>/.runner.lock` holding the owner's PID; a lock whose process is gone is stale
    and taken over. Created with O_EXCL so two runners cannot both win."""

    def __init__(self, warehouse: Path):
        self.path = warehouse / LOCK_FILE
        self.stale_pid: int | None = None

    def __enter__(self) -> "WarehouseLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    text = self.path.read_text().strip()
                    pid = int(text.split()[0])
                except (OSError, ValueError, IndexError):
                    pid = -1
                if pid > 0 and _pid_alive(pid) and pid != os.getpid():
                    raise WarehouseInUse(
                        f"warehouse {self.path.parent} is in use by another run (pid {pid}, lock {self.path}); "
                        "wait for it to finish, or delete the lock file if that process is not a runner")
                self.stale_pid = pid
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()} {datetime.now(timezone.utc).isoformat()}\n")
            return self
        raise WarehouseInUse(f"could not take the lock {self.path}; another run is starting")

    def __exit__(self, *exc) -> None:
        try:
            if self.path.read_text().split()[0] == str(os.getpid()):
                self.path.unlink()
        except (OSError, IndexError):
            pass


# --- what changed since the last run ---------------------------------------------------------

def input_hash(input_dir: Path) -> str:
    """Every file of the raw zone folder: relative path, size and modification time."""
    h = hashlib.sha256()
    for p in sorted(input_dir.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(input_dir).as_posix()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def code_files(pipeline: PipelineSpec) -> list[str]:
    """What a run executes: the declaration, the job scripts and every module loaded from
    glue_scripts/ (other pipelines' modules are not part of it), relative to the repo."""
    files = {REPO_ROOT / pipeline.source, *(GLUE_SCRIPTS_DIR / j.script for j in pipeline.jobs)}
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)
        if f and Path(f).resolve().is_relative_to(GLUE_SCRIPTS_DIR):
            files.add(Path(f).resolve())
    return sorted(p.resolve().relative_to(REPO_ROOT).as_posix() for p in files)


def code_hash(files: Iterable[str]) -> str:
    h = hashlib.sha256()
    for rel in files:
        p = REPO_ROOT / rel
        h.update(rel.encode() + (hashlib.sha256(p.read_bytes()).digest() if p.is_file() else b"missing"))
    return h.hexdigest()


def what_changed(last: dict, input_dir: Path, args: dict) -> list[str]:
    """Why a run is needed, compared with the last successful run's state ([] = up to date)."""
    if not last:
        return ["no successful run yet"]
    reasons = []
    if last.get("input") != input_hash(input_dir):
        reasons.append("new or changed input files")
    if last.get("args") != args:
        reasons.append(f"arguments changed ({last.get('args')} -> {args})")
    if last.get("code") != code_hash(last.get("code_files", [])):
        reasons.append("Glue scripts or the pipeline declaration changed")
    return reasons


@dataclass
class RunState:
    """`<warehouse>/_runs/state.json`: pipeline name -> fingerprint of its last successful run
    (`input` hash, `args`, `code_files`, `code` hash, `run_id`)."""

    path: Path
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, warehouse: Path) -> "RunState":
        path = warehouse / RUNS_DIR / STATE_FILE
        return cls(path, json.loads(path.read_text()) if path.is_file() else {})

    def last(self, pipeline: str) -> dict[str, Any]:
        """The last successful run of `pipeline` ({} = none yet)."""
        return self.pipelines.get(pipeline, {})

    def record(self, pipeline: PipelineSpec, fingerprint: dict[str, Any], run_id: str) -> None:
        """A successful run: its fingerprint plus the code it executed (hashed now, after the run)."""
        files = code_files(pipeline)
        self.pipelines[pipeline.name] = {**fingerprint, "code_files": files, "code": code_hash(files),
                                         "run_id": run_id}
        self.path.write_text(json.dumps(self.pipelines, indent=2) + "\n")
