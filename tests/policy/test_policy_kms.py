"""aws-kms-key-configure-deletion-window: the lake key waits at least the stack's minimum before a scheduled
deletion (dev 7 days, prod 30), unset being AWS's 30 days."""

from __future__ import annotations

import pytest
from policy_support import drop_input, happy_stack, judged, level_of, named, set_input, shipped, single

from policy.lakehouse_policies import all_policies
from policy.offline import POLICY_DIR, configure, load_pack_config

WINDOW = "aws-kms-key-configure-deletion-window"


@pytest.mark.parametrize("stack, days", [("dev", 7), ("prod", 30)])
def test_both_shipped_stacks_pass_with_their_minimum_and_the_policy_is_mandatory(stack, days):
    rs = shipped(stack)
    assert named(rs, "lake-key").inputs["deletionWindowInDays"] == days
    assert judged(rs, WINDOW, stack) == []
    assert level_of(WINDOW, stack) == "mandatory"
    (c,) = [c for c in configure(all_policies(), load_pack_config(POLICY_DIR / f"config.{stack}.json"))
            if c.policy.name == WINDOW]
    assert c.config == {"minimumDeletionWindowDays": days}


def test_a_window_under_the_minimum_is_reported():
    rs = shipped("prod")
    set_input(named(rs, "lake-key"), "deletionWindowInDays", 7)
    assert judged(rs, WINDOW) == [("mandatory", "lake-key", "KMS key deletion window is 7 days; expected "
                                                            "deletionWindowInDays of at least 30 days")]
    assert judged(rs, WINDOW, "dev") == []  # dev allows 7


def test_unset_is_the_aws_default_of_30_days():
    s = happy_stack()
    drop_input(s.get("lake-key"), "deletionWindowInDays")
    assert single(s, WINDOW) == []
    assert single(s, WINDOW, {WINDOW: {"minimumDeletionWindowDays": 30}}) == []
    s.get("lake-key").inputs["deletionWindowInDays"] = 14
    assert single(s, WINDOW) == [("lake-key", "KMS key deletion window is 14 days; expected deletionWindowInDays "
                                              "of at least 30 days")]
