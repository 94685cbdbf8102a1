"""The AWS cron grammar of Glue trigger schedules, checked before a schedule reaches a trigger.

`cron(minutes hours day-of-month month day-of-week year)`, in UTC (AWS Glue developer guide,
"Time-based schedules for jobs and crawlers"; the EventBridge grammar):

| field        | values               | also                                       |
|--------------|----------------------|--------------------------------------------|
| minutes      | 0-59                 | , - * /                                    |
| hours        | 0-23                 | , - * /                                    |
| day-of-month | 1-31                 | , - * / ? L (last day) LW <day>W (weekday) |
| month        | 1-12 or JAN-DEC      | , - * /                                    |
| day-of-week  | 1-7 or SUN-SAT       | , - * / ? L <day>L <day>#<1-5>             |
| year         | 1970-2199            | , - * /                                    |

Exactly one of day-of-month and day-of-week is `?`: AWS cannot combine them. A range runs from
the smaller value to the larger; a step `/n` follows `*`, a value or a range. `cron_problems` is
pure: it returns the rules an expression breaks, each naming the field and the value.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date

FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FORM = re.compile(r"^cron\((.*)\)$", re.DOTALL)
BOTH_SET = "day-of-month and day-of-week: one of them must be ? (AWS cannot combine them)"


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names of low, low+1, ... (JAN = 1, SUN = 1)
    specials: str = ""  # what else the field takes, for messages

    @property
    def allowed(self) -> str:
        return f"{self.low}-{self.high}" + (f" or {self.names[0]}-{self.names[-1]}" if self.names else "")

    def value(self, text: str) -> int | None:
        if text.isdigit():
            return int(text)
        if text.upper() in self.names:
            return self.low + self.names.index(text.upper())
        return None


FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, specials=", L, LW or <day>W"),
    _Field("month", 1, 12, MONTHS),
    _Field("day-of-week", 1, 7, WEEKDAYS, specials=", L, <day>L or <day>#<n>"),
    _Field("year", 1970, 2199),
)


def cron_problems(expression: str) -> list[str]:
    """The rules of the AWS cron grammar that `expression` breaks; [] when it is valid."""
    if not isinstance(expression, str) or not (m := CRON_FORM.match(expression.strip())):
        hint = " (Glue triggers take no rate(...) expressions)" if str(expression).startswith("rate(") else ""
        return [f"the form cron(<six fields>){hint}"]
    parts = m.group(1).split()
    if len(parts) != len(FIELDS):
        return [f"six fields ({' '.join(FIELD_NAMES)}), got {len(parts)}"]
    problems = [p for f, text in zip(FIELDS, parts) for p in _field_problems(f, text)]
    dom, dow = parts[2], parts[4]
    if dom == "?" and dow == "?":
        problems.append("day-of-month and day-of-week: only one of them may be ?")
    elif "?" not in (dom, dow):
        problems.append(BOTH_SET)
    return problems


def _field_problems(f: _Field, text: str) -> list[str]:
    if text == "?":
        return [] if f.name in ("day-of-month", "day-of-week") else [
            f"{f.name}: ? is allowed only in day-of-month or day-of-week"]
    if text == "*":
        return []
    if f.name == "day-of-month" and (text in ("L", "LW") or re.fullmatch(r"\d+W", text)):
        return _in_range(f, text[:-1]) if text.endswith("W") and text != "LW" else []
    if f.name == "day-of-week":
        if text == "L":
            return []
        if m := re.fullmatch(r"(\w+)L", text):
            return _in_range(f, m.group(1))
        if re.fullmatch(r"\w+#\w*", text):  # one <day>#<n>; in a list or range it is refused below
            day, _, nth = text.partition("#")
            if nth not in ("1", "2", "3", "4", "5"):
                return [f"{f.name}: {text!r} is not <day>#<1-5> (the nth day of the month)"]
            return _in_range(f, day)
    if any(c in text for c in "LW#") and not (f.names and _is_names_only(f, text)):
        what = "a value, range, list, step" + f.specials if f.specials else "a value, range, list or step"
        return [f"{f.name}: {text!r} is not {what}"]
    items = text.split(",")
    if "" in items:
        return [f"{f.name}: {text!r} has an empty list item"]
    if len(items) > 1 and "*" in (i.split("/")[0] for i in items):
        return [f"{f.name}: * stands alone, not in a list ({text!r})"]
    return [p for item in items for p in _item_problems(f, item)]


def _is_names_only(f: _Field, text: str) -> bool:
    """A list or range of month or weekday names (their letters may include L and W)."""
    return all(part.upper() in f.names for part in re.split(r"[,\-/]", text) if not part.isdigit() and part != "*")


def _item_problems(f: _Field, item: str) -> list[str]:
    base, slash, step = item.partition("/")
    problems = []
    if slash:
        span = f.high - f.low + 1
        if not (step.isdigit() and 1 <= int(step) <= span):
            problems.append(f"{f.name}: step {item!r} is not /1-{span}")
    if base == "*" and slash:
        return problems
    if "-" in base:
        low, _, high = base.partition("-")
        found = _in_range(f, low) + _in_range(f, high)
        if not found and f.value(low) > f.value(high):
            found.append(f"{f.name}: range {base!r} runs backwards (write the smaller value first)")
        return found + problems
    return _in_range(f, base) + problems


def _in_range(f: _Field, text: str) -> list[str]:
    value = f.value(text)
    if value is None or not f.low <= value <= f.high:
        shown = int(text) if text.isdigit() else repr(text)
        return [f"{f.name}: {shown} is not {f.allowed}"]
    return []


# --- how often a valid expression fires (the cost estimate's runs per month) ----------------------

def _plain_values(f: _Field, text: str) -> set[int]:
    """The values of a field without L, W or # (a value, range, list or step; `*`)."""
    out: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            low, high = f.low, f.high
        elif "-" in base:
            a, _, b = base.partition("-")
            low, high = f.value(a), f.value(b)
        else:
            low = f.value(base)
            high = f.high if step else low  # 5/15: from 5 on, every 15th
        out.update(range(low, high + 1, int(step) if step else 1))
    return out


def _aws_weekday(d: date) -> int:
    return (d.weekday() + 1) % 7 + 1  # AWS: 1 = SUN ... 7 = SAT; Python: Monday = 0


def _days_of_month(year: int, month: int, dom: str, dow: str) -> list[int]:
    last = monthrange(year, month)[1]
    days = [date(year, month, d) for d in range(1, last + 1)]
    if dom != "?":
        if dom == "*":
            return list(range(1, last + 1))
        if dom == "L":
            return [last]
        weekdays = [d.day for d in days if d.weekday() < 5]
        if dom == "LW":
            return [weekdays[-1]]
        if dom.endswith("W"):  # the weekday nearest to day n, inside the month
            n = min(int(dom[:-1]), last)
            return [min(weekdays, key=lambda w: (abs(w - n), w))]
        return sorted(v for v in _plain_values(FIELDS[2], dom) if v <= last)
    if dow == "*":
        return [d.day for d in days]
    if dow == "L":
        return [d.day for d in days if _aws_weekday(d) == 7]
    if m := re.fullmatch(r"(\w+)L", dow):
        wanted = FIELDS[4].value(m.group(1))
        return [[d.day for d in days if _aws_weekday(d) == wanted][-1]]
    if "#" in dow:
        day, _, nth = dow.partition("#")
        matching = [d.day for d in days if _aws_weekday(d) == FIELDS[4].value(day)]
        return matching[int(nth) - 1:int(nth)]
    wanted_days = _plain_values(FIELDS[4], dow)
    return [d.day for d in days if _aws_weekday(d) in wanted_days]


def fires_in_year(expression: str, year: int) -> int:
    """How many times a valid cron expression fires in one calendar year (UTC); ValueError naming the
    broken rules when it is not valid."""
    broken = cron_problems(expression)
    if broken:
        raise ValueError(f"{expression!r} is not a valid Glue cron expression: " + "; ".join(broken))
    minutes, hours, dom, month, dow, years = CRON_FORM.match(expression.strip()).group(1).split()
    if year not in _plain_values(FIELDS[5], years):
        return 0
    per_day = len(_plain_values(FIELDS[0], minutes)) * len(_plain_values(FIELDS[1], hours))
    return per_day * sum(len(_days_of_month(year, m, dom, dow)) for m in sorted(_plain_values(FIELDS[3], month)))
