"""Climate-health: validate the hospital CSVs not yet ingested (available_beds <= total_beds) and upsert them into PostgreSQL (hospital_data).

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
    return climate_jobs.run_ingest(spark, args, "hospital")


def main(argv: list[str] | None = None) -> None:
    run_entrypoint(run, ARGS, argv)


if __name__ == "__main__":
    main()
