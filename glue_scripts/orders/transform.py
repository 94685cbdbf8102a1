"""Orders transform: bronze -> silver: typed, flattened, checked, deduplicated
(docs/orders-pipeline.md)."""

import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this pipeline folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib.orders import jobs
from lakelib.runtime.session import entrypoint

ARGS, run = jobs.TRANSFORM_ARGS, jobs.run_transform  # the Glue entrypoint contract: ARGS, run(spark, args)
main = entrypoint(globals())  # argv -> session (Glue or local) -> run -> metrics printed as JSON

if __name__ == "__main__":
    main()
