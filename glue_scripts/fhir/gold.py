"""FHIR gold: recompute cms_facility_monthly (docs/metrics.md) from silver with an atomic overwrite.

Arguments: `ARGS`, docs/fhir-data-model.md.
Glue entrypoint contract: `run(spark, args)` does the whole job and returns {"input",
"accepted", "quarantined", ...}; `main()` is lakelib.session.run_entrypoint.
"""

import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib.fhir import jobs
from lakelib.session import run_entrypoint

ARGS = jobs.GOLD_ARGS


def run(spark, args: dict[str, str]) -> dict:
    return jobs.run_gold(spark, args)


def main(argv: list[str] | None = None) -> None:
    run_entrypoint(run, ARGS, argv)


if __name__ == "__main__":
    main()
