"""The AWS cron grammar of Glue schedules: valid expressions pass, each broken rule is named."""

from __future__ import annotations

import pytest

from lakehouse.model.schedule import cron_problems


@pytest.mark.parametrize("expression", [
    "cron(0 2 * * ? *)",  # prod: every day at 02:00 UTC
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(*/5 * * * ? *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(10-50/10 8-17/3 ? * 2-6 *)",
    "cron(0 9 ? * 2#1 *)",  # the first Monday of the month
    "cron(0 9 ? * MON#5 *)",
    "cron(0 0 L * ? *)",  # the last day of the month
    "cron(0 0 LW * ? *)",  # the last weekday of the month
    "cron(0 0 15W * ? *)",  # the weekday nearest the 15th
    "cron(0 0 ? * 6L *)",  # the last Friday of the month
    "cron(0 0 ? * L *)",
    "cron(0 12 1,15 JAN,JUL ? 2025-2030)",
    "cron(0 12 ? JAN-MAR SUN,SAT 2026)",
    "cron(0 0 1 1/3 ? 2026/2)",
    "cron(59 23 31 12 ? 2199)",
    "cron(0 0 ? * 7 1970)",
])
def test_valid_expressions_pass(expression):
    assert cron_problems(expression) == []


@pytest.mark.parametrize("expression, broken", [
    ("cron(99 99 * * * *)", ["minutes: 99 is not 0-59", "hours: 99 is not 0-23",
                             "day-of-month and day-of-week: one of them must be ? (AWS cannot combine them)"]),
    ("cron(0 2 * * * *)", ["day-of-month and day-of-week: one of them must be ? (AWS cannot combine them)"]),
    ("cron(0 2 ? * ? *)", ["day-of-month and day-of-week: only one of them may be ?"]),
    ("cron(0 2 * * ?)", ["six fields (minutes hours day-of-month month day-of-week year), got 5"]),
    ("cron(0 2 * * ? * *)", ["six fields (minutes hours day-of-month month day-of-week year), got 7"]),
    ("0 2 * * ? *", ["the form cron(<six fields>)"]),
    ("rate(1 day)", ["the form cron(<six fields>) (Glue triggers take no rate(...) expressions)"]),
    ("cron()", ["six fields (minutes hours day-of-month month day-of-week year), got 0"]),
    ("cron(60 * * * ? *)", ["minutes: 60 is not 0-59"]),
    ("cron(0 24 * * ? *)", ["hours: 24 is not 0-23"]),
    ("cron(0 0 0 * ? *)", ["day-of-month: 0 is not 1-31"]),
    ("cron(0 0 32 * ? *)", ["day-of-month: 32 is not 1-31"]),
    ("cron(0 0 * 13 ? *)", ["month: 13 is not 1-12 or JAN-DEC"]),
    ("cron(0 0 * FOO ? *)", ["month: 'FOO' is not 1-12 or JAN-DEC"]),
    ("cron(0 0 ? * 8 *)", ["day-of-week: 8 is not 1-7 or SUN-SAT"]),
    ("cron(0 0 ? * FUNDAY *)", ["day-of-week: 'FUNDAY' is not 1-7 or SUN-SAT"]),
    ("cron(0 0 * * ? 1969)", ["year: 1969 is not 1970-2199"]),
    ("cron(0 0 ? * MON#6 *)", ["day-of-week: 'MON#6' is not <day>#<1-5> (the nth day of the month)"]),
    ("cron(0 0 5-1 * ? *)", ["day-of-month: range '5-1' runs backwards (write the smaller value first)"]),
    ("cron(0/0 * * * ? *)", ["minutes: step '0/0' is not /1-60"]),
    ("cron(? 0 * * ? *)", ["minutes: ? is allowed only in day-of-month or day-of-week"]),
    ("cron(0 0 * * L *)", ["day-of-month and day-of-week: one of them must be ? (AWS cannot combine them)"]),
    ("cron(0 0 W * ? *)", ["day-of-month: 'W' is not a value, range, list, step, L, LW or <day>W"]),
    ("cron(0 0 1-5W * ? *)", ["day-of-month: '1-5W' is not a value, range, list, step, L, LW or <day>W"]),
    ("cron(0 0 ? * 2#1,3 *)", ["day-of-week: '2#1,3' is not a value, range, list, step, L, <day>L or <day>#<n>"]),
    ("cron(0 L * * ? *)", ["hours: 'L' is not a value, range, list or step"]),
    ("cron(0 2 *,1 * ? *)", ["day-of-month: * stands alone, not in a list ('*,1')"]),
    ("cron(0 2 1,,2 * ? *)", ["day-of-month: '1,,2' has an empty list item"]),
    ("cron(a 2 * * ? *)", ["minutes: 'a' is not 0-59"]),
])
def test_each_broken_rule_is_named(expression, broken):
    assert cron_problems(expression) == broken


def test_a_non_string_is_named():
    assert cron_problems(None) == ["the form cron(<six fields>)"]  # type: ignore[arg-type]
