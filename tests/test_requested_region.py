"""``aws:RequestedRegion`` decided per use from the regions its calls recorded."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from leastpriv_ci.analysis import analyse
from leastpriv_ci.analysis.context import CallIndex
from leastpriv_ci.analysis.regions import requested_regions
from leastpriv_ci.policy.evaluate import Decision, Evaluation, every
from leastpriv_ci.policy.model import Policy, Role, Statement
from leastpriv_ci.records import Access
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.analysis_support import function_arn, observation, one, use
from tests.usage_helpers import (
    aws_call,
    lambda_document,
    refused,
    scan_case,
    scan_folder,
    write_scan_case,
)

ROLE = "arn:aws:iam::123456789012:role/orders"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:orders"
TABLE = "arn:aws:dynamodb:{region}:123456789012:table/orders"
APP_ROLE = "arn:aws:iam::123456789012:role/app"


def guardrail(*regions: str, action: str = "NotAction") -> dict[str, object]:
    """The common region guardrail: refuse what is not global outside ``regions``."""
    return {"Sid": "OnlyOurRegions", "Effect": "Deny",
            action: ["iam:*", "sts:*"] if action == "NotAction" else "*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": list(regions)}}}


def get_item(*regions: str | None) -> dict[str, object]:
    """A document of function "orders" reading table "orders" once from each region."""
    calls = []
    for n, region in enumerate(regions):
        call = aws_call(f"{n + 1:016x}", "DynamoDB", "GetItem", table_name="orders")
        call["aws"]["region"] = region  # type: ignore[index]
        calls.append(call)
    return lambda_document(FUNCTION, *calls)


def scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         document: dict[str, object], statements: list[dict[str, object]],
         boundary: dict[str, object] | None = None) -> tuple[int, dict[str, Any]]:
    scan_folder(tmp_path, monkeypatch, {"orders": ROLE})
    write_scan_case(tmp_path, "1-5f000000-000000000000000000000001", document, ROLE,
                    statements, boundary)
    code, report, _ = scan_case(capsys, fail_on="missing")
    return code, report


def allow_get(*regions: str) -> dict[str, object]:
    return {"Effect": "Allow", "Action": "dynamodb:GetItem",
            "Resource": [TABLE.format(region=r) for r in regions]}


def missing(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["kind"] == "missing"]


def test_a_region_guardrail_refuses_none_of_the_calls_made_inside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, report = scan(tmp_path, monkeypatch, capsys, get_item("us-east-1"),
                        [allow_get("us-east-1"), guardrail("us-east-1", "eu-west-1")])
    assert missing(report) == []
    assert code == 0, report["reasons"]


def test_a_region_guardrail_refuses_for_certain_a_call_made_outside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the call went to eu-central-1 (its table's ARN names it too)
    code, report = scan(tmp_path, monkeypatch, capsys, get_item("eu-central-1"),
                        [allow_get("eu-central-1"), guardrail("us-east-1")])
    (finding,) = missing(report)
    assert finding["resource"] == TABLE.format(region="eu-central-1")
    assert finding["decision"] == "explicit_deny" and finding["statement"] == "OnlyOurRegions"
    assert finding["conditional"] is False
    assert code == 1


def test_a_call_that_recorded_no_region_stays_may_be_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the table's ARN takes the function's region, a guess: never a certain refusal
    code, report = scan(tmp_path, monkeypatch, capsys, get_item(None),
                        [allow_get("us-east-1"), guardrail("eu-west-1")])
    (finding,) = missing(report)
    assert finding["conditional"] is True
    assert code == 0


def test_one_table_name_from_two_regions_is_two_uses_judged_each_in_its_region(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # one table name, one client region per call: the table ARNs differ by region, so
    # the guardrail is asked of each call's own ARN and region
    _, report = scan(tmp_path, monkeypatch, capsys, get_item("us-east-1", "eu-west-1"),
                     [allow_get("us-east-1", "eu-west-1"), guardrail("us-east-1")])
    assert [(f["resource"], f["conditional"]) for f in missing(report)] == [
        (TABLE.format(region="eu-west-1"), False)]


def test_iam_calls_are_made_to_us_east_1_whatever_the_clients_region() -> None:
    # A guardrail that forgets the global services refuses IAM: its requests name
    # us-east-1, wherever the client is
    role = Role("R", "R", (Policy("p", (
        Statement("Allow", ("iam:GetRole",), (APP_ROLE,)),
        Statement("Deny", ("*",), ("*",), sid="OnlyOurRegions", conditions={
            "StringNotEquals": {"aws:RequestedRegion": ("eu-west-1",)}}))),))
    access = replace(use("f", "iam:GetRole", APP_ROLE), regions=("eu-west-1",),
                     region_known=True)
    usage = observation([access])
    analysis = analyse(usage, {"R": role}, {function_arn("f"): "R"})
    finding = one(analysis.findings, "missing", "iam:GetRole", APP_ROLE)
    assert (finding.detail["decision"], finding.conditional) == ("explicit_deny", False)
    assert finding.detail["statement"] == "OnlyOurRegions"


def test_a_guardrail_in_the_permissions_boundary_is_decided_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    boundary = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}, guardrail("eu-west-1")]}
    _, inside = scan(tmp_path, monkeypatch, capsys, get_item("eu-west-1"),
                     [allow_get("eu-west-1")], boundary)
    assert missing(inside) == []
    _, outside = scan(tmp_path, monkeypatch, capsys, get_item("us-east-1"),
                      [allow_get("us-east-1")], boundary)
    (finding,) = missing(outside)
    assert finding["conditional"] is False and finding["decision"] == "explicit_deny"


def test_an_allow_for_one_region_is_decided_and_its_condition_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    only_here = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    statements = [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*",
                   "Condition": only_here}]
    code, report = scan(tmp_path, monkeypatch, capsys, get_item("us-east-1"), statements)
    assert missing(report) == []
    assert code == 0, report["reasons"]
    (statement,) = report["proposals"][ROLE]["Statement"]
    assert statement["Action"] == "dynamodb:GetItem"
    assert statement["Condition"] == only_here  # adopting it must not lift the bound
    _, elsewhere = scan(tmp_path, monkeypatch, capsys, get_item("eu-west-1"), statements)
    (finding,) = missing(elsewhere)
    assert finding["conditional"] is False and finding["decision"] == "implicit_deny"


@pytest.mark.parametrize(("action", "resource", "regions", "known", "expected"), [
    ("dynamodb:GetItem", None, ("eu-west-1", "us-east-1"), True, ("eu-west-1", "us-east-1")),
    ("dynamodb:GetItem", "eu-west-1", ("eu-west-1",), False, ("eu-west-1", None)),
    # global services, by their rule sets: one endpoint's region, wherever the client is
    ("iam:GetRole", None, ("eu-west-1", "ap-south-1"), True, ("us-east-1",)),
    ("route53:ChangeResourceRecordSets", None, ("eu-west-1",), True, ("us-east-1",)),
    ("freetier:GetFreeTierUsage", None, ("us-east-1",), True, ("us-east-1",)),
    ("cloudfront:CreateInvalidation", None, ("ap-south-1",), True, ("us-east-1",)),
    # ... unless a FIPS or dual-stack client, which the trace does not show, is signed
    # for another region (us-west-2's control plane has a FIPS endpoint in us-east-1)
    ("route53-recovery-control-config:ListClusters", None, ("eu-west-1",), True, (None,)),
    ("freetier:GetFreeTierUsage", None, ("eu-west-1",), True, (None,)),
    # Health's older SDKs go to its global endpoint; Bedrock's inference profiles on to
    # other regions
    ("health:DescribeEvents", None, ("eu-west-1",), True, (None,)),
    ("bedrock:InvokeModel", None, ("eu-west-1",), True, (None,)),
    # Shield's dual-stack endpoint is the client region's, its others us-east-1's
    ("shield:DescribeProtection", None, ("eu-west-1",), True, (None,)),
    # a copy presigned for its source region is authorized there too
    ("rds:CopyDBSnapshot", None, ("us-gov-west-1",), True, (None,)),
    ("rds:DescribeDBInstances", None, ("us-gov-west-1",), True, ("us-gov-west-1",)),
    ("iam:GetRole", None, ("cn-northwest-1",), True, ("cn-north-1",)),
    ("ce:GetCostAndUsage", None, ("us-gov-east-1",), True, ("us-gov-west-1",)),
    # an IAM prefix that is not botocore's name for the service (stepfunctions), and
    # those sdk_names.json lists the botocore services of (efs, elbv2 and elb, the
    # Timestream query and write services, Tax Settings' global endpoint)
    ("states:StartExecution", None, ("eu-west-1",), True, ("eu-west-1",)),
    ("elasticfilesystem:CreateFileSystem", None, ("eu-west-1",), True, ("eu-west-1",)),
    ("elasticloadbalancing:DescribeTargetHealth", None, ("eu-west-1",), True,
     ("eu-west-1",)),
    ("timestream:WriteRecords", None, ("ap-southeast-2",), True, ("ap-southeast-2",)),
    ("tax:GetTaxRegistration", None, ("eu-west-1",), True, ("us-east-1",)),
    # S3 follows the bucket's region; STS's endpoint is the SDK's choice
    ("s3:GetObject", None, ("eu-west-1",), True, (None,)),
    ("sts:AssumeRole", None, ("eu-west-1",), True, (None,)),
    # an operation's control plane (us-east-1), multi-region endpoint IDs (SigV4a for
    # EventBridge, and for SES v2, which shares its IAM prefix with SES)
    ("arc-region-switch:GetPlan", None, ("eu-west-1",), True, (None,)),
    ("events:PutEvents", None, ("eu-west-1",), True, (None,)),
    ("ses:SendEmail", None, ("eu-west-1",), True, (None,)),
    # account-based endpoints stay in the client's region
    ("kinesis:PutRecord", None, ("eu-west-1",), True, ("eu-west-1",)),
    # SigV4a only
    ("partnercentral-channel:ListChannels", None, ("eu-west-1",), True, (None,)),
    # a resource elsewhere than the client: the request may have gone there
    ("lambda:InvokeFunction", "us-west-2", ("eu-west-1",), True, (None,)),
    # not a region, but a partition's global endpoint; a name AWS does not have
    ("dynamodb:GetItem", None, ("aws-global",), True, (None,)),
    ("dynamodb:GetItem", None, ("zz-nowhere-9",), True, (None,)),
    ("nosuchservice:DoIt", None, ("eu-west-1",), True, (None,)),
    ("dynamodb:GetItem", None, (), False, (None,)),
])
def test_the_requested_region_of_a_services_calls(
        action: str, resource: str | None, regions: tuple[str, ...], known: bool,
        expected: tuple[str | None, ...]) -> None:
    assert requested_regions(action, resource, regions, known) == expected


def _access(*regions: str, known: bool = True) -> Access:
    return Access(FUNCTION, "dynamodb:GetItem", TABLE.format(region="eu-west-1"),
                  regions=regions, region_known=known)


def _statements(*regions: str) -> list[Statement]:
    return [Statement("Allow", ("dynamodb:GetItem",), ("*",)),
            Statement("Deny", ("*",), ("*",), conditions={
                "StringNotEquals": {"aws:RequestedRegion": regions}}, sid="Guard")]


def test_a_region_no_partition_lists_leaves_the_key_undecided() -> None:
    # what a trace names cannot make more indexes, nor a certain answer
    index = CallIndex(_statements("eu-west-1"))
    made_up = index.evaluate("dynamodb:GetItem", _access().resource,
                             _access("zz-nowhere-9"))
    assert made_up.decision is Decision.CONDITIONAL
    assert index.evaluate("dynamodb:GetItem", _access().resource,
                          _access("eu-west-1")).decision is Decision.ALLOW
    assert index.evaluate("dynamodb:GetItem", _access().resource,
                          _access("eu-west-1", known=False)).decision is Decision.CONDITIONAL


def test_a_context_that_sets_the_region_wins() -> None:
    index = CallIndex(_statements("eu-west-1"), context={"aws:requestedregion": "us-east-1"})
    found = index.evaluate("dynamodb:GetItem", _access().resource, _access("eu-west-1"))
    assert found.decision is Decision.EXPLICIT_DENY


def test_a_region_in_a_policy_variable_is_decided_too() -> None:
    statements = [Statement("Allow", ("dynamodb:GetItem",),
                            ("arn:aws:dynamodb:*:123456789012:table/orders-${aws:RequestedRegion}",))]
    index = CallIndex(statements)

    def decided(table: str, region: str) -> Decision:
        access = Access(FUNCTION, "dynamodb:GetItem", f"{TABLE.format(region=region)}-{table}",
                        regions=(region,), region_known=True)
        return index.evaluate(access.action, access.resource, access).decision

    assert decided("eu-west-1", "eu-west-1") is Decision.ALLOW
    assert decided("us-east-1", "eu-west-1") is Decision.IMPLICIT_DENY


def test_every_needs_all_allowed() -> None:
    allow = Evaluation(Decision.ALLOW, (Statement("Allow", ("a:b",), ("*",)),))
    deny = Evaluation(Decision.EXPLICIT_DENY, (Statement("Deny", ("a:b",), ("*",)),))
    open_ = Evaluation(Decision.CONDITIONAL, (Statement("Allow", ("a:c",), ("*",)),))
    assert every(allow, allow).decision is Decision.ALLOW
    assert every(allow, allow).statements == allow.statements  # each statement once
    assert every(allow, open_).statements == open_.statements
    assert every(open_, Evaluation(Decision.IMPLICIT_DENY), deny) == deny
    assert every(open_, Evaluation(Decision.IMPLICIT_DENY)).decision is Decision.IMPLICIT_DENY


def test_observe_json_names_the_regions_of_each_access(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from leastpriv_ci.cli import main

    calls = []
    for n, region in enumerate(("eu-west-1", None, "us-east-1")):
        call = aws_call(f"{n + 1:016x}", "S3", "GetObject", bucket_name="b", key="k")
        call["aws"]["region"] = region  # type: ignore[index]
        calls.append(call)
    scan_folder(tmp_path, monkeypatch, {"orders": ROLE})
    write_scan_case(tmp_path, "1-5f000000-000000000000000000000001",
                    lambda_document(FUNCTION, *calls), ROLE, [])
    assert main(["observe", "--traces", "traces.json", "--format", "json"]) == 0
    (access,) = json.loads(capsys.readouterr().out)["principals"][FUNCTION]["accesses"]
    assert access["resource"] == "arn:aws:s3:::b/k" and access["count"] == 3
    assert (access["regions"], access["region_known"]) == (["eu-west-1", "us-east-1"], False)


def test_what_a_call_needs_of_another_service_keeps_no_region() -> None:
    # iam:PassRole is asked within the ECS call, KMS by S3 in the key's region: neither in
    # the client's, so neither is decided by it
    task_role = "arn:aws:iam::123456789012:role/report-task"
    key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    caller = "arn:aws:sts::123456789012:assumed-role/orders/orders"
    calls = [aws_call("c1", "ECS", "RunTask", cluster="reports"),
             aws_call("c2", "S3", "GetObject", bucket_name="pics", key="a.png"),
             refused(aws_call("c3", "ECS", "RunTask", cluster="reports"),
                     "AccessDeniedException", "iam:PassRole", task_role, caller),
             refused(aws_call("c4", "S3", "GetObject", bucket_name="pics", key="b.png"),
                     "AccessDenied", "kms:Decrypt", key, caller),
             refused(aws_call("c5", "DynamoDB", "GetItem", table_name="orders"),
                     "AccessDeniedException", "dynamodb:GetItem",
                     TABLE.format(region="us-east-1"), caller)]
    trace = RawTrace("1-5f000000-000000000000000000000001",
                     (json.dumps(lambda_document(FUNCTION, *calls)),), "t#1")
    usage = observe([trace]).principals[FUNCTION]
    regions = {(a.action, a.denied): (a.regions, a.region_known) for a in usage.accesses}
    assert regions[("iam:PassRole", True)] == ((), False)
    assert regions[("kms:Decrypt", True)] == ((), False)
    assert regions[("dynamodb:GetItem", True)] == (("us-east-1",), True)  # its own refusal
    assert regions[("ecs:RunTask", False)] == (("us-east-1",), True)
    assert {(a.action, a.regions, a.region_known) for a in usage.possible} == {
        ("iam:PassRole", (), False), ("kms:Decrypt", (), False)}


def test_principals_sharing_a_role_get_one_proposal_whatever_their_order() -> None:
    # An unnamed secret read from two regions, granted in one: each use is bounded by the
    # role's patterns under the conditions decided for its own regions
    secrets = "arn:aws:secretsmanager:*:123456789012:secret:app-*"
    role = Role("R", "R", (Policy("p", (Statement(
        "Allow", ("secretsmanager:GetSecretValue",), (secrets,), conditions={
            "StringEquals": {"aws:RequestedRegion": ("us-east-1",)}}),)),))

    def proposal(first: str, second: str) -> object:
        accesses = [replace(use(name, "secretsmanager:GetSecretValue", "*", known=False),
                            regions=(region,), region_known=True)
                    for name, region in (("a", first), ("z", second))]
        analysis = analyse(observation(accesses), {"R": role},
                           {function_arn("a"): "R", function_arn("z"): "R"})
        return analysis.proposals["R"]

    assert proposal("us-east-1", "eu-west-1") == proposal("eu-west-1", "us-east-1")


def test_a_denied_use_refused_by_the_guardrail_in_one_region_only_stays_a_need() -> None:
    # The us-east-1 calls were refused for want of an Allow: the proposal grants it, and
    # the finding says so, not "change the Deny"
    role = Role("R", "R", (Policy("p", (
        Statement("Allow", ("dynamodb:GetItem",), (TABLE.format(region="us-east-1"),)),
        Statement("Deny", ("*",), ("*",), sid="OnlyUsEast1", conditions={
            "StringNotEquals": {"aws:RequestedRegion": ("us-east-1",)}}))),))

    def run(*regions: str) -> tuple[Any, list[object]]:
        listed = replace(use("f", "dynamodb:ListTables", "*", denied=True), regions=regions,
                         region_known=True)
        analysis = analyse(observation([listed]), {"R": role}, {function_arn("f"): "R"})
        granted = [s["Action"] for s in analysis.proposals["R"]["Statement"]  # type: ignore[index]
                   if s["Effect"] == "Allow"]
        return one(analysis.findings, "denied", "dynamodb:ListTables", "*"), granted

    for regions in (("us-east-1",), ("eu-west-1", "us-east-1")):
        finding, granted = run(*regions)
        assert finding.detail["decision"] == "implicit_deny", regions
        assert "dynamodb:ListTables" in granted, regions
    finding, granted = run("eu-west-1")  # the guardrail's alone: not turned into an Allow
    assert finding.detail["decision"] == "explicit_deny"
    assert "dynamodb:ListTables" not in granted


def test_models_under_the_users_aws_folder_are_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.loaders import Loader

    from leastpriv_ci.analysis import regions

    newer = tmp_path / "dynamodb" / "2099-01-01"
    newer.mkdir(parents=True)
    (newer / "endpoint-rule-set-1.json").write_text("{not json")
    monkeypatch.setattr(Loader, "CUSTOMER_DATA_PATH", str(tmp_path))
    for cached in (regions.botocore_loader, regions._providers, regions.signing_region):
        cached.cache_clear()
    try:
        assert regions.signing_region("dynamodb", "eu-west-1") == "eu-west-1"
    finally:
        for cached in (regions.botocore_loader, regions._providers, regions.signing_region):
            cached.cache_clear()


def test_the_same_region_parameters_keep_the_clients_region() -> None:
    # Every value a listed parameter may take, alone and with each operation type: a rule
    # set that resolves must sign for the client's region (requested_region.yaml says so)
    from botocore.endpoint_provider import EndpointProvider
    from botocore.loaders import Loader

    from leastpriv_ci.bundled import load

    loader = Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH],
                    include_default_search_paths=False)
    listed = set(load("requested_region.yaml")["same_region_parameters"])
    elsewhere = "us-west-2"
    arns = [f"arn:aws:{s}:{elsewhere}:123456789012:{r}" for s, r in (
        ("dynamodb", "table/t"), ("dynamodb", "table/t/stream/x"), ("kinesis", "stream/s"),
        ("kinesis", "stream/s/consumer/c:1"), ("kinesis", "channel/c"),
        ("sqs", "q"))]
    values: list[object] = [True, False, "123456789012", "required", "preferred", "disabled",
                            "data", "control", "stream", "queue", "x", *arns, arns]
    checked = 0
    for name in loader.list_available_services("endpoint-rule-set-1"):
        ruleset = loader.load_service_model(name, "endpoint-rule-set-1")
        used = set(ruleset["parameters"]) & listed
        if not used or set(ruleset["parameters"]) - listed - {
                "Region", "UseFIPS", "UseDualStack", "Endpoint"}:
            continue
        provider = EndpointProvider(ruleset, loader.load_data("partitions"))
        for parameter in used:
            for value in values:
                for operation, fips, dual in itertools.product(
                        (None, "data", "control"), (False, True), (False, True)):
                    extra = {parameter: value}
                    if operation and parameter != "OperationType" and \
                            "OperationType" in ruleset["parameters"]:
                        extra["OperationType"] = operation
                    try:
                        endpoint = provider.resolve_endpoint(
                            Region="eu-west-1", UseFIPS=fips, UseDualStack=dual, **extra)
                    except Exception:  # an error rule: no endpoint, no call
                        continue
                    schemes = endpoint.properties.get("authSchemes") or [{}]
                    assert "signingRegionSet" not in schemes[0], (name, extra)
                    assert schemes[0].get("signingRegion", "eu-west-1") == "eu-west-1", (
                        name, extra)
                    checked += 1
    assert checked > 100  # dynamodb, dynamodbstreams and kinesis at least


def test_botocore_endpoint_rules_load_only_for_a_policy_naming_the_key() -> None:
    import subprocess
    import sys

    script = """
import sys
from leastpriv_ci.analysis.context import CallIndex
from leastpriv_ci.policy.model import Statement
from leastpriv_ci.records import Access
access = Access("f", "dynamodb:GetItem", "*", regions=("eu-west-1",), region_known=True)
CallIndex([Statement("Allow", ("dynamodb:*",), ("*",))]).evaluate("dynamodb:GetItem", "*", access)
print("botocore.endpoint_provider" in sys.modules)
CallIndex([Statement("Allow", ("dynamodb:*",), ("*",), conditions={
    "StringEquals": {"aws:RequestedRegion": ("eu-west-1",)}})]).evaluate(
    "dynamodb:GetItem", "*", access)
print("botocore.endpoint_provider" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                         text=True).stdout.split()
    assert out == ["False", "True"]


def test_a_setting_with_no_endpoint_made_no_call_and_a_default_with_none_decides_nothing(
) -> None:
    from leastpriv_ci.analysis import regions

    # Agent Discovery has no FIPS endpoint (an error rule): its other settings decide
    assert regions.signing_region("agent-discovery", "eu-west-1") == "eu-west-1"

    class Refusing:
        def resolve_endpoint(self, **_: object) -> object:
            raise ValueError("no endpoint")

    assert regions._signed(Refusing(), "eu-west-1", False, False) is None
    assert regions._signed(Refusing(), "eu-west-1", True, False) == regions._NO_ENDPOINT


def test_the_actions_left_undecided_are_the_catalogs() -> None:
    from leastpriv_ci.bundled import load
    from leastpriv_ci.catalog import get_catalog

    catalog = get_catalog()
    for action in load("requested_region.yaml")["undecided_actions"]:
        assert catalog.canonical(action) == action, action
