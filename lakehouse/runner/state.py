"""What a warehouse remembers between runs: the one-run-at-a-time lock and the change detection.

`WarehouseLock` is an OS lock (flock) on `<warehouse>/.runner.lock`, a file naming the holder's PID.
`RunState` is `<warehouse>/_runs/state.json`: per pipeline, the fingerprint of its last successful run (input
files, arguments, and the declaration and code it executed); `what_changed` compares the current
input, arguments and code with it, so an unchanged run stops before Spark starts.
"""

from __future__ import annotations

import fcntl
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

class WarehouseLock:
    """An exclusive `flock` on `<warehouse>/.runner.lock`, held for the whole run.

    The kernel decides who holds the warehouse: of runners started together exactly one gets the
    lock, and the lock goes away with its process however it ends (even SIGKILL), so there is no
    stale lock to detect. The file only says who holds it (PID and start time, for the "in use"
    message and for people); a PID left in it never blocks a run, even when an unrelated process
    has reused it. The holder removes the file when it finishes; a run that died leaves it behind
    (`stale_pid` is then the PID it names) and the next run takes it over.
    """

    def __init__(self, warehouse: Path):
        self.path = warehouse / LOCK_FILE
        self.stale_pid: int | None = None
        self._fd: int | None = None

    def __enter__(self) -> "WarehouseLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _pid_in(fd)
                os.close(fd)
                raise WarehouseInUse(
                    f"warehouse {self.path.parent} is in use by another run (pid {pid or 'unknown'}, lock "
                    f"{self.path}); wait for it to finish") from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # a finishing run removed the file between our open and our lock: lock the new one
        pid = _pid_in(fd)
        self.stale_pid = pid if pid and pid != os.getpid() else None
        owner = f"{os.getpid()} {datetime.now(timezone.utc).isoformat()}\n".encode()
        os.ftruncate(fd, os.pwrite(fd, owner, 0))  # a reader sees the old PID or ours, never an empty file
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # still holding the lock: nobody else can have replaced the file
        finally:
            os.close(self._fd)  # releases the lock
            self._fd = None


def _pid_in(fd: int) -> int | None:
    """The PID a lock file names, if any."""
    try:
        return int(os.pread(fd, 200, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _same_file(fd: int, path: Path) -> bool:
    try:
        st, held = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


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
