"""The pack as the Pulumi CLI runs it: policy/__main__.py started as a process, spoken to over
the analyzer gRPC protocol (GetAnalyzerInfo, Configure, Analyze, AnalyzeStack). Its answers
must equal the offline runner's on the same resources."""

from __future__ import annotations

import json
import select
import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from policy_support import happy_stack
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from policy.lakehouse_policies import all_policies
from policy.offline import POLICY_DIR, configure, evaluate, load_pack_config

LEVELS = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "remediate": proto.REMEDIATE,
          "disabled": proto.DISABLED}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


@pytest.fixture(scope="module")
def analyzer():
    # exactly what the CLI's pulumi-analyzer-policy-python shim runs: `python -u -m pulumi.policy
    # <engine address> <pack dir>`, which runpy-runs the pack directory's __main__.py
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(POLICY_DIR)],
                            cwd=POLICY_DIR, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the policy pack did not print its port within 60 s"
        port = int(proc.stdout.readline().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _struct(values: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(values)))
    return s


def _configure(stub, stack: str) -> None:
    """What the CLI sends for `--policy-pack-config policy/config.<stack>.json`."""
    config = {c.policy.name: proto.PolicyConfig(enforcementLevel=LEVELS[c.level.value], properties=_struct(c.config))
              for c in configure(all_policies(), load_pack_config(POLICY_DIR / f"config.{stack}.json"))}
    stub.Configure(proto.ConfigureAnalyzerRequest(policyConfig=config))


def _resource(r, cls=proto.AnalyzerResource, **extra):
    return cls(type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name,
               options=proto.AnalyzerResourceOptions(), **extra)


def test_pack_process_describes_every_policy(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "glue-lakehouse-policies"
    described = {p.name: p for p in info.policies}
    assert set(described) == {p.name for p in all_policies()}
    for p in all_policies():
        d = described[p.name]
        assert d.description == p.description
        assert d.remediation_steps == p.remediation_steps
        assert LEVEL_NAMES[d.enforcementLevel] == p.enforcement_level.value
        assert set(d.configSchema.properties) == set(p.config_schema.properties if p.config_schema else {})


def _broken_stack():
    s = happy_stack("prod")
    s.get("fhir-gold").inputs["timeout"] = 600
    s.get("fhir-gold").inputs["tags"]["Environment"] = "dev"
    s.get("job-role-policy").inputs["policy"] = s.get("job-role-policy").inputs["policy"].replace(
        '"s3:PutObject"', '"s3:*"')
    s.get("gold-bucket-sse").inputs["rules"][0]["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "AES256"}
    s.get("db").inputs["publiclyAccessible"] = True
    return s


def test_resource_policies_answer_over_grpc_as_offline(analyzer):
    _configure(analyzer, "prod")
    s = _broken_stack()
    over_grpc = set()
    for r in s.resources:
        response = analyzer.Analyze(_resource(r, proto.AnalyzeRequest))
        for d in response.diagnostics:
            description, _, message = d.message.partition("\n")
            assert description == d.description
            over_grpc.add((d.policyName, r.name, message, LEVEL_NAMES[d.enforcementLevel]))
    offline = {(v.policy, v.resource_name, v.message, v.level)
               for v in evaluate(s.resources, load_pack_config(POLICY_DIR / "config.prod.json"))
               if not v.policy.startswith("aws-s3-bucket-enable") and not v.policy.endswith("public-access-block")
               and v.policy != "aws-glue-catalog-enable-encryption"}
    assert over_grpc == offline
    assert {p for p, *_ in over_grpc} == {
        "aws-glue-job-configure-timeout", "aws-resource-environment-tag-matches-stack",
        "aws-iam-disallow-wildcard-actions", "aws-rds-instance-disallow-public-access"}


def test_stack_policies_answer_over_grpc_as_offline(analyzer):
    _configure(analyzer, "prod")
    s = _broken_stack()
    request = proto.AnalyzeStackRequest(resources=[
        _resource(r, parent=r.parent or "", dependencies=r.dependencies,
                  propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=v)
                                        for k, v in r.property_dependencies.items()})
        for r in s.resources])
    response = analyzer.AnalyzeStack(request)
    over_grpc = {(d.policyName, d.urn, d.message.partition("\n")[2]) for d in response.diagnostics}
    assert over_grpc == {(
        "aws-s3-bucket-enable-sse-kms-customer-key", s.get("gold-bucket").urn,
        "bucket 'gold-bucket' is encrypted with AES256; expected SSE-KMS (aws:kms) with a customer-managed KMS key")}


def test_dev_config_over_grpc_makes_cost_findings_advisory(analyzer):
    _configure(analyzer, "dev")
    s = happy_stack("dev")
    s.get("fhir-gold").inputs["numberOfWorkers"] = 11
    response = analyzer.Analyze(_resource(s.get("fhir-gold"), proto.AnalyzeRequest))
    assert [(d.policyName, LEVEL_NAMES[d.enforcementLevel], d.message.partition("\n")[2])
            for d in response.diagnostics] == [
        ("aws-glue-job-limit-workers", "advisory", "numberOfWorkers is 11; expected at most 10 workers")]
