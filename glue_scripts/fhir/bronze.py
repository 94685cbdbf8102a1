"""FHIR bronze: ingest the raw NDJSON files not yet ingested into one Iceberg table per resource
type (docs/fhir-data-model.md)."""

import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib.fhir import jobs
from lakelib.runtime.session import entrypoint

ARGS, run = jobs.BRONZE_ARGS, jobs.run_bronze  # the Glue entrypoint contract: ARGS and run(spark, args) -> metrics
main = entrypoint(globals())  # argv -> session (Glue or local) -> run -> metrics printed as JSON

if __name__ == "__main__":
    main()
