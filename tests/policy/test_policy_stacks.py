"""The shipped stacks pass every mandatory policy of their policy config, checked on what the
program registers under the SDK's mocks (lakehouse.offline.evaluate_stack)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from policy.lakehouse_policies import types as T
from policy.offline import POLICY_DIR, evaluate, load_pack_config, mandatory, resources_from_program

ROOT = Path(__file__).resolve().parents[2]

# What the policies need to see for a pass to mean something.
EXPECTED_TYPES = {
    T.S3_BUCKET, T.S3_SSE, T.S3_PUBLIC_ACCESS_BLOCK, T.S3_BUCKET_POLICY, T.KMS_KEY, T.GLUE_JOB,
    T.GLUE_SECURITY_CONFIGURATION, T.GLUE_CATALOG_ENCRYPTION, T.GLUE_CATALOG_DATABASE, T.IAM_ROLE,
    T.IAM_ROLE_POLICY, T.LOG_GROUP, T.SNS_TOPIC,
}


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request):
    from lakehouse.offline import evaluate_stack

    return request.param, resources_from_program(evaluate_stack(request.param))


def test_shipped_stack_passes_every_mandatory_policy(stack):
    name, resources = stack
    assert EXPECTED_TYPES <= {r.type for r in resources}
    violations = evaluate(resources, load_pack_config(POLICY_DIR / f"config.{name}.json"))
    assert [(v.policy, v.resource_name, v.message) for v in mandatory(violations)] == []


def test_every_taggable_resource_of_the_stack_is_checked_for_tags(stack):
    from policy.lakehouse_policies.taggable import is_taggable

    name, resources = stack
    taggable = [r for r in resources if is_taggable(r.type)]
    assert len(taggable) > 20
    assert all(r.inputs.get("tags", {}).get("Environment") == name for r in taggable)


def test_offline_command_passes_the_prod_stack():
    done = subprocess.run([sys.executable, "-m", "policy.offline", "--stack", "prod"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "from program, stack prod (mocks), config config.prod.json" in done.stdout
