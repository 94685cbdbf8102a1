"""What a run shows: the live job table (or status lines), the run report, and tables as CSV.

`ProgressView` is the live console table (one row per job), redrawn in place on a terminal. Piped
or in CI (`is_interactive` false) a live table would appear only once the run ends, so `StatusLines`
prints one line per job state change as it happens instead, and the table once at the end. `write_report` writes
`<warehouse>/_runs/<run id>.{json,html}` and `latest.{json,html}`: the JSON holds the run's
arguments, every job's status, timings, counts and result and the gold rows; the HTML page is
self-contained (DAG and the pipeline's chart as inline SVG, no external assets) and lists the raw
files a job ignored or quarantined as a whole, with the reason (`files_not_read`). `print_csv` is
the `show` command's output.
"""

from __future__ import annotations

import csv
import html
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..model.config import StackConfig
from ..model.pipelines import JobSpec
from .executor import JobRun
from .state import RUNS_DIR
from .summaries import summary_for

STATUS_COLOUR = {"succeeded": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e", "waiting": "#9e9e9e",
                 "running": "#f9a825"}


# --- the live view ---------------------------------------------------------------------------

def _count(v: int | None) -> str:
    return "" if v is None else f"{v:,}"


class ProgressView:
    """Rich renderable: one row per job with status, rows in/accepted/quarantined/waiting and time."""

    STYLE = {"waiting": "dim", "running": "bold yellow", "succeeded": "green", "failed": "bold red",
             "skipped": "dim red"}

    def __init__(self, title: str):
        self.title = title
        self.runs: list[JobRun] = []

    def __rich__(self):
        from rich.table import Table

        t = Table(title=self.title, title_justify="left")
        for col, just in (("wave", "right"), ("job", "left"), ("status", "left"), ("rows in", "right"),
                          ("accepted", "right"), ("quarantined", "right"), ("waiting", "right"), ("time", "right")):
            t.add_column(col, justify=just)
        for r in self.runs:
            secs = r.seconds if r.seconds is not None else (time.monotonic() - r.started if r.started else None)
            t.add_row(str(r.wave + 1), r.job.key, f"[{self.STYLE[r.status]}]{r.status}[/]",
                      _count(r.result.get("input")), _count(r.result.get("accepted")),
                      _count(r.result.get("quarantined")), _count(r.result.get("waiting")),
                      "" if secs is None else f"{secs:,.1f}s")
        return t


def is_interactive(console) -> bool:
    """Whether the console writes to a terminal that can redraw a table in place (not a pipe or CI log,
    even with FORCE_COLOR set)."""
    isatty = getattr(console.file, "isatty", None)
    return bool(console.is_terminal and isatty is not None and isatty())


def _files_note(result: dict) -> str:
    """`; files ignored 2, quarantined 1: see the report` when a job left raw files unread."""
    ignored, quarantined = len(result.get("ignored_files") or ()), len(result.get("quarantined_files") or ())
    return f"; files ignored {ignored:,}, quarantined {quarantined:,}: see the report" if ignored or quarantined else ""


def status_line(r: JobRun) -> str:
    """One job's new state, e.g. `fhir.bronze: succeeded in 3.2s (rows in 1,200, accepted 1,190, quarantined 10)`."""
    secs = "" if r.seconds is None else f" in {r.seconds:.1f}s"
    if r.status == "running":
        return f"{r.job.key}: running (wave {r.wave + 1})"
    if r.status == "succeeded":
        return (f"{r.job.key}: succeeded{secs} (rows in {_count(r.result.get('input'))}, accepted "
                f"{_count(r.result.get('accepted'))}, quarantined {_count(r.result.get('quarantined'))}"
                + (f", waiting {_count(r.result['waiting'])}" if "waiting" in r.result else "")
                + _files_note(r.result) + ")"
                + ("; up to date: nothing it reads changed since it last wrote" if r.result.get("up_to_date") else ""))
    if r.status == "failed":
        return f"{r.job.key}: failed{secs}: {r.error}"
    if r.status == "skipped":
        return f"{r.job.key}: skipped (upstream failed)"
    return f"{r.job.key}: {r.status}"


class StatusLines:
    """The `on_change` of a run whose output is not a terminal: a plain line per job state change."""

    def __init__(self, console, runs: list[JobRun]):
        self.console, self.runs = console, runs
        self.seen = {id(r): r.status for r in runs}

    def __call__(self) -> None:
        for r in self.runs:
            if self.seen.get(id(r)) != r.status:
                self.seen[id(r)] = r.status
                self.console.print(status_line(r), markup=False, highlight=False, soft_wrap=True)
        self.console.file.flush()


# --- the run report ----------------------------------------------------------------------------

def aws_settings(cfg: StackConfig, job: JobSpec) -> dict | None:
    """The Glue job this local job stands for (name, workers), for the report."""
    s = cfg.job_settings.get(job.key)
    return None if s is None else {"job_name": cfg.resource_name(job.pipeline, job.name),
                                   "worker_type": s.worker_type, "workers": s.number_of_workers,
                                   "execution_class": s.execution_class}


def write_report(warehouse: Path, report: dict) -> tuple[Path, Path]:
    out = warehouse / RUNS_DIR
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str) + "\n"
    page = render_html(report)
    for stem in (report["run_id"], "latest"):
        (out / f"{stem}.json").write_text(text)
        (out / f"{stem}.html").write_text(page)
    return out / f"{report['run_id']}.json", out / f"{report['run_id']}.html"


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
            if d not in pos:  # an upstream job this run did not plan (`maintain` runs one job on its own)
                continue
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


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\n"
        "td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f5f5f5}"
        "td:first-child{text-align:left}")


def files_not_read(report: dict) -> list[dict]:
    """The raw files a job's result lists as ignored (never read) or quarantined as a whole (the
    FHIR bronze job: `ignored_files`, `quarantined_files`), each with the job, status and reason."""
    out = []
    for j in report["jobs"]:
        result = j.get("result") or {}
        for status, key in (("quarantined", "quarantined_files"), ("ignored", "ignored_files")):
            out += [{"job": j["key"], "status": status, **f} for f in result.get(key) or ()]
    return out


def _files_html(report: dict) -> str:
    esc = html.escape
    files = files_not_read(report)
    if not files:
        return ""
    rows = "".join(f"<tr><td>{esc(f['source_file'])}</td><td>{esc(f['job'])}</td><td>{esc(f['status'])}</td>"
                   f"<td>{esc(str(f.get('reason')))}</td><td style='text-align:left'>{esc(str(f.get('detail')))}</td>"
                   "</tr>" for f in files)
    return (f"<h2>Files not read ({len(files)})</h2><table><thead><tr><th>file</th><th>job</th><th>status</th>"
            f"<th>reason</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table>")


def render_html(report: dict) -> str:
    esc = html.escape

    def num(v: Any) -> str:
        return "" if v is None else f"{v:,}"

    rows = "".join(
        f"<tr><td>{j['wave'] + 1}</td><td>{esc(j['key'])}</td>"
        f"<td style='color:{STATUS_COLOUR.get(j['status'], '#000')}'>{esc(j['status'])}</td>"
        f"<td>{'' if j['seconds'] is None else format(j['seconds'], '.1f') + 's'}</td>"
        f"<td>{num(j['input'])}</td><td>{num(j['accepted'])}</td><td>{num(j['quarantined'])}</td>"
        f"<td>{num(j.get('waiting'))}</td>"
        f"<td>{esc(j['error'] or '')}</td></tr>"
        for j in report["jobs"])
    summary = summary_for(report["pipeline"])
    gold_html = ""
    for name, g in report.get("gold", {}).items():
        head = "".join(f"<th>{esc(c)}</th>" for c in g["columns"])
        body = "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in r) + "</tr>" for r in g["rows"])
        gold_html += (f"<h2>{esc(name)} ({len(g['rows'])} rows)</h2>"
                      f"{summary.chart_html(g['columns'], g['rows'])}"
                      f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    meta = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(report.get(k)))}</td></tr>"
                   for k in ("run_id", "status", "stack", "pipeline", "input", "warehouse", "as_of", "started",
                             "seconds"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(report['pipeline'])} run {esc(report['run_id'])}</title>
<style>{_CSS}</style>
</head><body>
<h1>Pipeline {esc(report['pipeline'])} &mdash; {esc(report['status'])}</h1>
<table>{meta}</table>
<h2>Jobs</h2>{dag_svg(report['jobs'])}
<table><thead><tr><th>wave</th><th>job</th><th>status</th><th>time</th><th>rows in</th><th>accepted</th>
<th>quarantined</th><th>waiting</th><th>error</th></tr></thead><tbody>{rows}</tbody></table>
{_files_html(report)}
{gold_html}
</body></html>
"""


# --- a table as CSV ------------------------------------------------------------------------------

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


def print_csv(columns: list[str], rows: list[tuple], limit: int = 0) -> None:
    """A header line, then the rows (at most `limit`, 0 = all) as CSV on stdout."""
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(columns)
    for r in rows[:limit] if limit else rows:
        w.writerow([_csv_value(v) for v in r])
    sys.stdout.flush()
