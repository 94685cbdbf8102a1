"""Deterministic sample data for the orders pipeline: orders CSV + nested customers NDJSON, two batches
with a schema change between them and a known share of bad rows (docs/orders-pipeline.md).

    python -m lakehouse.samples.orders --out sample_data              # batches 1 and 2
    python -m lakehouse.samples.orders --out sample_data --batch 2    # one batch

Layout (one schema per batch folder: the crawler's partition):
    <out>/orders/customers/batch-0001/customers.json    nested NDJSON
    <out>/orders/orders/batch-0001/orders.csv
    <out>/orders/customers/batch-0002/customers.json    + address.region (a new nested field)
    <out>/orders/orders/batch-0002/orders.csv           + channel (new column), order_id beyond 2^31
                                                        (int -> bigint), customer_id renamed customer_ref
                                                        (declared in the extract job's --column_aliases)
    <out>/orders/orders/batch-0002-pos/orders.csv       unit_price renamed price, NOT declared: every row
                                                        quarantined as schema_incompatible
    <out>/manifest/orders-batch-000K.json               what the pipeline must report (outside orders/)

Each bad row carries exactly one defect, so the manifest's counts per reason are exact.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

BATCH_DAYS = 14
FIRST_DAY = date(2024, 3, 1)
BIG_ORDER_ID = 3_000_000_000  # batch 2's order ids come from a new id range: beyond int (2^31 - 1)
COUNTRIES = {"DE": ["Berlin", "Hamburg", "Munich"], "FR": ["Paris", "Lyon"], "NL": ["Amsterdam", "Utrecht"],
             "US": ["Boston", "Denver", "Austin"]}
REGIONS = {"DE": "EMEA", "FR": "EMEA", "NL": "EMEA", "US": "AMER"}
SEGMENTS = ("retail", "smb", "enterprise")
SKUS = {f"SKU-{i:03d}": p for i, p in enumerate(
    [4.99, 12.50, 19.99, 7.25, 149.00, 89.90, 2.35, 34.00, 999.99, 56.10, 15.75, 249.50], start=1)}
STATUSES = ("placed", "shipped", "delivered", "cancelled")
CHANNELS = ("web", "store", "phone")
ORDER_HEADER_1 = ["order_id", "customer_id", "order_date", "updated_at", "status", "sku", "quantity", "unit_price"]
ORDER_HEADER_2 = ["order_id", "customer_ref", "order_date", "updated_at", "status", "sku", "quantity", "unit_price",
                  "channel"]
POS_HEADER = ["order_id", "customer_id", "order_date", "updated_at", "status", "sku", "quantity", "price"]

# bad-row kinds -> the quarantine reason the pipeline gives them (stage in parentheses)
ORDER_DEFECTS = {
    "quantity_not_a_number": "type_mismatch",      # bronze: "two" in an int column
    "quantity_not_positive": "quantity_not_positive",  # silver
    "order_date_missing": "order_date_missing",    # silver
    "status_unknown": "status_unknown",            # silver
    "unknown_customer": "unknown_customer",        # silver
}
CUSTOMER_DEFECTS = {
    "malformed_json": "malformed_record",          # bronze
    "customer_id_missing": "customer_id_missing",  # silver
    "country_missing": "country_missing",          # silver
}
BRONZE_REASONS = frozenset({"type_mismatch", "malformed_record", "schema_incompatible"})


def _ts(day: date, rng: random.Random) -> str:
    t = datetime(day.year, day.month, day.day, rng.randrange(7, 22), rng.randrange(60), rng.randrange(60))
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def _customer(cid: str, rng: random.Random, updated: str, with_region: bool) -> dict:
    country = rng.choice(sorted(COUNTRIES))
    address = {"street": f"{rng.randrange(1, 200)} {rng.choice(['Main', 'High', 'Park', 'Mill'])} St",
               "city": rng.choice(COUNTRIES[country]), "country": country,
               "postal_code": f"{rng.randrange(10000, 99999)}"}
    if with_region:
        address["region"] = REGIONS[country]
    return {"customer_id": cid, "name": f"Customer {cid[1:]}", "segment": rng.choice(SEGMENTS), "address": address,
            "contact": {"email": f"{cid.lower()}@example.com", "phone": f"+1-555-{rng.randrange(1000, 9999)}"},
            "updated_at": updated}


def _bad_slots(rng: random.Random, n: int, kinds: list[str], share: float) -> dict[int, str]:
    """Row index -> defect kind: round(n * share) rows, kinds in turn (each kind at least once)."""
    count = max(len(kinds), round(n * share))
    rows = rng.sample(range(n), count)
    return {r: kinds[i % len(kinds)] for i, r in enumerate(rows)}


def _customers(seed: int, batch: int, customers: int, bad_share: float) -> tuple[list[str], dict[str, int], list[str]]:
    """Batch `batch` of customers: (NDJSON lines, bad kind -> count, ids of the clean records)."""
    rng = random.Random(f"orders-{seed}-{batch}-customers")
    first = FIRST_DAY + timedelta(days=BATCH_DAYS * (batch - 1))
    if batch == 1:
        ids = [f"C{i:05d}" for i in range(1, customers + 1)]
    else:  # a third of the known customers updated (moved), a third as many new ones
        ids = [f"C{i:05d}" for i in sorted(rng.sample(range(1, customers + 1), customers // 3))]
        ids += [f"C{i:05d}" for i in range(customers + 1, customers + 1 + customers // 3)]
    bad = _bad_slots(rng, len(ids), list(CUSTOMER_DEFECTS), bad_share)
    lines, counts, good = [], {}, []
    for i, cid in enumerate(ids):
        rec = _customer(cid, rng, _ts(first - timedelta(days=1), rng), with_region=batch == 2)
        kind = bad.get(i)
        if kind == "malformed_json":
            lines.append(json.dumps(rec)[:-7])  # cut off: not a JSON object
        elif kind == "customer_id_missing":
            rec["customer_id"] = None
            lines.append(json.dumps(rec))
        elif kind == "country_missing":
            del rec["address"]["country"]
            lines.append(json.dumps(rec))
        else:
            lines.append(json.dumps(rec))
            good.append(cid)
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
    return lines, counts, good


def _orders(seed: int, batch: int, orders: int, known: list[str],
            bad_share: float) -> tuple[list[dict], dict[int, str]]:
    """Batch `batch` of order rows (before defects) and row index -> defect kind."""
    rng = random.Random(f"orders-{seed}-{batch}-orders")
    first = FIRST_DAY + timedelta(days=BATCH_DAYS * (batch - 1))
    days = [first + timedelta(days=d) for d in range(BATCH_DAYS)]
    rows = []
    for i in range(orders):
        day = rng.choice(days)
        sku = rng.choice(sorted(SKUS))
        # batch 2 brings B2B orders with prices beyond any batch-1 price
        price = SKUS[sku] if batch == 1 or rng.random() < 0.9 else round(rng.uniform(1000, 45000), 2)
        rows.append({"order_id": (i + 1) if batch == 1 else BIG_ORDER_ID + i + 1, "customer_id": rng.choice(known),
                     "order_date": day.isoformat(), "updated_at": _ts(day, rng),
                     "status": rng.choice(STATUSES[:3]) if rng.random() < 0.9 else "cancelled", "sku": sku,
                     "quantity": str(rng.randrange(1, 8)), "unit_price": f"{price:.2f}",
                     "channel": rng.choice(CHANNELS)})
    return rows, _bad_slots(rng, orders, list(ORDER_DEFECTS), bad_share)


def write_batch(out: Path, batch: int, seed: int = 0, orders: int = 1200, customers: int = 150,
                bad_share: float = 0.03) -> dict:
    """Write batch 1 or 2 (batch 2 builds on batch 1 of the same seed and sizes) and its manifest."""
    if batch not in (1, 2):
        raise ValueError(f"batch: got {batch!r}; allowed: 1 or 2")
    out = Path(out)
    manifest: dict = {"batch": batch, "seed": seed, "files": {}, "bad": {}, "rows": {}}

    # --- customers (nested NDJSON) ---
    lines, manifest["bad"]["customers"], good = _customers(seed, batch, customers, bad_share)
    known = good if batch == 1 else _customers(seed, 1, customers, bad_share)[2] + [
        c for c in good if int(c[1:]) > customers]  # orders name only customers silver accepts
    cpath = out / "orders" / "customers" / f"batch-{batch:04d}" / "customers.json"
    cpath.parent.mkdir(parents=True, exist_ok=True)
    cpath.write_text("\n".join(lines) + "\n")
    manifest["rows"]["customers"] = len(lines)
    manifest["files"][str(cpath.relative_to(out))] = len(lines)

    # --- orders (CSV) ---
    rows, bad = _orders(seed, batch, orders, known, bad_share)
    rng = random.Random(f"orders-{seed}-{batch}-extra")
    counts: dict[str, int] = {}
    for i, kind in sorted(bad.items()):
        r = rows[i]
        if kind == "quantity_not_a_number":
            r["quantity"] = "two"
        elif kind == "quantity_not_positive":
            r["quantity"] = str(-rng.randrange(0, 3))
        elif kind == "order_date_missing":
            r["order_date"] = ""
        elif kind == "status_unknown":
            r["status"] = "lost"
        elif kind == "unknown_customer":
            r["customer_id"] = f"C9{rng.randrange(1000, 9999)}"
        counts[kind] = counts.get(kind, 0) + 1
    manifest["bad"]["orders"] = counts
    clean = [r for i, r in enumerate(rows) if i not in bad]
    # exact duplicates (a re-sent line): deduplicated in silver
    extra = [dict(r) for r in rng.sample(clean, max(1, orders // 100))]
    manifest["duplicates"] = len(extra)
    if batch == 2:
        # batch-1 orders sent again, cancelled, with a later updated_at: silver keeps the newer version
        b1_rows, b1_bad = _orders(seed, 1, orders, _customers(seed, 1, customers, bad_share)[2], bad_share)
        b1_clean = [r for i, r in enumerate(b1_rows) if i not in b1_bad]
        updates = [dict(r, status="cancelled", updated_at=f"{FIRST_DAY + timedelta(days=BATCH_DAYS)}T06:00:00",
                        channel="phone") for r in rng.sample(b1_clean, max(1, orders // 50))]
        extra += updates
        manifest["status_updates"] = sorted(r["order_id"] for r in updates)
    header = ORDER_HEADER_1 if batch == 1 else ORDER_HEADER_2
    opath = out / "orders" / "orders" / f"batch-{batch:04d}" / "orders.csv"
    _write_orders(opath, header, rows + extra, rename={"customer_ref": "customer_id"})
    manifest["files"][str(opath.relative_to(out))] = len(rows) + len(extra)
    manifest["rows"]["orders"] = len(rows) + len(extra)
    if batch == 2:
        pos = out / "orders" / "orders" / "batch-0002-pos" / "orders.csv"
        pos_rows = [{**r, "order_id": r["order_id"] + 500_000_000, "price": r["unit_price"]}
                    for r in rng.sample(clean, 25)]
        _write_orders(pos, POS_HEADER, pos_rows)
        manifest["files"][str(pos.relative_to(out))] = len(pos_rows)
        manifest["rows"]["orders"] += len(pos_rows)
        manifest["bad"]["orders"]["schema_incompatible"] = len(pos_rows)
        manifest["schema_incompatible_file"] = str(pos.relative_to(out))
    mdir = out / "manifest"
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / f"orders-batch-{batch:04d}.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _write_orders(path: Path, header: list[str], rows: list[dict], rename: dict[str, str] | None = None) -> None:
    rename = rename or {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if r.get(rename.get(h, h)) is None else r.get(rename.get(h, h)) for h in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue())


def write_sample(out: Path, seed: int = 0) -> list[dict]:
    """Both batches (the schema change included): what `python -m lakehouse.runner run --pipeline orders` runs on."""
    return [write_batch(out, 1, seed), write_batch(out, 2, seed)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="sample_data")
    ap.add_argument("--batch", type=int, choices=(1, 2), help="one batch (default: both)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    written = [write_batch(Path(a.out), a.batch, a.seed)] if a.batch else write_sample(Path(a.out), a.seed)
    for m in written:
        print(json.dumps({k: m[k] for k in ("batch", "rows", "bad")}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
