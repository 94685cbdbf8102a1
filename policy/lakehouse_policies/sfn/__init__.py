"""AWS Step Functions: state machines (the orchestrator a pipeline may choose instead of a Glue workflow).
One module per policy, each defining POLICY; discovered in module-name order (modules starting with `_`
hold shared helpers).
"""

from .._discovery import discover

MODULES, POLICIES = discover(__name__, __path__)
