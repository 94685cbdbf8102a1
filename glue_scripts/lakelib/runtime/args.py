"""Job arguments: one parser for Glue (getResolvedOptions) and plain argv, one validator.

`run(spark, args)` receives a dict of strings. Keys may be written with or without the
leading `--` (the local runner passes `job_arguments()` output, Glue hands bare names);
`resolve` strips the dashes, checks required names, fills optional defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


class JobArgumentError(ValueError):
    """A job argument is missing or invalid; the message names every problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("invalid job arguments:\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class ArgSpec:
    """What a job reads: required names and optional names with their defaults (None = unset)."""

    required: tuple[str, ...]
    optional: Mapping[str, str | None] = field(default_factory=dict)

    def names(self) -> tuple[str, ...]:
        return self.required + tuple(self.optional)


def normalise(args: Mapping[str, object]) -> dict[str, str]:
    """Strip leading dashes from keys; values become strings (None stays None)."""
    return {str(k).lstrip("-"): (None if v is None else str(v)) for k, v in args.items()}


def resolve(args: Mapping[str, object], spec: ArgSpec) -> dict[str, str | None]:
    """Every name of `spec` -> its value; raises JobArgumentError naming each missing argument."""
    given = normalise(args)
    problems = [
        f"--{name}: missing (required; received: {sorted(given)})"
        for name in spec.required
        if not (given.get(name) or "").strip()
    ]
    if problems:
        raise JobArgumentError(problems)
    out: dict[str, str | None] = {name: given[name] for name in spec.required}
    for name, default in spec.optional.items():
        value = given.get(name)
        out[name] = value if value not in (None, "") else default
    return out


def identifier(name: str, value: str | None) -> str:
    """A catalog/database name that goes into SQL text: letters, digits and _ only."""
    if value is None or not IDENTIFIER_RE.match(value):
        raise JobArgumentError([f"--{name}: got {value!r}; allowed: letters, digits and _ (an SQL identifier)"])
    return value


def positive_int(name: str, value: str | None) -> int:
    """A whole number >= 1 (counts and thresholds)."""
    if value is None or not value.strip().isdigit() or int(value) < 1:
        raise JobArgumentError([f"--{name}: got {value!r}; allowed: a whole number >= 1"])
    return int(value)


def base_uri(name: str, value: str | None) -> str:
    """A zone base URI (s3://bucket/ or file:///dir/), normalised to end with '/'."""
    if not value or not re.match(r"^(s3a?|file|hdfs)://", value) and not value.startswith("/"):
        raise JobArgumentError([f"--{name}: got {value!r}; allowed: a URI like s3://bucket/ or file:///dir/"])
    return value if value.endswith("/") else value + "/"


# Names Glue 5.0's getResolvedOptions registers itself and returns without being asked (awsglue.job.Job:
# id_params but JOB_NAME, the bookmark, continuation, encryption and lineage options, the temp dirs).
GLUE_RESERVED = frozenset({"JOB_ID", "JOB_RUN_ID", "SECURITY_CONFIGURATION", "job-bookmark-option",
                           "continuation-option", "job-bookmark-from", "job-bookmark-to", "encryption-type",
                           "enable-data-lineage", "TempDir", "RedshiftTempDir"})


def parse_argv(argv: Sequence[str], spec: ArgSpec, extra_required: Sequence[str] = ()) -> dict[str, str]:
    """Arguments from a command line: Glue's getResolvedOptions when awsglue is importable,
    otherwise `--name value` / `--name=value` pairs (unknown names are kept too)."""
    try:
        from awsglue.utils import getResolvedOptions  # only importable on Glue
    except ImportError:
        getResolvedOptions = None
    if getResolvedOptions is not None:
        # getResolvedOptions has no optional arguments: ask for the required ones and every other
        # one present, so each is registered exactly (argparse would otherwise read the platform's
        # --job as an ambiguous abbreviation of --job-bookmark-option), and never for one it registers
        # itself (asking again is argparse's "conflicting option string"). Like the plain parser
        # below, it keeps every given name.
        present = [a[2:].split("=", 1)[0] for a in argv[1:] if str(a).startswith("--")]
        asked = [n for n in dict.fromkeys([*extra_required, *spec.required, *present]) if n not in GLUE_RESERVED]
        return getResolvedOptions(list(argv), asked)
    out: dict[str, str] = {}
    items = list(argv[1:]) if argv and not str(argv[0]).startswith("--") else list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if not item.startswith("--"):
            raise JobArgumentError([f"argument {item!r}: expected --name value or --name=value"])
        if "=" in item:
            key, value = item[2:].split("=", 1)
            i += 1
        elif i + 1 < len(items) and not items[i + 1].startswith("--"):
            key, value = item[2:], items[i + 1]
            i += 2
        else:
            key, value = item[2:], "true"
            i += 1
        out[key] = value
    return out
