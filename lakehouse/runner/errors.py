"""Errors the user fixes: bad arguments, a missing jar, a warehouse another run holds.

Every module of the runner raises these; `cli.main` prints the message (it says what was given
and what is allowed) and turns the error into the command's exit code.
"""


class RunnerError(RuntimeError):
    """A problem the user fixes (bad argument, missing jar); the message says how. Exit code 2."""


class WarehouseInUse(RunnerError):
    """The warehouse is locked by another live run. Exit code 3."""
