"""FHIR gold: recompute cms_facility_monthly (docs/metrics.md) from silver with an atomic overwrite.

Glue entrypoint contract: `run(spark, args) -> {"input", "accepted", "quarantined", ...}`
does the whole job (raising when input != accepted + quarantined); `main()` parses the
arguments, builds the session (GlueContext/Job on Glue, local Iceberg otherwise), runs, commits.
Arguments: see `ARGS` (lakelib.fhir.jobs.GOLD_ARGS) and docs/fhir-data-model.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib.fhir import jobs
from lakelib.session import job_session

ARGS = jobs.GOLD_ARGS


def run(spark, args: dict[str, str]) -> dict:
    return jobs.run_gold(spark, args)


def main(argv: list[str] | None = None) -> None:
    with job_session(sys.argv if argv is None else argv, ARGS) as (spark, args):
        print(json.dumps(run(spark, args), sort_keys=True, default=str))


if __name__ == "__main__":
    main()
