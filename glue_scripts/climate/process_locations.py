"""Climate-health: validate the location CSVs not yet ingested and upsert them into PostgreSQL (locations); applies the schema.

Glue entrypoint contract: `run(spark, args)` does the whole job and returns
{"input", "accepted", "quarantined", ...} (raising when they do not reconcile); `main()`
parses the arguments, builds the session (GlueContext/Job on Glue, local Iceberg otherwise),
runs and commits. Arguments: `ARGS`; docs/climate-pipeline.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib import climate_jobs
from lakelib.session import job_session

ARGS = climate_jobs.INGEST_ARGS


def run(spark, args: dict[str, str]) -> dict:
    return climate_jobs.run_ingest(spark, args, "locations")


def main(argv: list[str] | None = None) -> None:
    with job_session(sys.argv if argv is None else argv, ARGS) as (spark, args):
        print(json.dumps(run(spark, args), sort_keys=True, default=str))


if __name__ == "__main__":
    main()
