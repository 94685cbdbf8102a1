"""FHIR gold: recompute cms_facility_monthly (docs/metrics.md) from silver with an atomic
overwrite."""

import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib.fhir import jobs
from lakelib.runtime.session import entrypoint

ARGS, run = jobs.GOLD_ARGS, jobs.run_gold  # the Glue entrypoint contract: ARGS and run(spark, args) -> metrics
main = entrypoint(globals())  # argv -> session (Glue or local) -> run -> metrics printed as JSON

if __name__ == "__main__":
    main()
