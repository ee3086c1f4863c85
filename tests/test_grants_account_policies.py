"""Resource-based policies as attached in the account: which resource keeps the policy,
how each kind is read (moto's services over HTTP), and what a reading that fails says."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.grants import account_policies
from leastpriv_ci.grants.account_policies import (
    CAPPED,
    UNREADABLE,
    account_resource_grants,
    holder_of,
    policy_readers,
)
from leastpriv_ci.grants.resource_policies import UNREAD, names_anyone
from leastpriv_ci.notices import Notices

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-role"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/reports-role"


@pytest.mark.parametrize(("resource", "holder", "values"), [
    ("arn:aws:s3:::orders-bucket/in/2026/a.json", "arn:aws:s3:::orders-bucket",
     {"name": "orders-bucket", "account": ACCOUNT}),
    ("arn:aws:s3:::orders-bucket/*", "arn:aws:s3:::orders-bucket", {"name": "orders-bucket"}),
    ("arn:aws:s3:::orders-bucket", "arn:aws:s3:::orders-bucket", {"name": "orders-bucket"}),
    (f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs.fifo", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs.fifo",
     {"name": "jobs.fifo"}),
    (f"arn:aws:sns:us-east-1:{ACCOUNT}:events", f"arn:aws:sns:us-east-1:{ACCOUNT}:events", {}),
    (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
     f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", {}),
    # a secret named without its suffix is read by its partial ARN
    (f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/pass-??????",
     f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/pass-??????",
     {"id": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/pass"}),
    (f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/pass-AbCdEf",
     f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/pass-AbCdEf",
     {"id": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db/pass-AbCdEf"}),
    # an index is governed by its table's policy
    (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders/index/by-date",
     f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders", {}),
    (f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/clicks",
     f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/clicks", {}),
    (f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default",
     f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default", {}),
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders",
     f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders", {}),
    # an alias or version keeps a policy of its own
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders:live",
     f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders:live", {}),
])
def test_the_resource_keeping_the_policy_is_found_from_the_used_arn(
    resource: str, holder: str, values: dict[str, str]
) -> None:
    found = holder_of(resource, ACCOUNT)
    assert found is not None and found.arn == holder
    assert values.items() <= found.values.items()
    assert found.values["account"] == ACCOUNT


@pytest.mark.parametrize("resource", [
    "*",
    "arn:aws:s3:::*",  # not one bucket
    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*",
    f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/orders",  # an alias keeps no policy
    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders/stream/2026-01-01T00:00:00.000",
    # another account's policy grants nothing by itself
    "arn:aws:sqs:us-east-1:999999999999:jobs",
    f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:orders:1",  # not a kind read here
    f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:*",
])
def test_a_resource_no_policy_of_which_grants_by_itself_is_not_read(resource: str) -> None:
    assert holder_of(resource, ACCOUNT) is None


def test_every_reading_call_and_parameter_exists_in_botocore_and_iam() -> None:
    session = boto3.session.Session(region_name="us-east-1")
    catalog = get_catalog()
    for reader in policy_readers():
        model = session.client(reader.service, aws_access_key_id="x",
                               aws_secret_access_key="x").meta.service_model
        calls = [reader.call] + ([reader.lookup.call] if reader.lookup else [])
        for call in calls:
            operation = model.operation_model(call.operation)
            assert set(call.parameters) <= set(operation.input_shape.members), call
        output = model.operation_model(reader.call.operation).output_shape
        assert reader.policy[0] in output.members, reader.kind
        if reader.lookup:
            lookup = model.operation_model(reader.lookup.call.operation).output_shape
            assert reader.lookup.member in lookup.members
        for permission in reader.permissions:
            assert catalog.action(permission) is not None, permission


def _policy(principal: str, action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Named", "Effect": "Allow", "Principal": {"AWS": principal},
         "Action": action, "Resource": resource},
        {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": action,
         "Resource": resource, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
    ]})


@pytest.fixture
def session(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> boto3.session.Session:
    """A session whose clients reach moto's server, as the scan's do."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    return boto3.session.Session(aws_access_key_id="testing",
                                 aws_secret_access_key="testing", region_name=aws.region)


@pytest.mark.slow
def test_each_kind_of_policy_is_read_from_the_account_for_the_role_it_names(
    aws: Emulator, session: boto3.session.Session,
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="orders-bucket")
    s3.put_bucket_policy(Bucket="orders-bucket", Policy=_policy(
        ROLE, "s3:GetObject", "arn:aws:s3:::orders-bucket/*"))
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={
        "Policy": _policy(ROLE, "sqs:SendMessage", queue_arn)})
    sns = aws.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                             AttributeValue=_policy(ROLE, "sns:Publish", topic))
    key = aws.client("kms").create_key(Policy=_policy(ROLE, "kms:Decrypt", "*"))[
        "KeyMetadata"]["Arn"]
    secrets = aws.client("secretsmanager")
    secret = secrets.create_secret(Name="db/pass", SecretString="x")["ARN"]
    secrets.put_resource_policy(SecretId=secret, ResourcePolicy=_policy(
        ROLE, "secretsmanager:GetSecretValue", "*"))
    dynamodb = aws.client("dynamodb")
    table = dynamodb.create_table(
        TableName="orders", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]
    dynamodb.put_resource_policy(ResourceArn=table, Policy=_policy(
        OTHER_ROLE, "dynamodb:PutItem", table))
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    kinesis.put_resource_policy(ResourceARN=stream, Policy=_policy(
        ROLE, "kinesis:PutRecord", stream))
    bus = f"arn:aws:events:{aws.region}:{ACCOUNT}:event-bus/default"
    aws.client("events").put_permission(EventBusName="default", Policy=_policy(
        ROLE, "events:PutEvents", bus))
    aws.client("s3").create_bucket(Bucket="plain-bucket")  # no policy at all
    notices = Notices()

    granted = account_resource_grants(session, {
        ROLE: ["arn:aws:s3:::orders-bucket/in/a.json", "arn:aws:s3:::orders-bucket/in/b.json",
               queue_arn, topic, key, secret[:-7] + "-??????", f"{table}/index/by-date",
               stream, bus, "arn:aws:s3:::plain-bucket/x", "arn:aws:s3:::gone-bucket/x",
               f"arn:aws:sqs:us-east-1:{ACCOUNT}:gone-queue"],
        OTHER_ROLE: [table],
    }, notices)

    assert list(notices.items()) == []  # no policy, or no resource: nothing to say
    mine = {(s.actions, s.resources, s.origin.policy_name, s.origin.policy_arn,
             names_anyone(s.principal))
            for s in granted[ROLE]}
    secret_holder = secret[:-7] + "-??????"
    assert mine == {
        (("s3:GetObject",), ("arn:aws:s3:::orders-bucket/*",), "bucket policy",
         "arn:aws:s3:::orders-bucket", False),
        (("sqs:SendMessage",), (queue_arn,), "queue policy", queue_arn, False),
        (("sns:Publish",), (topic,), "topic policy", topic, False),
        # a Resource "*" is the resource keeping the policy
        (("kms:Decrypt",), (key,), "key policy", key, False),
        (("secretsmanager:GetSecretValue",), (secret_holder,), "secret policy",
         secret_holder, False),
        (("kinesis:PutRecord",), (stream,), "stream policy", stream, False),
        (("events:PutEvents",), (bus,), "event bus policy", bus, False),
    }
    # the table's policy names the other role only; "*" with a condition names no role
    assert [(s.actions, s.resources) for s in granted[OTHER_ROLE]] == [
        (("dynamodb:PutItem",), (table,))]


class _Stubbed:
    """A session whose clients answer from a botocore Stubber."""

    def __init__(self, service: str) -> None:
        self.client_ = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
        ).client(service)
        self.stubber = Stubber(self.client_)
        self.stubber.activate()

    def client(self, service: str, region_name: str | None = None) -> Any:
        return self.client_


def test_a_policy_the_scanning_role_may_not_read_is_a_warning_naming_the_permission() -> None:
    session = _Stubbed("kms")
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    session.stubber.add_client_error("get_key_policy", "AccessDeniedException", "no")
    notices = Notices()

    # two uses of one key: it is read once
    granted = account_resource_grants(session, {ROLE: [key, key], OTHER_ROLE: [key]}, notices)

    assert granted == {}
    session.stubber.assert_no_pending_responses()
    [notice] = notices.items()
    assert notice.code == UNREADABLE and notice.examples == (f"{key}: needs kms:GetKeyPolicy",)


def test_a_failing_lookup_names_its_own_permission() -> None:
    session = _Stubbed("sqs")
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    session.stubber.add_client_error("get_queue_url", "AccessDenied", "no")
    session.stubber.add_client_error("get_queue_url", "InvalidAddress", "no such address")
    notices = Notices()

    account_resource_grants(session, {ROLE: [queue]}, notices)
    account_resource_grants(session, {ROLE: [queue]}, notices)

    [notice] = notices.items()
    assert notice.examples == (f"{queue}: needs sqs:GetQueueUrl",
                               f"{queue}: GetQueueUrl failed (InvalidAddress)")


def test_a_policy_that_is_not_json_is_skipped_with_a_warning() -> None:
    session = _Stubbed("sns")
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:events"
    session.stubber.add_response("get_topic_attributes", {"Attributes": {"Policy": "{not"}})
    notices = Notices()

    assert account_resource_grants(session, {ROLE: [topic]}, notices) == {}
    [notice] = notices.items()
    assert notice.code == UNREAD and topic in notice.examples[0]


@pytest.mark.slow
def test_a_policy_for_anyone_whose_arn_matches_grants_the_roles_it_matches(
    aws: Emulator, session: boto3.session.Session,
) -> None:
    sns = aws.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish",
            "Resource": topic, "Condition": {"ArnLike": {
                "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/orders-*"}}}, {
            "Effect": "Allow", "Principal": "*", "Action": "sns:GetTopicAttributes",
            "Resource": topic, "Condition": {"StringEquals": {
                "aws:PrincipalAccount": ACCOUNT}}}]}))

    granted = account_resource_grants(session, {ROLE: [topic], OTHER_ROLE: [topic]}, Notices())

    [publish, read] = granted[ROLE]
    assert publish.actions == ("sns:Publish",) and publish.conditions == {}
    # granted as the role its ARN matched; the other, as any principal of its account
    assert publish.principal == {"AWS": ROLE} and names_anyone(read.principal)
    assert [s.actions for s in granted[OTHER_ROLE]] == [("sns:GetTopicAttributes",)]


@pytest.mark.slow
def test_a_key_policy_for_the_account_s_callers_through_a_service_grants_every_role(
    aws: Emulator, session: boto3.session.Session,
) -> None:
    """The policy AWS managed keys carry: anyone whose kms:CallerAccount is the account,
    through one service. It grants every role of the account under the service's
    condition (which a role's own KMS call does not meet), and is no public statement."""
    key = aws.client("kms").create_key(Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "ThroughSecretsManager", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:CallerAccount": ACCOUNT,
                "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}]}))[
        "KeyMetadata"]["Arn"]
    public: dict[str, list[Any]] = {}

    granted = account_resource_grants(session, {ROLE: [key], OTHER_ROLE: [key]}, Notices(),
                                      public=public)

    assert public == {}
    for role in (ROLE, OTHER_ROLE):
        [through] = granted[role]
        assert (through.sid, through.resources, through.conditions) == (
            "ThroughSecretsManager", (key,), {"StringEquals": {
                "kms:ViaService": ("secretsmanager.us-east-1.amazonaws.com",)}})


def test_a_function_s_policy_is_read_by_its_qualified_arn_as_lambda_writes_it() -> None:
    """Lambda's GetPolicy answers with the policy AddPermission wrote: a role as
    ``{"AWS": ARN}``, the account as its root; an alias keeps a policy of its own, read
    by the alias's ARN. A function with no policy answers ResourceNotFoundException."""
    session = _Stubbed("lambda")
    live = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders:live"
    plain = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:reports"
    session.stubber.add_response("get_policy", {"Policy": json.dumps({
        "Version": "2012-10-17", "Id": "default", "Statement": [
            {"Sid": "Api", "Effect": "Allow", "Principal": {"AWS": ROLE},
             "Action": "lambda:InvokeFunction", "Resource": live},
            {"Sid": "Account", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "lambda:InvokeFunction", "Resource": live},
            {"Sid": "Bucket", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
             "Action": "lambda:InvokeFunction", "Resource": live,
             "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::orders"}}}]}),
        "RevisionId": "1"}, expected_params={"FunctionName": live})
    session.stubber.add_client_error("get_policy", "ResourceNotFoundException", "none", 404,
                                     expected_params={"FunctionName": plain})
    notices = Notices()

    granted = account_resource_grants(session, {ROLE: [live, plain]}, notices)

    session.stubber.assert_no_pending_responses()
    assert list(notices.items()) == []
    [invoke] = granted[ROLE]
    assert (invoke.sid, invoke.actions, invoke.resources) == (
        "Api", ("lambda:InvokeFunction",), (live,))
    assert (invoke.origin.policy_name, invoke.origin.policy_arn) == ("function policy", live)


def test_past_the_cap_policies_are_not_read_and_that_is_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(account_policies, "MAX_POLICIES_READ", 2)
    session = _Stubbed("sns")
    topics = [f"arn:aws:sns:us-east-1:{ACCOUNT}:events-{n}" for n in range(4)]
    for _ in range(2):
        session.stubber.add_response("get_topic_attributes", {"Attributes": {}})
    notices = Notices()

    account_resource_grants(session, {ROLE: topics}, notices)

    session.stubber.assert_no_pending_responses()  # two read, and no third call
    [capped] = notices.items()
    assert capped.code == CAPPED and capped.count == 2 and capped.examples == tuple(topics[2:])


def test_a_client_that_cannot_be_made_is_a_warning_not_a_traceback() -> None:
    from botocore.exceptions import NoRegionError

    class NoRegion:
        def client(self, service: str, region_name: str | None = None) -> Any:
            raise NoRegionError()

    notices = Notices()
    assert account_resource_grants(NoRegion(), {ROLE: ["arn:aws:s3:::orders-bucket/a"]},
                                   notices) == {}
    [notice] = notices.items()
    assert notice.code == UNREADABLE and "You must specify a region" in notice.examples[0]


def test_a_bucket_that_refuses_may_be_another_account_s_and_the_warning_says_so() -> None:
    session = _Stubbed("s3")
    session.stubber.add_client_error("get_bucket_policy", "AccessDenied", "Access Denied", 403,
                                     expected_params={"Bucket": "orders-bucket",
                                                      "ExpectedBucketOwner": ACCOUNT})
    notices = Notices()

    account_resource_grants(session, {ROLE: ["arn:aws:s3:::orders-bucket/a.json"]}, notices)

    [notice] = notices.items()
    assert notice.examples == ("arn:aws:s3:::orders-bucket: needs s3:GetBucketPolicy (or the "
                               "bucket belongs to another account)",)


def test_the_policy_of_a_resource_the_files_declare_one_for_is_not_read() -> None:
    """The pull request's policy of a bucket replaces the account's: only the other
    bucket's is read."""
    session = _Stubbed("s3")
    granting = _policy(ROLE, "s3:GetObject", "arn:aws:s3:::reports-bucket/*")
    session.stubber.add_response("get_bucket_policy", {"Policy": granting}, expected_params={
        "Bucket": "reports-bucket", "ExpectedBucketOwner": ACCOUNT})
    notices = Notices()
    used = ["arn:aws:s3:::orders-bucket/a.json", "arn:aws:s3:::reports-bucket/b.json"]

    granted = account_resource_grants(session, {ROLE: used}, notices,
                                      declared=["arn:aws:s3:::orders-bucket/*"])

    session.stubber.assert_no_pending_responses()
    assert notices.items() == []  # no call for orders-bucket, which the stub would refuse
    assert [s.resources for s in granted[ROLE]] == [("arn:aws:s3:::reports-bucket/*",)]


def test_a_statement_for_anyone_grants_no_role_and_is_told_of_for_the_uses_it_allows(
) -> None:
    from leastpriv_ci.grants.account_policies import public_uses
    from leastpriv_ci.records import Finding

    session = _Stubbed("s3")
    bucket = "arn:aws:s3:::orders-bucket"
    policy = json.loads(_policy(OTHER_ROLE, "s3:GetObject", f"{bucket}/*"))
    policy["Statement"].append({
        "Sid": "ThroughTheEndpoint", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": f"{bucket}/*",
        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})
    session.stubber.add_response("get_bucket_policy", {"Policy": json.dumps(policy)})
    public: dict[str, list[Any]] = {}

    granted = account_resource_grants(session, {ROLE: [f"{bucket}/a.json"]}, Notices(),
                                      public=public)

    assert granted == {}  # the other role's statement, and two for anyone
    # one for a service calling for another account's resource (aws:SourceAccount, absent
    # from a role's own call) allows no use of the role's: not told of
    [anyone] = public[ROLE]
    assert (anyone.sid, anyone.principal, anyone.origin.policy_arn) == (
        "ThroughTheEndpoint", "*", bucket)

    def missing(action: str, kind: str = "missing") -> Finding:
        return Finding(kind=kind, role=ROLE, action=action, resource=f"{bucket}/a.json",
                       severity="high")

    # its condition (the VPC endpoint) is not decided: it may allow the read
    assert public_uses([missing("s3:GetObject"), missing("s3:PutObject"),
                        missing("s3:GetObject", "excess")], public) == [
        f"{ROLE}: s3:GetObject on {bucket}/a.json ({bucket} bucket policy, "
        "ThroughTheEndpoint)"]
