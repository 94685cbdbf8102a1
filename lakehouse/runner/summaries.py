"""What a run says about its gold tables, per pipeline: a console summary and a chart for the report.

`summary_for(pipeline name)` picks from `SUMMARIES`; a pipeline without an entry gets
`GoldSummary` (the row count of each gold table). The FHIR pipeline's summary sums
`cms_facility_monthly` per facility and charts it per month, rates always recomputed from the
summed counts (never averaged). Every summary ends with the command that prints every row.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..model.config import StackConfig
from ..model.pipelines import PipelineSpec
from ..model.quality import RESULTS_TABLE
from .executor import CATALOG

NO_CHART = "<p>No gold rows.</p>"


def gold_tables(pipeline: PipelineSpec, cfg: StackConfig) -> list[str]:
    """`<database>.<table>` of every gold table the pipeline writes (not its data-quality results, which
    grow by every run's outcomes: the report lists those per job), each once: the maintenance job
    declares the tables it maintains as writes too."""
    return list(dict.fromkeys(f"{cfg.database_name('gold')}.{t}" for j in pipeline.jobs for a in j.writes
                              if a.zone == "gold" for t in a.tables if t != RESULTS_TABLE))


class GoldSummary:
    """Any pipeline: the row count of each gold table; the report has no chart for it."""

    def print(self, console, name: str, columns: list[str], rows: list[tuple], warehouse: Path) -> None:
        """The summary of gold table `name` (`<database>.<table>`), then where the full table is."""
        self.print_table(console, name, columns, rows)
        table = name.split(".", 1)[1] if "." in name else name
        console.print(f"every row: python -m lakehouse.runner show gold.{table} --warehouse {warehouse}")

    def print_table(self, console, name: str, columns: list[str], rows: list[tuple]) -> None:
        console.print(f"{CATALOG}.{name}: {len(rows)} rows")

    def chart_html(self, columns: list[str], rows: list[list]) -> str:
        """An inline SVG (or a note) for the HTML report, above the table's rows."""
        return NO_CHART


# --- FHIR: cms_facility_monthly ------------------------------------------------------------

FHIR_COUNTS = ("discharges", "deaths", "patient_days", "index_stays", "readmissions", "hai_count")


def _pct(n: float, d: float) -> str:
    return "" if not d else f"{100 * n / d:.1f}%"


class FhirGoldSummary(GoldSummary):
    """Per facility over all months (rates recomputed from the counts); a table of another shape
    gets the generic row count."""

    def print_table(self, console, name: str, columns: list[str], rows: list[tuple]) -> None:
        from rich.table import Table

        idx = {c: i for i, c in enumerate(columns)}
        counts = FHIR_COUNTS
        if "facility_id" not in idx or not all(c in idx for c in counts):  # not the FHIR gold shape
            super().print_table(console, name, columns, rows)
            return
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
                      _pct(f["deaths"], f["discharges"]),
                      f"{f['patient_days'] / f['discharges']:.2f}" if f["discharges"] else "",
                      f"{f['index_stays']:,}", f"{f['readmissions']:,}", _pct(f["readmissions"], f["index_stays"]),
                      f"{f['hai_count']:,}",
                      f"{1000 * f['hai_count'] / f['patient_days']:.1f}" if f["patient_days"] else "",
                      style="bold" if f is total else None)
        console.print(t)

    def chart_html(self, columns: list[str], rows: list[list]) -> str:
        return metrics_svg(monthly_totals(columns, rows))


def monthly_totals(columns: list[str], rows: list[list]) -> list[dict]:
    """Per month over all facilities, rates recomputed from the counts (never averaged)."""
    idx = {c: i for i, c in enumerate(columns)}
    need = ("month", *FHIR_COUNTS)
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
                    "hai_per_1000_patient_days":
                        1000 * m["hai_count"] / m["patient_days"] if m["patient_days"] else None})
    return out


def metrics_svg(totals: list[dict]) -> str:
    """Discharges as bars (left axis) and the three rates as lines (right axis, % / per 1000)."""
    if not totals:
        return NO_CHART
    W, H, L, R, T, B = 760, 300, 50, 60, 20, 60
    n = len(totals)
    step = (W - L - R) / n
    maxd = max(t["discharges"] for t in totals) or 1
    series = (("mortality_rate", "mortality %", "#c62828", 100), ("readmission_rate", "readmission %", "#1565c0", 100),
              ("hai_per_1000_patient_days", "HAI / 1000 patient days", "#6a1b9a", 1))
    maxr = max([t[k] * s for k, _, _, s in series for t in totals if t[k] is not None] + [1])

    def y_d(v: float) -> float:
        return T + (H - T - B) * (1 - v / maxd)

    def y_r(v: float) -> float:
        return T + (H - T - B) * (1 - v / maxr)

    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="metrics by month" '
         f'font-size="11">',
         f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="#333"/>',
         f'<text x="{L - 6}" y="{T + 4}" text-anchor="end">{maxd}</text>'
         f'<text x="{L - 6}" y="{H - B}" text-anchor="end">0</text>',
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


# --- the registry ----------------------------------------------------------------------------

DEFAULT_SUMMARY = GoldSummary()
SUMMARIES: dict[str, GoldSummary] = {"fhir": FhirGoldSummary()}


def summary_for(pipeline: str) -> GoldSummary:
    """The summary registered for `pipeline`, or the generic row count."""
    return SUMMARIES.get(pipeline, DEFAULT_SUMMARY)
