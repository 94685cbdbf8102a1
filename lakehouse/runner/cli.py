"""Run a declared pipeline on local Spark + Iceberg, the way the Glue workflow runs it on AWS.

    python -m lakehouse.runner                      # sample data -> FHIR pipeline -> ./warehouse
    python -m lakehouse.runner run --input DIR --warehouse DIR --as-of 2024-12-31
    python -m lakehouse.runner show gold.cms_facility_monthly --warehouse ./warehouse

`run` reads the same declaration the Pulumi program reads (`load_stack_config(stack)`), runs the
pipeline's jobs wave by wave in `PipelineSpec.waves()` order (a job starts only when every job it
depends on succeeded, as with the workflow's conditional triggers), and calls each Glue script's
`run(spark, args)` with `job_arguments(job, LakeLocation(...))` bound to a local Iceberg Hadoop
catalog named `local`: raw = the input folder, bronze/silver/gold = `<warehouse>/<database>/`.

A run writes `<warehouse>/_runs/<run id>.json` and `.html` (DAG, timings, row counts, metrics
chart; no external assets) and `<warehouse>/_runs/latest.{json,html}`. When the input files,
the arguments, the declaration and the code the last run executed are unchanged since then,
the run stops before starting Spark ("up to date"); `--force` runs the jobs anyway (they are
incremental: nothing new is ingested). One run at a time per warehouse (`<warehouse>/.runner.lock`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import html
import importlib.util
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from ..model.config import StackConfig, load_stack_config
from ..model.errors import ConfigError
from ..model.platform import LakeLocation, job_arguments
from ..model.pipelines import GLUE_SCRIPTS_DIR, REPO_ROOT, JobSpec, PipelineSpec
from ..model.zones import LAKE_ZONES

CATALOG = "local"
DEFAULT_INPUT = Path("sample_data")
DEFAULT_WAREHOUSE = Path("warehouse")
SAMPLE_PATIENTS = 300
RUNS_DIR = "_runs"
LOCK_FILE = ".runner.lock"
EXIT_JOB_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 3


class RunnerError(RuntimeError):
    """A problem the user fixes (bad argument, locked warehouse); the message says how."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_code = exit_code


# --- where things live ----------------------------------------------------------------

def lake_location(cfg: StackConfig, input_dir: Path, warehouse: Path) -> LakeLocation:
    """Local binding of the zones: raw = the input folder; a lake zone = its database folder
    in the Iceberg Hadoop catalog (where `<db>.<table>` lives, like `s3://<zone bucket>/<table>/`)."""
    uris = {"raw": input_dir.resolve().as_uri() + "/"}
    for zone in LAKE_ZONES:
        uris[zone] = (warehouse.resolve() / cfg.database_name(zone)).as_uri() + "/"
    return LakeLocation(catalog=CATALOG, zone_uris=uris,
                        databases={z: cfg.database_name(z) for z in LAKE_ZONES})


def select_pipeline(cfg: StackConfig, name: str | None) -> PipelineSpec:
    names = [p.name for p in cfg.pipelines]
    wanted = name or ("fhir" if "fhir" in names else names[0])
    for p in cfg.pipelines:
        if p.name == wanted:
            return p
    raise RunnerError(f"--pipeline: got {wanted!r}; allowed: the pipelines of stack {cfg.stack!r}: {names}")


def table_dir(warehouse: Path, database: str, table: str) -> Path:
    return warehouse / database / table


def list_tables(warehouse: Path) -> list[str]:
    """`<database>.<table>` of every Iceberg table in a Hadoop-catalog warehouse (no Spark)."""
    if not warehouse.is_dir():
        return []
    return sorted(f"{m.parent.parent.name}.{m.parent.name}"
                  for m in warehouse.glob("*/*/metadata") if (m / "version-hint.text").is_file())


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
                    raise RunnerError(
                        f"warehouse {self.path.parent} is in use by another run (pid {pid}, lock {self.path}); "
                        "wait for it to finish, or delete the lock file if that process is not a runner",
                        EXIT_LOCKED)
                self.stale_pid = pid
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()} {datetime.now(timezone.utc).isoformat()}\n")
            return self
        raise RunnerError(f"could not take the lock {self.path}; another run is starting", EXIT_LOCKED)

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


# --- running jobs ------------------------------------------------------------------------

@dataclass
class JobRun:
    job: JobSpec
    wave: int
    status: str = "waiting"  # waiting | running | succeeded | failed | skipped
    started: float | None = None
    seconds: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job.name, "key": self.job.key, "wave": self.wave,
                "depends_on": list(self.job.depends_on), "script": self.job.script, "status": self.status,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "input": self.result.get("input"), "accepted": self.result.get("accepted"),
                "quarantined": self.result.get("quarantined"), "result": self.result, "error": self.error}


def _lakelib_importable() -> None:
    if str(GLUE_SCRIPTS_DIR) not in sys.path:
        sys.path.insert(0, str(GLUE_SCRIPTS_DIR))  # lakelib, as --extra-py-files provides it on Glue


def spark_session(warehouse: Path):
    """The local SparkSession from glue_scripts/lakelib (the one place that builds sessions)."""
    _lakelib_importable()
    import lakelib.session as session

    try:
        return session.local_spark_session(warehouse)
    except session.MissingJarError as e:
        raise RunnerError(f"local Spark cannot start: {e}") from None


@contextlib.contextmanager
def jvm_output_to_stderr():
    """Point file descriptor 1 at stderr while the JVM starts: the Spark JVM inherits it, so
    whatever it prints (JVM notices, log lines) never mixes with our stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def load_script(job: JobSpec) -> Callable[[Any, dict[str, str]], dict]:
    """Import glue_scripts/<script> as a fresh module and return its `run(spark, args)`."""
    path = GLUE_SCRIPTS_DIR / job.script
    _lakelib_importable()
    spec = importlib.util.spec_from_file_location(f"glue_job_{job.pipeline}_{job.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if not callable(run):
        raise RunnerError(f"{path}: no module-level run(spark, args) (the Glue entrypoint contract)")
    return run


def check_result(job: JobSpec, result: Any) -> dict:
    if not isinstance(result, dict) or not all(isinstance(result.get(k), int) for k in ("input", "accepted", "quarantined")):
        raise RuntimeError(f"{job.key}: run() returned {result!r}; expected a dict with integer "
                           "input, accepted and quarantined")
    if result["input"] != result["accepted"] + result["quarantined"]:
        raise RuntimeError(f"{job.key}: input {result['input']} != accepted {result['accepted']} + "
                           f"quarantined {result['quarantined']}")
    return result


def plan_runs(pipeline: PipelineSpec) -> list[JobRun]:
    """One JobRun per job, wave after wave (the Glue workflow's trigger order)."""
    return [JobRun(job, w) for w, wave in enumerate(pipeline.waves()) for job in wave]


def run_pipeline(spark, runs: list[JobRun], where: LakeLocation, extra_args: dict[str, dict[str, str]],
                 on_change: Callable[[], None] = lambda: None) -> list[JobRun]:
    """Every job in `runs` order; a job whose upstream job did not succeed is skipped."""
    by_name = {r.job.name: r for r in runs}
    for r in runs:
        if any(by_name[d].status != "succeeded" for d in r.job.depends_on):
            r.status = "skipped"
            on_change()
            continue
        args = {**job_arguments(r.job, where), **extra_args.get(r.job.name, {})}
        r.status, r.started = "running", time.monotonic()
        on_change()
        try:
            r.result = check_result(r.job, load_script(r.job)(spark, args))
            r.status = "succeeded"
        except Exception as e:  # a job failure is reported, downstream jobs are skipped
            r.status = "failed"
            r.error = f"{type(e).__name__}: {e}"
            r.result = {"traceback": traceback.format_exc(limit=8)}
        r.seconds = time.monotonic() - r.started
        on_change()
    return runs


# --- display -------------------------------------------------------------------------------

class ProgressView:
    """Rich renderable: one row per job with status, rows in/accepted/quarantined and time."""

    STYLE = {"waiting": "dim", "running": "bold yellow", "succeeded": "green", "failed": "bold red", "skipped": "dim red"}

    def __init__(self, title: str):
        self.title = title
        self.runs: list[JobRun] = []

    def __rich__(self):
        from rich.table import Table

        t = Table(title=self.title, title_justify="left")
        for col, just in (("wave", "right"), ("job", "left"), ("status", "left"), ("rows in", "right"),
                          ("accepted", "right"), ("quarantined", "right"), ("time", "right")):
            t.add_column(col, justify=just)
        for r in self.runs:
            secs = r.seconds if r.seconds is not None else (time.monotonic() - r.started if r.started else None)
            fmt = lambda v: "" if v is None else f"{v:,}"
            t.add_row(str(r.wave + 1), r.job.key, f"[{self.STYLE[r.status]}]{r.status}[/]",
                      fmt(r.result.get("input")), fmt(r.result.get("accepted")), fmt(r.result.get("quarantined")),
                      "" if secs is None else f"{secs:,.1f}s")
        return t


def gold_tables(pipeline: PipelineSpec, cfg: StackConfig) -> list[str]:
    """`<database>.<table>` of every gold table the pipeline writes."""
    return [f"{cfg.database_name('gold')}.{t}" for j in pipeline.jobs for a in j.writes if a.zone == "gold"
            for t in a.tables]


def read_table(spark, fq: str) -> tuple[list[str], list[tuple]]:
    """Columns and rows of `<db>.<table>` in the local catalog, sorted by every column."""
    df = spark.table(f"{CATALOG}.{fq}")
    rows = [tuple(r) for r in df.collect()]
    rows.sort(key=lambda r: tuple((v is None, str(v) if not isinstance(v, (int, float)) else v) for v in r))
    return list(df.columns), rows


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def print_gold(console, name: str, columns: list[str], rows: list[tuple], warehouse: Path) -> None:
    """Per facility over all months (rates recomputed from the counts), then where the full table is."""
    from rich.table import Table

    idx = {c: i for i, c in enumerate(columns)}
    counts = ("discharges", "deaths", "patient_days", "index_stays", "readmissions", "hai_count")
    pct = lambda n, d: "" if not d else f"{100 * n / d:.1f}%"  # noqa: E731
    if "facility_id" not in idx or not all(c in idx for c in counts):  # not the FHIR gold shape
        console.print(f"{CATALOG}.{name}: {len(rows)} rows")
    else:
        per: dict[str, dict[str, Any]] = {}
        for r in rows:
            f = per.setdefault(r[idx["facility_id"]], {"months": set(), **{c: 0 for c in counts}})
            f["months"].add(r[idx["month"]])
            for c in counts:
                f[c] += r[idx[c]] or 0
        total = {"months": {m for f in per.values() for m in f["months"]},
                 **{c: sum(f[c] for f in per.values()) for c in counts}}
        t = Table(title=f"{CATALOG}.{name}: {len(rows)} rows (facility x month), summed per facility",
                  title_justify="left")
        for col in ("facility", "months", "discharges", "deaths", "mortality", "ALOS", "index stays",
                    "readmitted", "readmission", "HAI", "HAI/1000 pd"):
            t.add_column(col, justify="left" if col == "facility" else "right", no_wrap=col == "facility")
        for fid, f in [*sorted(per.items()), ("all facilities", total)]:
            t.add_row(fid, str(len(f["months"])), f"{f['discharges']:,}", f"{f['deaths']:,}",
                      pct(f["deaths"], f["discharges"]),
                      f"{f['patient_days'] / f['discharges']:.2f}" if f["discharges"] else "",
                      f"{f['index_stays']:,}", f"{f['readmissions']:,}", pct(f["readmissions"], f["index_stays"]),
                      f"{f['hai_count']:,}",
                      f"{1000 * f['hai_count'] / f['patient_days']:.1f}" if f["patient_days"] else "",
                      style="bold" if f is total else None)
        console.print(t)
    zone, table = ("gold", name.split(".", 1)[1]) if "." in name else ("gold", name)
    console.print(f"every row: python -m lakehouse.runner show {zone}.{table} --warehouse {warehouse}")


# --- the report --------------------------------------------------------------------------

def write_report(warehouse: Path, report: dict) -> tuple[Path, Path]:
    out = warehouse / RUNS_DIR
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str) + "\n"
    page = render_html(report)
    for stem in (report["run_id"], "latest"):
        (out / f"{stem}.json").write_text(text)
        (out / f"{stem}.html").write_text(page)
    return out / f"{report['run_id']}.json", out / f"{report['run_id']}.html"


STATUS_COLOUR = {"succeeded": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e", "waiting": "#9e9e9e",
                 "running": "#f9a825"}


def dag_svg(jobs: list[dict]) -> str:
    """Jobs as boxes in one column per wave, an arrow per dependency, coloured by status."""
    w, h, gx, gy = 170, 58, 60, 24
    waves: dict[int, list[dict]] = {}
    for j in jobs:
        waves.setdefault(j["wave"], []).append(j)
    pos = {}
    for wv, items in waves.items():
        for i, j in enumerate(items):
            pos[j["job"]] = (10 + wv * (w + gx), 10 + i * (h + gy))
    width = 20 + len(waves) * (w + gx) - gx
    height = 20 + max(len(v) for v in waves.values()) * (h + gy) - gy if waves else 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="pipeline DAG"><defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" '
             f'refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#555"/></marker></defs>']
    for j in jobs:
        x2, y2 = pos[j["job"]]
        for d in j["depends_on"]:
            x1, y1 = pos[d]
            parts.append(f'<line x1="{x1 + w}" y1="{y1 + h / 2}" x2="{x2 - 2}" y2="{y2 + h / 2}" stroke="#555" '
                         f'stroke-width="1.5" marker-end="url(#arrow)"/>')
    for j in jobs:
        x, y = pos[j["job"]]
        colour = STATUS_COLOUR.get(j["status"], "#9e9e9e")
        secs = "" if j["seconds"] is None else f'{j["seconds"]:.1f}s'
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="#fff" stroke="{colour}" '
                     f'stroke-width="3"/><text x="{x + w / 2}" y="{y + 22}" text-anchor="middle" '
                     f'font-weight="bold">{html.escape(j["job"])}</text><text x="{x + w / 2}" y="{y + 42}" '
                     f'text-anchor="middle" font-size="12" fill="{colour}">{html.escape(j["status"])} {secs}</text>')
    parts.append("</svg>")
    return "".join(parts)


def monthly_totals(columns: list[str], rows: list[list]) -> list[dict]:
    """Per month over all facilities, rates recomputed from the counts (never averaged)."""
    idx = {c: i for i, c in enumerate(columns)}
    need = ("month", "discharges", "deaths", "patient_days", "index_stays", "readmissions", "hai_count")
    if not all(c in idx for c in need):
        return []
    acc: dict[str, dict[str, int]] = {}
    for r in rows:
        m = acc.setdefault(r[idx["month"]], {c: 0 for c in need[1:]})
        for c in need[1:]:
            m[c] += r[idx[c]] or 0
    out = []
    for month in sorted(acc):
        m = acc[month]
        out.append({"month": month, "discharges": m["discharges"],
                    "mortality_rate": m["deaths"] / m["discharges"] if m["discharges"] else None,
                    "readmission_rate": m["readmissions"] / m["index_stays"] if m["index_stays"] else None,
                    "hai_per_1000_patient_days": 1000 * m["hai_count"] / m["patient_days"] if m["patient_days"] else None})
    return out


def metrics_svg(totals: list[dict]) -> str:
    """Discharges as bars (left axis) and the three rates as lines (right axis, % / per 1000)."""
    if not totals:
        return "<p>No gold rows.</p>"
    W, H, L, R, T, B = 760, 300, 50, 60, 20, 60
    n = len(totals)
    step = (W - L - R) / n
    maxd = max(t["discharges"] for t in totals) or 1
    series = (("mortality_rate", "mortality %", "#c62828", 100), ("readmission_rate", "readmission %", "#1565c0", 100),
              ("hai_per_1000_patient_days", "HAI / 1000 patient days", "#6a1b9a", 1))
    maxr = max([t[k] * s for k, _, _, s in series for t in totals if t[k] is not None] + [1])
    y_d = lambda v: T + (H - T - B) * (1 - v / maxd)
    y_r = lambda v: T + (H - T - B) * (1 - v / maxr)
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="metrics by month" '
         f'font-size="11">',
         f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="#333"/>',
         f'<text x="{L - 6}" y="{T + 4}" text-anchor="end">{maxd}</text><text x="{L - 6}" y="{H - B}" text-anchor="end">0</text>',
         f'<text x="{W - R + 6}" y="{T + 4}">{maxr:.1f}</text><text x="{W - R + 6}" y="{H - B}">0</text>']
    for i, t in enumerate(totals):
        x = L + i * step
        p.append(f'<rect x="{x + step * 0.15:.1f}" y="{y_d(t["discharges"]):.1f}" width="{step * 0.7:.1f}" '
                 f'height="{H - B - y_d(t["discharges"]):.1f}" fill="#cfd8dc"><title>{t["month"]}: '
                 f'{t["discharges"]} discharges</title></rect>')
        p.append(f'<text x="{x + step / 2:.1f}" y="{H - B + 14}" text-anchor="middle">{t["month"]}</text>')
    for k, label, colour, scale in series:
        pts = [(L + i * step + step / 2, y_r(t[k] * scale)) for i, t in enumerate(totals) if t[k] is not None]
        if pts:
            p.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
    for i, (k, label, colour, _) in enumerate((("discharges", "discharges (left axis)", "#90a4ae", 1),) + series):
        p.append(f'<rect x="{L + i * 175}" y="{H - 22}" width="12" height="12" fill="{colour}"/>'
                 f'<text x="{L + i * 175 + 16}" y="{H - 12}">{html.escape(label)}</text>')
    p.append("</svg>")
    return "".join(p)


def render_html(report: dict) -> str:
    esc = html.escape
    def num(v: Any) -> str:
        return "" if v is None else f"{v:,}"

    rows = "".join(
        f"<tr><td>{j['wave'] + 1}</td><td>{esc(j['key'])}</td>"
        f"<td style='color:{STATUS_COLOUR.get(j['status'], '#000')}'>{esc(j['status'])}</td>"
        f"<td>{'' if j['seconds'] is None else format(j['seconds'], '.1f') + 's'}</td>"
        f"<td>{num(j['input'])}</td><td>{num(j['accepted'])}</td><td>{num(j['quarantined'])}</td>"
        f"<td>{esc(j['error'] or '')}</td></tr>"
        for j in report["jobs"])
    gold_html = ""
    for name, g in report.get("gold", {}).items():
        head = "".join(f"<th>{esc(c)}</th>" for c in g["columns"])
        body = "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in r) + "</tr>" for r in g["rows"])
        gold_html += (f"<h2>{esc(name)} ({len(g['rows'])} rows)</h2>"
                      f"{metrics_svg(monthly_totals(g['columns'], g['rows']))}"
                      f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    meta = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(report.get(k)))}</td></tr>"
                   for k in ("run_id", "status", "stack", "pipeline", "input", "warehouse", "as_of", "started",
                             "seconds"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(report['pipeline'])} run {esc(report['run_id'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:right}}th{{background:#f5f5f5}}td:first-child{{text-align:left}}</style>
</head><body>
<h1>Pipeline {esc(report['pipeline'])} &mdash; {esc(report['status'])}</h1>
<table>{meta}</table>
<h2>Jobs</h2>{dag_svg(report['jobs'])}
<table><thead><tr><th>wave</th><th>job</th><th>status</th><th>time</th><th>rows in</th><th>accepted</th>
<th>quarantined</th><th>error</th></tr></thead><tbody>{rows}</tbody></table>
{gold_html}
</body></html>
"""


# --- commands -------------------------------------------------------------------------------

def _console():
    from rich.console import Console

    # Piped output (CI logs, tests) gets a fixed width wide enough for the summary table.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def write_sample_data(console, pipeline: str, input_dir: Path) -> None:
    """The bundled sample of a pipeline, for runs without --input."""
    if pipeline == "fhir":
        from ..samples.fhir import write_batch

        console.print(f"generating sample data: {SAMPLE_PATIENTS} patients -> {input_dir}/fhir/batch-0001/")
        write_batch(input_dir, SAMPLE_PATIENTS, seed=0)
    elif pipeline == "climate":
        from ..samples.climate import write_sample

        console.print(f"generating sample data -> {input_dir}/climate/")
        write_sample(input_dir)


def database_for(pipeline: PipelineSpec, warehouse: Path):
    """Extra job arguments for `connection: true` jobs, as a context manager: a configured
    PostgreSQL (LAKEHOUSE_JDBC_URL, credentials in LAKEHOUSE_JDBC_USER/PASSWORD) or else a
    throwaway local server that lives as long as the run."""
    if not any(j.connection for j in pipeline.jobs):
        return contextlib.nullcontext({})
    if os.environ.get("LAKEHOUSE_JDBC_URL"):
        return contextlib.nullcontext({"--jdbc_url": os.environ["LAKEHOUSE_JDBC_URL"]})
    from .pg_local import local_jdbc_for_pipeline

    return local_jdbc_for_pipeline(warehouse)


def cmd_run(a: argparse.Namespace) -> int:
    console = _console()
    cfg = load_stack_config(a.stack)
    pipeline = select_pipeline(cfg, a.pipeline)
    as_of = None
    if a.as_of:
        try:
            as_of = date.fromisoformat(a.as_of).isoformat()
        except ValueError:
            raise RunnerError(f"--as-of: got {a.as_of!r}; allowed: a date YYYY-MM-DD")
    input_dir, warehouse = Path(a.input or DEFAULT_INPUT), Path(a.warehouse)
    if a.input is None and not (input_dir / pipeline.name).is_dir():
        write_sample_data(console, pipeline.name, input_dir)
    if not input_dir.is_dir():
        raise RunnerError(f"--input: got {str(input_dir)!r}; allowed: an existing folder (the raw zone)")

    with WarehouseLock(warehouse) as lock:
        if lock.stale_pid:
            console.print(f"[yellow]took over a stale lock of pid {lock.stale_pid} (process gone)[/]")
        state_path = warehouse / RUNS_DIR / "state.json"
        state = json.loads(state_path.read_text()) if state_path.is_file() else {}
        run_args = {"stack": cfg.stack, "input": str(input_dir.resolve()), "as_of": as_of}
        reasons = what_changed(state.get(pipeline.name, {}), input_dir, run_args)
        if not reasons and not a.force:
            last = state[pipeline.name]
            console.print(f"[green]up to date[/]: no new input and no change since run {last['run_id']} "
                          f"(report {warehouse / RUNS_DIR / (last['run_id'] + '.html')}); --force runs the jobs anyway")
            return 0
        console.print("running: " + ("--force" if a.force else "; ".join(reasons)))
        fp = {"input": input_hash(input_dir), "args": run_args}
        return _run(console, cfg, pipeline, input_dir, warehouse, as_of, fp, state, state_path)


def _run(console, cfg, pipeline, input_dir, warehouse, as_of, fp, state, state_path) -> int:
    from rich.live import Live


    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    where = lake_location(cfg, input_dir, warehouse)
    extra = {j.name: {"--run_id": run_id} for j in pipeline.jobs}
    for j in pipeline.jobs:
        if as_of and any(a.zone == "gold" for a in j.writes):
            extra[j.name]["--as_of"] = as_of
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    console.print(f"stack [bold]{cfg.stack}[/] pipeline [bold]{pipeline.name}[/]: {input_dir} -> {warehouse} "
                  f"(catalog {CATALOG}; waves: "
                  + " -> ".join("+".join(j.name for j in w) for w in pipeline.waves()) + ")")
    with jvm_output_to_stderr():
        spark = spark_session(warehouse)
    view = ProgressView(f"{pipeline.name} on local Spark + Iceberg")
    view.runs = runs = plan_runs(pipeline)
    with database_for(pipeline, warehouse) as db_args, \
            Live(view, console=console, refresh_per_second=4, transient=False) as live:
        for j in pipeline.jobs:
            if j.connection:
                extra[j.name].update(db_args)
        run_pipeline(spark, runs, where, extra, on_change=live.refresh)
    console.print()
    failed = [r for r in runs if r.status == "failed"]
    gold: dict[str, dict] = {}
    if not failed:
        for fq in gold_tables(pipeline, cfg):
            cols, rows = read_table(spark, fq)
            gold[fq] = {"columns": cols, "rows": [list(r) for r in rows]}
            print_gold(console, fq, cols, rows, warehouse)
    report = {
        "run_id": run_id, "status": "failed" if failed else "succeeded", "stack": cfg.stack,
        "pipeline": pipeline.name, "input": str(input_dir.resolve()), "warehouse": str(warehouse.resolve()),
        "as_of": as_of, "started": started.isoformat(), "seconds": round(time.monotonic() - t0, 3),
        "catalog": CATALOG, "databases": dict(where.databases),
        "jobs": [dict(r.as_dict(), aws=_aws_settings(cfg, r.job)) for r in runs], "gold": gold,
    }
    json_path, html_path = write_report(warehouse, report)
    console.print(f"report: {html_path} and {json_path}")
    if failed:
        for r in failed:
            console.print(f"[bold red]job {r.job.key} failed[/]: {r.error}")
            console.print(r.result.get("traceback", ""), markup=False, highlight=False)
        skipped = [r.job.key for r in runs if r.status == "skipped"]
        if skipped:
            console.print(f"skipped (upstream failed): {', '.join(skipped)}")
        return EXIT_JOB_FAILED
    files = code_files(pipeline)
    state[pipeline.name] = {**fp, "code_files": files, "code": code_hash(files), "run_id": run_id}
    state_path.write_text(json.dumps(state, indent=2) + "\n")
    console.print(f"[green]succeeded[/] in {report['seconds']:.1f}s")
    return 0


def _aws_settings(cfg: StackConfig, job: JobSpec) -> dict | None:
    s = cfg.job_settings.get(job.key)
    return None if s is None else {"job_name": cfg.resource_name(job.pipeline, job.name),
                                   "worker_type": s.worker_type, "workers": s.number_of_workers,
                                   "execution_class": s.execution_class}


def cmd_show(a: argparse.Namespace) -> int:
    cfg = load_stack_config(a.stack)
    warehouse = Path(a.warehouse)
    parts = a.table.split(".")
    if len(parts) != 2:
        raise RunnerError(f"table: got {a.table!r}; allowed: <zone>.<table> (e.g. gold.cms_facility_monthly) "
                          "or <database>.<table>")
    db = cfg.database_name(parts[0]) if parts[0] in LAKE_ZONES else parts[0]
    fq = f"{db}.{parts[1]}"
    tables = list_tables(warehouse)
    if fq not in tables:
        raise RunnerError(f"table: got {a.table!r} ({fq}); allowed: a table of warehouse {warehouse}: "
                          f"{tables or 'none yet - run `python -m lakehouse.runner` first'}")
    with jvm_output_to_stderr():  # stdout carries only the CSV
        spark = spark_session(warehouse)
    cols, rows = read_table(spark, fq)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(cols)
    for r in rows[: a.limit] if a.limit else rows:
        w.writerow([_csv_value(v) for v in r])
    sys.stdout.flush()
    return 0


def _plain(v: Any) -> Any:
    """Spark Rows (structs) -> dicts, recursively, for JSON."""
    if hasattr(v, "asDict"):
        return {k: _plain(x) for k, x in v.asDict().items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _csv_value(v: Any) -> Any:
    """Scalars as they are; structs, arrays and maps as JSON; null as an empty field."""
    if v is None:
        return ""
    if hasattr(v, "asDict") or isinstance(v, (list, tuple, dict)):
        return json.dumps(_plain(v), default=str, separators=(",", ":"))
    return v


def cmd_tables(a: argparse.Namespace) -> int:
    for t in list_tables(Path(a.warehouse)):
        print(t)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m lakehouse.runner",
                                 description="Run a declared pipeline on local Spark + Iceberg (default: run).")
    sub = ap.add_subparsers(dest="command")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), help="Iceberg warehouse folder (default ./warehouse)")
        p.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml declares the pipelines (default dev)")

    r = sub.add_parser("run", help="run a pipeline (the default command)")
    common(r)
    r.add_argument("--input", help=f"raw zone folder holding fhir/ (default ./{DEFAULT_INPUT}, generated "
                                   f"with {SAMPLE_PATIENTS} patients when absent)")
    r.add_argument("--as-of", dest="as_of", help="as-of date YYYY-MM-DD for readmissions (gold --as_of)")
    r.add_argument("--pipeline", help="pipeline name (default fhir)")
    r.add_argument("--force", action="store_true", help="run the jobs even when nothing changed since the last run")
    s = sub.add_parser("show", help="print a table of a warehouse as CSV")
    s.add_argument("table", help="<zone>.<table> (e.g. silver.encounters) or <database>.<table>")
    s.add_argument("--limit", type=int, default=0, help="at most this many rows (default all)")
    common(s)
    t = sub.add_parser("tables", help="list the tables of a warehouse")
    common(t)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "show", "tables", "-h", "--help"):
        argv = ["run", *argv]
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        return {"run": cmd_run, "show": cmd_show, "tables": cmd_tables}[a.command](a)
    except RunnerError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
