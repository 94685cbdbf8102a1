"""Table maintenance of one pipeline's Iceberg tables: compaction, manifests, snapshot expiry that
keeps every checkpointed snapshot, orphan files (docs/operations.md, "Table maintenance")."""

import sys
from pathlib import Path

try:
    import lakelib  # noqa: F401  (on Glue: the --extra-py-files zip)
except ImportError:  # run from a checkout: the library sits beside this folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakelib.maintenance import jobs
from lakelib.runtime.session import entrypoint

ARGS, run = jobs.MAINTENANCE_ARGS, jobs.run_maintenance  # the Glue entrypoint contract
main = entrypoint(globals())  # argv -> session (Glue or local) -> run -> metrics printed as JSON

if __name__ == "__main__":
    main()
