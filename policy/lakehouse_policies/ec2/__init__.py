"""Amazon EC2 / VPC: security groups, subnets, route tables, VPC endpoints, and what a Glue connection
reaches through them. One module per policy, each defining POLICY; discovered in module-name order
(modules starting with `_` hold shared helpers).
"""

from .._discovery import discover

MODULES, POLICIES = discover(__name__, __path__)
