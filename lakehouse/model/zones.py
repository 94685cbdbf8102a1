"""The lake's zones and the stack's bucket roles: the one definition every tool names them by."""

ZONES = ("raw", "bronze", "silver", "gold")
LAKE_ZONES = ("bronze", "silver", "gold")  # zones holding Iceberg tables
BUCKET_ROLES = ZONES + ("scripts", "temp", "logs")  # one bucket each
