"""Climate-health: validate the health CSVs not yet ingested (negative case counts set to 0 and
audited) and upsert them into PostgreSQL (health_data)."""

import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib.climate import jobs
from lakelib.runtime.session import entrypoint

ARGS, run = jobs.INGEST_ARGS, jobs.run_health  # the Glue entrypoint contract: ARGS and run(spark, args) -> metrics
main = entrypoint(globals())  # argv -> session (Glue or local) -> run -> metrics printed as JSON

if __name__ == "__main__":
    main()
