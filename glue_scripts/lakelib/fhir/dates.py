"""FHIR R4 `date`, `dateTime` and `instant` (https://hl7.org/fhir/R4/datatypes.html) as Spark column
expressions (pure, no I/O): the grammar, calendar validity, precision and the UTC value.

The grammars are the R4 (4.0.1) regular expressions, verbatim; they are the one definition the
silver checks use (Column.rlike), and the DuckDB reference carries the same text
(lakehouse/samples/fhir_reference.py FHIR_DATE_GRAMMARS, kept equal by a test). In R4's dateTime
a time needs seconds and a zone (`Z` or +/-hh:mm up to 14:00); a fraction may have any number of
digits; an instant is a full date-time. "Dates SHALL be valid dates": a value that matches the
grammar but names no calendar day (2023-02-29, 2024-04-31) is invalid too.

A valid value has a precision: year (`2024`), month (`2024-06`), day (`2024-06-10`) or time
(`2024-06-10T10:00:00+02:00`). What the metrics make of it (docs/fhir-data-model.md, "Dates"):
- `utc_timestamp`: time -> the instant in UTC (fraction cut to microseconds, a leap second :60
  read as :59); day -> that day at 00:00 UTC (so its UTC date is the day as written); year or
  month -> null: it names no day.
- `first_day`: the first day of the period a value names (birthDate `1950` -> 1950-01-01).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

DATE = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?"
DATE_TIME = (
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)
INSTANT = (
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
GRAMMARS = {"date": DATE, "dateTime": DATE_TIME, "instant": INSTANT}

# lengths of a valid value by precision: 4 year, 7 month, 10 day, more = a time
DAY_LENGTH = 10
# (pattern, Java replacement) applied before the timestamp parse; the reference applies the same
# patterns (with RE2's \1 for $1)
LEAP_SECOND = (r"^(.{16}):60", "$1:59")  # yyyy-MM-ddThh:mm:60 -> :59
FRACTION = (r"(\.[0-9]{6})[0-9]+", "$1")  # microseconds, as Spark and DuckDB keep them


def matches(raw: Column, grammar: str) -> Column:
    """The whole text matches the FHIR grammar (`\\z`: a trailing newline does not pass, as
    Java's `$` would let it)."""
    return raw.rlike(f"^(?:{GRAMMARS[grammar]})\\z")


def has_day(raw: Column) -> Column:
    """A valid value names a day (date or date-time), not only a year or a month."""
    return F.length(raw) >= DAY_LENGTH


def has_time(raw: Column) -> Column:
    return F.length(raw) > DAY_LENGTH


def is_valid(raw: Column, grammar: str) -> Column:
    """Null text -> null (an absent field is not an invalid one); otherwise the grammar and, when
    the value names a day, that the day exists."""
    day_exists = F.try_to_timestamp(F.substring(raw, 1, DAY_LENGTH)).isNotNull()
    return matches(raw, grammar) & (~has_day(raw) | day_exists)


def utc_timestamp(raw: Column, grammar: str, valid: Column | None = None) -> Column:
    """The UTC instant of a valid value that names a day (midnight UTC for a date-only value);
    null for an invalid one, a year or a month. `valid`: is_valid(raw, grammar) when the caller
    has computed it already (the grammar match is the costly part of a parse)."""
    text = F.regexp_replace(F.regexp_replace(raw, *LEAP_SECOND), *FRACTION)
    return F.when((is_valid(raw, grammar) if valid is None else valid) & has_day(raw), F.try_to_timestamp(text))


def first_day(raw: Column, grammar: str, valid: Column | None = None) -> Column:
    """The first day of the period a valid value names: `1950` -> 1950-01-01, `1950-06` ->
    1950-06-01, a day -> itself, a date-time -> its date as written (no zone shift); null when
    invalid."""
    padded = F.substring(F.concat(raw, F.lit("-01-01")), 1, DAY_LENGTH)
    return F.when(is_valid(raw, grammar) if valid is None else valid, F.to_date(F.try_to_timestamp(padded)))
