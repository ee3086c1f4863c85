"""The action's own least privilege: its AWS calls, observed by this project, fit docs/iam/.

The tool's real code (credentials, the X-Ray fetch, principal resolution, attached-role
reads) runs against the moto server
with the real aws-xray-sdk recording every boto3 call; the project's own usage extractor
turns the recorded segments into IAM actions, and the project's own policy engine checks
each one against the policy documented in ``docs/action.md`` (kept in ``docs/iam/*.json``,
which the docs embed verbatim). A call the policy does not allow, or a permission the
policy grants that the tool never uses, fails the test.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from aws_xray_sdk.core import patch, xray_recorder
from aws_xray_sdk.core.context import Context

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.credentials import CredentialSettings, aws_session
from leastpriv_ci.demo.recording import MemoryEmitter
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.grants.account_policies import account_resource_grants
from leastpriv_ci.grants.attached import load_attached
from leastpriv_ci.grants.model import GrantSet
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.evaluate import Decision, PolicyIndex
from leastpriv_ci.policy.files import load_policy_file
from leastpriv_ci.principals import resolve_roles
from leastpriv_ci.records import Access
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.traces.window import TraceWindow
from leastpriv_ci.traces.xray import XrayQuery, fetch_traces, make_client, resolve_filter
from leastpriv_ci.usage import observe
from tests.xray_standin import StandIn, running_standin

ROOT = Path(__file__).resolve().parents[1]
IAM_DOCS = ROOT / "docs" / "iam"
GATE_ROLE = "arn:aws:iam::123456789012:role/leastpriv-ci-reader"
SEGMENT = "leastpriv-ci-gate"



class ProcessContext(Context):
    """One segment for the whole gate process, whichever thread makes the call.

    The X-Ray fetch reads batches on a worker thread; the SDK's default context is
    thread-local and would not record those calls.
    """

    def __init__(self) -> None:
        super().__init__(context_missing="IGNORE_ERROR")
        self._local = SimpleNamespace()  # type: ignore[assignment]


@pytest.fixture
def recorded(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryEmitter]:
    # The tool's clients take the endpoint from the environment, as any boto3 user could.
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    capture = MemoryEmitter()
    previous = xray_recorder.context
    xray_recorder.configure(emitter=capture, sampling=False, context_missing="IGNORE_ERROR",
                            streaming_threshold=100, context=ProcessContext())
    patch(["botocore"])
    yield capture
    xray_recorder.configure(streaming_threshold=100, context=previous)


def accesses(documents: list[str]) -> list[Access]:
    by_trace: dict[str, list[str]] = defaultdict(list)
    for document in documents:
        by_trace[json.loads(document)["trace_id"]].append(document)
    traces = [RawTrace(tid, tuple(docs), f"sdk:{tid}") for tid, docs in by_trace.items()]
    observation = observe(traces, principal_map={SEGMENT: GATE_ROLE})
    assert set(observation.principals) == {GATE_ROLE}
    return list(observation.principals[GATE_ROLE].accesses)


def resources_for(access: Access, touched: dict[str, str]) -> list[str]:
    """The ARNs to check an access on.

    The X-Ray SDKs record no request parameters for IAM, so the extractor (rightly)
    reports those resources as unknown. Then the catalog names the resource type the
    action needs, and the check uses the ARN of that type the tool was pointed at.
    """
    if access.resource_known or access.resource != "*":
        return [access.resource]
    types = [ref.name for ref in get_catalog().action(access.action).resource_types]
    if not types:
        return ["*"]
    # An action may act on several resource types (lambda:ListTags: functions, layers, …);
    # check it on each type the gate was pointed at, and it must be one of them.
    service = access.action.split(":")[0]
    known = [touched[name] for name in types
             if name in touched and touched[name].split(":")[2] == service]
    assert known, (access.action, types)
    return known


def policy(name: str) -> PolicyIndex:
    loaded = load_policy_file(IAM_DOCS / f"{name}.json")
    return PolicyIndex([s for p in loaded.policies for s in p.statements])


def granted_actions(name: str) -> set[str]:
    document = json.loads((IAM_DOCS / f"{name}.json").read_text())
    found: set[str] = set()
    for statement in document["Statement"]:
        actions = statement["Action"]
        found.update(a.lower() for a in ([actions] if isinstance(actions, str) else actions))
    return found


FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:orders-fn"
TOUCHED = {
    "group": "arn:aws:xray:us-east-1:123456789012:group/staging/ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
    "role": "arn:aws:iam::123456789012:role/orders-fn-role",
    "policy": "arn:aws:iam::123456789012:policy/queue-send",
    "function": FUNCTION,
}


def arrange(aws: Emulator) -> None:
    """A deployment as the gate finds it: a function whose role has inline, customer-managed
    and AWS-managed policies."""
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="orders-fn-role", AssumeRolePolicyDocument=json.dumps(trust))
    inline = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "dynamodb:GetItem",
        "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/orders"}]}
    iam.put_role_policy(RoleName="orders-fn-role", PolicyName="orders",
                        PolicyDocument=json.dumps(inline))
    managed = iam.create_policy(PolicyName="queue-send", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))
    iam.attach_role_policy(RoleName="orders-fn-role", PolicyArn=managed["Policy"]["Arn"])
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    aws.client("lambda").create_function(
        FunctionName="orders-fn", Runtime="python3.12", Handler="app.handler",
        Code={"ZipFile": code.getvalue()}, Role=role["Role"]["Arn"],
        Tags={"aws:cloudformation:logical-id": "OrdersFunction"},
    )


# Resources keeping a policy, by the catalog's name of their type
RESOURCE_POLICY_HOLDERS = {
    "bucket": "arn:aws:s3:::orders-archive",
    "queue": "arn:aws:sqs:us-east-1:123456789012:orders-queue",
    "topic": "arn:aws:sns:us-east-1:123456789012:orders-topic",
    "Secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-db-??????",
    "table": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
    "stream": "arn:aws:kinesis:us-east-1:123456789012:stream/orders-stream",
    "event-bus": "arn:aws:events:us-east-1:123456789012:event-bus/default",
    "function": "arn:aws:lambda:us-east-1:123456789012:function:orders-fn",
}


def arrange_resource_policies(aws: Emulator) -> dict[str, str]:
    """Resources whose own policies name the function's role; returns them, by type, with
    the key moto made (its ARN is moto's choice)."""
    def naming_the_role(resource: str, action: str = "*") -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "OrdersFunction", "Effect": "Allow", "Principal": {"AWS": TOUCHED["role"]},
            "Action": action, "Resource": resource}]})

    holders = dict(RESOURCE_POLICY_HOLDERS)
    aws.client("s3").create_bucket(Bucket="orders-archive")
    aws.client("s3").put_bucket_policy(
        Bucket="orders-archive", Policy=naming_the_role(holders["bucket"] + "/*"))
    aws.client("sqs").create_queue(QueueName="orders-queue", Attributes={
        "Policy": naming_the_role(holders["queue"])})
    topic = aws.client("sns").create_topic(Name="orders-topic")["TopicArn"]
    aws.client("sns").set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                                           AttributeValue=naming_the_role(topic))
    secret = aws.client("secretsmanager").create_secret(Name="orders-db", SecretString="x")
    aws.client("secretsmanager").put_resource_policy(
        SecretId=secret["ARN"], ResourcePolicy=naming_the_role("*"))
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="orders", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    dynamodb.put_resource_policy(ResourceArn=holders["table"],
                                 Policy=naming_the_role(holders["table"]))
    aws.client("kinesis").create_stream(StreamName="orders-stream", ShardCount=1)
    aws.client("kinesis").put_resource_policy(ResourceARN=holders["stream"],
                                              Policy=naming_the_role(holders["stream"]))
    aws.client("events").put_permission(EventBusName="default",
                                        Policy=naming_the_role(holders["event-bus"],
                                                               "events:PutEvents"))
    # moto writes a role named by AddPermission as a bare ARN, which no policy holds (AWS
    # writes {"AWS": ARN}); anyone in the organization is written as AWS does
    aws.client("lambda").add_permission(
        FunctionName="orders-fn", StatementId="Organization", Action="lambda:InvokeFunction",
        Principal="*", PrincipalOrgID="o-a1b2c3d4e5")
    holders["key"] = aws.client("kms").create_key(Policy=naming_the_role("*"))[
        "KeyMetadata"]["Arn"]
    return holders


def staged_traces(aws: Emulator) -> None:
    """Traces of the application in the emulator's X-Ray, and the group the gate reads."""
    xray = aws.client("xray")
    now = time.time()
    documents = [json.dumps({
        "name": "orders-fn", "id": f"{n:016x}", "trace_id": f"1-{int(now):08x}-{n:024x}",
        "start_time": now - 5, "end_time": now - 4, "origin": "AWS::Lambda::Function",
        "aws": {"function_arn": FUNCTION}}) for n in range(1, 4)]
    assert xray.put_trace_segments(TraceSegmentDocuments=documents)[
        "UnprocessedTraceSegments"] == []


def gate_session(aws: Emulator) -> boto3.session.Session:
    """The session the gate makes from the runner's static keys, against the emulator."""
    return aws_session(
        CredentialSettings(role_to_assume=None, region=aws.region,
                           allowed_account_ids=(aws.account,)),
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        log=lambda _: None,
    )


def run_gate(aws: Emulator, *, attached: bool, holders: Mapping[str, str] | None = None) -> None:
    """The gate's own AWS calls for one mode, inside one recorded segment."""
    staged_traces(aws)
    xray_recorder.begin_segment(SEGMENT)
    try:
        session = gate_session(aws)
        notices = Notices()
        now = datetime.now(UTC)
        query = XrayQuery(TraceWindow(now - timedelta(minutes=5), now + timedelta(minutes=1)),
                          max_concurrency=1)
        traces = list(fetch_traces(make_client(session), query, notices))
        assert len(traces) == 3
        # moto has no X-Ray groups; the stand-in answers GetGroup for the xray-group input.
        with running_standin(StandIn(count=0, groups={"staging": 'service("orders-fn")'})) as xr:
            client = make_client(session, endpoint_url=xr.endpoint_url)
            assert resolve_filter(client, None, "staging") == 'service("orders-fn")'
        roles = resolve_roles([FUNCTION], GrantSet(roles={}), session=session, notices=notices)
        assert roles == {FUNCTION: TOUCHED["role"]}
        if attached:
            grants = load_attached(session, [TOUCHED["role"]], notices)
            assert [role.name for role in grants.roles.values()] == ["orders-fn-role"]
        if holders:
            # uses the role's policies do not allow: their resources' own policies are read
            explained = account_resource_grants(
                session, {TOUCHED["role"]: list(holders.values())}, notices)
            assert len(explained[TOUCHED["role"]]) == len(holders)
        assert list(notices.items()) == []
    finally:
        xray_recorder.end_segment()


@pytest.mark.parametrize(("mode", "attached"), [("traces-only", False), ("attached", True)])
def test_the_gates_calls_fit_the_documented_policy(
    aws: Emulator, recorded: MemoryEmitter, mode: str, attached: bool
) -> None:
    arrange(aws)
    holders = arrange_resource_policies(aws) if attached else {}
    run_gate(aws, attached=attached, holders=holders)
    used = accesses(recorded.documents)
    used_actions = {a.action.lower() for a in used}
    # the gate also calls sts:GetCallerIdentity, which needs (and honours) no permission:
    # observe does not count it as use (operations.yaml, no_permission)
    expected = {"lambda:getfunctionconfiguration", "lambda:listtags",
                "xray:getgroup", "xray:gettracesummaries", "xray:batchgettraces"}
    if attached:
        expected |= {"iam:getrole", "iam:listrolepolicies", "iam:getrolepolicy",
                     "iam:listattachedrolepolicies", "iam:getpolicy", "iam:getpolicyversion",
                     "s3:getbucketpolicy", "sqs:getqueueurl", "sqs:getqueueattributes",
                     "sns:gettopicattributes", "kms:getkeypolicy",
                     "secretsmanager:getresourcepolicy", "dynamodb:getresourcepolicy",
                     "kinesis:getresourcepolicy", "events:describeeventbus",
                     "lambda:getpolicy"}
    assert used_actions == expected

    documented = policy(mode)
    for access in used:
        for resource in resources_for(access, {**TOUCHED, **holders}):
            decision = documented.evaluate(access.action, resource).decision
            assert decision is Decision.ALLOW, (mode, access.action, resource, decision)

    # No excess in our own advice: every permission documented for the mode is used.
    assert granted_actions(mode) == used_actions


def test_traces_only_policy_grants_no_iam_reads(
    aws: Emulator, recorded: MemoryEmitter
) -> None:
    arrange(aws)
    run_gate(aws, attached=True)
    traces_only = policy("traces-only")
    iam_calls = [a for a in accesses(recorded.documents) if a.action.startswith("iam:")]
    assert iam_calls
    for access in iam_calls:
        for resource in resources_for(access, TOUCHED):
            assert traces_only.evaluate(access.action, resource).decision is \
                Decision.IMPLICIT_DENY


def test_an_undeclared_instance_profile_needs_the_documented_addition(
    aws: Emulator, recorded: MemoryEmitter
) -> None:
    # docs/action.md: "if the principal map names an instance profile that no scanned file
    # declares, allow iam:GetInstanceProfile on it"
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="web-role", AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_instance_profile(InstanceProfileName="web-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web-role")
    profile = "arn:aws:iam::123456789012:instance-profile/web-profile"
    xray_recorder.begin_segment(SEGMENT)
    try:
        session = gate_session(aws)
        roles = resolve_roles(["web-api"], GrantSet(roles={}), mapping={"web-api": profile},
                              session=session, notices=Notices())
    finally:
        xray_recorder.end_segment()
    assert roles == {"web-api": "arn:aws:iam::123456789012:role/web-role"}
    used = accesses(recorded.documents)
    assert {a.action for a in used} == {"iam:GetInstanceProfile"}
    documented = ("allow `iam:GetInstanceProfile` on it "
                  "(`arn:aws:iam::123456789012:instance-profile/NAME`; IAM checks the ARN "
                  "with the profile's path, so for a profile created with one, "
                  "`instance-profile/PATH/NAME`, or `instance-profile/*` for all)")
    assert documented in " ".join((ROOT / "docs" / "action.md").read_text().split())
    [resource_type] = get_catalog().action("iam:GetInstanceProfile").resource_types
    assert resource_type.name == "instance-profile"
    # the ARN IAM authorizes holds the path (the scan looks a profile up by name alone)
    assert get_catalog().resource_type("iam", "instance-profile").arn_format.endswith(
        ":instance-profile/${InstanceProfileNameWithPath}")
