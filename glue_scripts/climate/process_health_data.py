"""Climate-health: validate the health CSVs not yet ingested (negative case counts set to 0 and audited) and upsert them into PostgreSQL (health_data).

Arguments: `ARGS`, docs/climate-pipeline.md.
Glue entrypoint contract: `run(spark, args)` does the whole job and returns {"input",
"accepted", "quarantined", ...}; `main()` is lakelib.session.run_entrypoint.
"""

import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib import climate_jobs
from lakelib.session import run_entrypoint

ARGS = climate_jobs.INGEST_ARGS


def run(spark, args: dict[str, str]) -> dict:
    return climate_jobs.run_ingest(spark, args, "health")


def main(argv: list[str] | None = None) -> None:
    run_entrypoint(run, ARGS, argv)


if __name__ == "__main__":
    main()
