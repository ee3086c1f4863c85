"""Calls interpreted once per shape count exactly as calls interpreted one by one."""

from __future__ import annotations

import importlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import accesses

# the module, not the function that leastpriv_ci.usage exports under the same name
observe_module = importlib.import_module("leastpriv_ci.usage.observe")

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"


def _function(account: str, name: str = "f") -> str:
    return f"arn:aws:lambda:us-east-1:{account}:function:{name}"


def _trace(trace_id: str, principal: str, calls: list[dict[str, object]]) -> RawTrace:
    segment = {"id": f"s-{trace_id}", "name": "f", "origin": "AWS::Lambda::Function",
               "start_time": 1.0, "end_time": 2.0, "aws": {"function_arn": principal},
               "subsegments": calls}
    return RawTrace(trace_id, (json.dumps(segment),), f"t.json#{trace_id}")


def _call(call_id: str, name: str, operation: str, **fields: object) -> dict[str, object]:
    return {"id": call_id, "name": name, "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": operation, "region": "us-east-1", **fields}}


def _table(account: str, table: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:{account}:table/{table}"


def _count_interpretations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operation of every call interpreted from scratch (not from a remembered shape)."""
    interpreted: list[str] = []
    original = observe_module._Reader._interpret

    def counting(self: object, node: object, aws: object, name: str, operation: str,
                 where: object) -> object:
        interpreted.append(operation)
        return original(self, node, aws, name, operation, where)  # type: ignore[arg-type]

    monkeypatch.setattr(observe_module._Reader, "_interpret", counting)
    return interpreted


def test_list_valued_fields_are_told_apart_and_counted_each_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    interpreted = _count_interpretations(monkeypatch)
    fn = _function(ACCOUNT_A)
    traces = [
        _trace("1-a", fn, [_call("c1", "DynamoDB", "BatchWriteItem", table_names=["a", "b"])]),
        _trace("1-b", fn, [_call("c2", "DynamoDB", "BatchWriteItem", table_names=["a", "b"]),
                           _call("c3", "DynamoDB", "BatchWriteItem", table_names=["c"])]),
    ]
    assert accesses(observe(traces)) == {fn: {
        ("dynamodb:BatchWriteItem", _table(ACCOUNT_A, "a"), 2, False, True),
        ("dynamodb:BatchWriteItem", _table(ACCOUNT_A, "b"), 2, False, True),
        ("dynamodb:BatchWriteItem", _table(ACCOUNT_A, "c"), 1, False, True),
    }}
    # a list of names is part of the call's shape (decoded as a tuple): remembered
    assert interpreted == ["BatchWriteItem", "BatchWriteItem"]


def test_a_list_of_tables_beside_another_list_is_still_counted_on_its_shape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    interpreted = _count_interpretations(monkeypatch)
    fn = _function(ACCOUNT_A)
    call = {"table_names": ["a"], "resource_names": ["x"]}
    traces = [_trace(f"1-{n}", fn, [_call(f"c{n}", "DynamoDB", "BatchGetItem", **call)])
              for n in range(3)]
    assert accesses(observe(traces)) == {fn: {
        ("dynamodb:BatchGetItem", _table(ACCOUNT_A, "a"), 3, False, True)}}
    assert interpreted == ["BatchGetItem"]


def test_an_object_valued_field_is_counted_call_by_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # An object (or an array holding one) cannot be part of a key: each call is
    # interpreted on its own, and counted all the same
    interpreted = _count_interpretations(monkeypatch)
    fn = _function(ACCOUNT_A)
    calls = [_call(f"c{n}", "DynamoDB", "BatchGetItem", table_names=["a", {"odd": n}])
             for n in range(3)]
    assert accesses(observe([_trace("1-a", fn, calls)])) == {fn: {
        ("dynamodb:BatchGetItem", _table(ACCOUNT_A, "a"), 3, False, True)}}
    assert interpreted == ["BatchGetItem"] * 3


def test_a_shared_interpretation_keeps_each_principals_account() -> None:
    # Neither call names its account: each ARN takes its function's, although the calls
    # are otherwise alike (and written with different SDK spellings of DynamoDB).
    first, second = _function(ACCOUNT_A), _function(ACCOUNT_B)
    traces = [
        _trace("1-a", first, [_call("c1", "DynamoDB", "GetItem", table_name="t")]),
        _trace("1-b", second, [_call("c2", "dynamodb", "GetItem", table_name="t")]),
        _trace("1-c", first, [_call("c3", "AmazonDynamoDBv2", "GetItem", table_name="t")]),
    ]
    assert accesses(observe(traces)) == {
        first: {("dynamodb:GetItem", _table(ACCOUNT_A, "t"), 2, False, True)},
        second: {("dynamodb:GetItem", _table(ACCOUNT_B, "t"), 1, False, True)},
    }


def _denied(call_id: str, action: str) -> dict[str, object]:
    return dict(_call(call_id, "dynamodb", "GetItem", table_name="t"), error=True, cause={
        "exceptions": [{"type": "ClientError", "message": (
            f"An error occurred (AccessDeniedException) when calling the GetItem operation: "
            f"User: x is not authorized to perform: {action}")}]})


def test_failed_calls_of_one_shape_keep_each_message() -> None:
    fn = _function(ACCOUNT_A)
    throttled = dict(_call("c3", "dynamodb", "GetItem", table_name="t"), cause={
        "exceptions": [{"type": "ThrottlingException", "message": "Rate exceeded"}]})
    traces = [_trace("1-a", fn, [_denied("c1", "dynamodb:GetItem"),
                                 _denied("c2", "dynamodb:BatchGetItem"), throttled]),
              _trace("1-b", fn, [_denied("c4", "dynamodb:BatchGetItem"),
                                 _call("c5", "dynamodb", "GetItem", table_name="t")])]
    table = _table(ACCOUNT_A, "t")
    assert accesses(observe(traces)) == {fn: {
        ("dynamodb:GetItem", table, 1, True, True),
        ("dynamodb:BatchGetItem", table, 2, True, True),
        ("dynamodb:GetItem", table, 2, False, True),
    }}


def test_every_call_without_a_resource_is_counted_in_the_notice() -> None:
    fn = _function(ACCOUNT_A)
    calls = [_call(f"c{n}", "SecretsManager", "GetSecretValue") for n in range(3)]
    observation = observe([_trace("1-a", fn, calls[:2]), _trace("1-b", fn, calls[2:])])
    assert accesses(observation) == {fn: {("secretsmanager:GetSecretValue", "*", 3, False,
                                           False)}}
    (notice,) = observation.notices.items()
    assert (notice.code, notice.count) == ("unknown-resource", 3)
    assert notice.examples == (f"{fn} secretsmanager:GetSecretValue",)


def test_counts_survive_the_caches_filling_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hostile input with endless distinct shapes or denial messages flushes the caches
    # into the totals instead of growing them; nothing is lost or counted twice.
    monkeypatch.setattr(observe_module, "MAX_CACHED_CALLS", 2)
    fn = _function(ACCOUNT_A)
    calls = [_call(f"g{n}", "dynamodb", "GetItem", table_name=f"t{n % 3}") for n in range(9)]
    calls += [_denied(f"d{n}", f"dynamodb:{action}") for n, action in
              enumerate(["GetItem", "BatchGetItem", "Query", "GetItem", "Query"])]
    traces = [_trace(f"1-{n}", fn, calls[n::4]) for n in range(4)]
    table = _table(ACCOUNT_A, "t")
    assert accesses(observe(traces)) == {fn: {
        *(("dynamodb:GetItem", _table(ACCOUNT_A, f"t{n}"), 3, False, True) for n in range(3)),
        ("dynamodb:GetItem", table, 2, True, True),
        ("dynamodb:BatchGetItem", table, 1, True, True),
        ("dynamodb:Query", table, 2, True, True),
    }}


def test_a_call_without_region_takes_its_own_principals_region() -> None:
    # The call records its account but not its region: each principal's region fills it
    # in, whatever principal was seen first.
    east = "arn:aws:lambda:us-east-1:111122223333:function:a"
    west = "arn:aws:lambda:eu-west-1:111122223333:function:b"
    call = {"id": "c", "name": "dynamodb", "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": "GetItem", "account_id": "111122223333", "table_name": "t"}}
    found = accesses(observe([_trace("1-a", east, [call]), _trace("1-b", west, [call])]))
    assert {arn: {a[1] for a in rows} for arn, rows in found.items()} == {
        east: {"arn:aws:dynamodb:us-east-1:111122223333:table/t"},
        west: {"arn:aws:dynamodb:eu-west-1:111122223333:table/t"},
    }


@pytest.mark.parametrize(("url", "recorded", "queue"), [
    # the URL names the queue's region, whatever the call or its principal says
    ("https://sqs.eu-west-1.amazonaws.com/444455556666/jobs", None, "eu-west-1"),
    ("https://sqs.eu-west-1.amazonaws.com/444455556666/jobs", "us-west-2", "eu-west-1"),
    ("https://eu-central-1.queue.amazonaws.com/444455556666/jobs", "us-west-2", "eu-central-1"),
    ("https://queue.amazonaws.com/444455556666/jobs", "eu-west-1", "us-east-1"),  # legacy
    ("https://queue.amazonaws.com./444455556666/jobs", "eu-west-1", "us-east-1"),
    ("https://u:eu-west-1@SQS.AP-SOUTH-1.amazonaws.com:443/444455556666/jobs", "eu-west-1",
     "ap-south-1"),
    # a region newer than botocore's data, where the host's shape says it is one
    ("https://sqs.ap-southeast-99.amazonaws.com/444455556666/jobs", "eu-west-1",
     "ap-southeast-99"),
    ("https://sqs-fips.us-east-2.amazonaws.com/444455556666/jobs", "eu-west-1", "us-east-2"),
    ("https://vpce-0a1b-c2d3.sqs.us-east-2.vpce.amazonaws.com/444455556666/jobs",
     "eu-west-1", "us-east-2"),
    # a host shaped like a region but naming none AWS has: the call's
    ("http://my-sqs-1.internal:9324/444455556666/jobs", "us-west-2", "us-west-2"),
    # one that names none (a local endpoint): the call's region, else the principal's
    ("http://127.0.0.1:4566/444455556666/jobs", "us-west-2", "us-west-2"),
    ("http://127.0.0.1:4566/444455556666/jobs", None, "us-east-1"),
])
def test_a_queue_url_names_the_queue_s_region(url: str, recorded: str | None,
                                               queue: str) -> None:
    principal = "arn:aws:lambda:us-east-1:111122223333:function:a"
    call = {"id": "c", "name": "SQS", "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": "SendMessage", "queue_url": url,
                    **({"region": recorded} if recorded else {})}}
    found = accesses(observe([_trace("1-a", principal, [call])]))
    assert {a[1] for a in found[principal]} == {f"arn:aws:sqs:{queue}:444455556666:jobs"}


def test_s3_calls_on_many_keys_each_name_their_own_object() -> None:
    # One interpretation serves every key of a bucket and request: each key still gets
    # its own ARN, versions their own action, and a copy its own source.
    fn = _function(ACCOUNT_A)
    keys = ["a.txt", "dir/b.txt", "c\x00object-key\x00d", "*", "a.txt"]
    calls = [_call(f"k{n}", "s3", "GetObject", bucket_name="b", key=key)
             for n, key in enumerate(keys)]
    calls += [_call("v", "s3", "GetObject", bucket_name="b", key="e", version_id="1"),
              _call("p", "AmazonS3", "PutObject", bucket_name="other", key="a.txt"),
              _call("cp", "s3", "CopyObject", bucket_name="b", key="f", copy_source="src/g"),
              _call("h", "s3", "HeadObject", bucket_name="b")]
    found = accesses(observe([_trace("1-a", fn, calls[:4]), _trace("1-b", fn, calls[4:])]))
    assert found == {fn: {
        ("s3:GetObject", "arn:aws:s3:::b/a.txt", 2, False, True),
        ("s3:GetObject", "arn:aws:s3:::b/dir/b.txt", 1, False, True),
        ("s3:GetObject", "arn:aws:s3:::b/c\x00object-key\x00d", 1, False, True),
        ("s3:GetObject", "arn:aws:s3:::b/*", 2, False, False),  # "*", and no key
        ("s3:GetObjectVersion", "arn:aws:s3:::b/e", 1, False, True),
        ("s3:PutObject", "arn:aws:s3:::other/a.txt", 1, False, True),
        ("s3:GetObject", "arn:aws:s3:::src/g", 1, False, True),
        ("s3:PutObject", "arn:aws:s3:::b/f", 1, False, True),
    }}


def test_a_bucket_that_holds_the_key_stand_in_is_not_rewritten() -> None:
    fn = _function(ACCOUNT_A)
    bucket = "x\x00object-key\x00y"
    found = accesses(observe([_trace("1-a", fn, [
        _call("k", "s3", "GetObject", bucket_name=bucket, key="k"),
        _call("l", "s3", "ListObjectsV2", bucket_name=bucket, key="k")])]))
    assert found == {fn: {("s3:GetObject", f"arn:aws:s3:::{bucket}/k", 1, False, True),
                          ("s3:ListBucket", f"arn:aws:s3:::{bucket}", 1, False, True)}}
    # the Node SDK's field for the bucket too
    found = accesses(observe([_trace("1-b", fn, [
        _call("m", "S3", "GetObject", bucket=bucket, key="k")])]))
    assert found == {fn: {("s3:GetObject", f"arn:aws:s3:::{bucket}/k", 1, False, True)}}


def test_s3_object_keys_share_one_interpretation(monkeypatch: pytest.MonkeyPatch) -> None:
    # Object keys are unbounded (every upload may name a new one): interpreting each
    # anew was most of the cost of a first pass over real traces.
    interpreted = _count_interpretations(monkeypatch)
    fn = _function(ACCOUNT_A)
    calls = [_call(f"k{n}", "s3", "PutObject", bucket_name="b", key=f"k{n}") for n in range(50)]
    found = accesses(observe([_trace("1-a", fn, calls)]))
    assert len(found[fn]) == 50
    assert interpreted == ["PutObject"]


def test_an_s3_call_with_a_list_field_shares_the_interpretation_too() -> None:
    fn = _function(ACCOUNT_A)
    calls = [_call(f"k{n}", "s3", "GetObject", bucket_name="b", key=f"k{n}",
                   resource_names=["b"]) for n in range(2)]
    assert accesses(observe([_trace("1-a", fn, calls)])) == {fn: {
        ("s3:GetObject", "arn:aws:s3:::b/k0", 1, False, True),
        ("s3:GetObject", "arn:aws:s3:::b/k1", 1, False, True)}}


_TEXT = st.sampled_from(["a", "b/c", "*", "\x00", "\x00object-key\x00", "", "%2F?x"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "operation": st.sampled_from(["GetObject", "PutObject", "HeadObject", "CopyObject",
                                  "ListObjectsV2", "DeleteObject", "GetObjectAttributes"]),
    "bucket_name": _TEXT, "key": st.one_of(_TEXT, st.none(), st.integers()),
    "version_id": st.one_of(st.none(), st.just("v1")),
    "copy_source": st.one_of(st.none(), _TEXT, st.just({"Bucket": "s", "Key": "k"})),
}), min_size=1, max_size=8))
def test_remembered_interpretations_match_interpreting_each_call(
        calls: list[dict[str, object]]) -> None:
    # An empty "annotations" sends a call down the path that interprets it on its own
    fn = _function(ACCOUNT_A)
    built = [_call(f"c{n}", "s3", str(c["operation"]),
                   **{k: v for k, v in c.items() if k != "operation" and v is not None})
             for n, c in enumerate(calls)]
    alone = [dict(call, annotations={}) for call in built]
    assert accesses(observe([_trace("1-a", fn, built)])) == \
        accesses(observe([_trace("1-a", fn, alone)]))


@pytest.mark.parametrize(("name", "operation", "fields", "found"), [
    # SES v2's SendBulkEmail is its own action, not v1's SendBulkTemplatedEmail
    ("SESv2", "SendBulkEmail", {}, {("ses:SendBulkEmail", "*", False)}),
    ("BedrockRuntime", "Converse", {}, {("bedrock:InvokeModel", "*", False)}),
    ("bedrock-runtime", "ConverseStream", {},
     {("bedrock:InvokeModelWithResponseStream", "*", False)}),
    ("ApiGatewayManagementApi", "PostToConnection", {},
     {("execute-api:ManageConnections", "*", False)}),
    ("SecretsManager", "BatchGetSecretValue", {},
     {("secretsmanager:BatchGetSecretValue", "*", True),
      ("secretsmanager:GetSecretValue", "*", False)}),
])
def test_operations_authorised_as_other_actions(name: str, operation: str,
                                                fields: dict[str, object],
                                                found: set[tuple[str, str, bool]]) -> None:
    fn = _function(ACCOUNT_A)
    observed = accesses(observe([_trace("1-a", fn, [_call("c", name, operation, **fields)])]))
    assert {(a[0], a[1], a[4]) for a in observed[fn]} == found


@pytest.mark.parametrize(("region", "partition"), [
    ("us-iso-east-1", "aws-iso"), ("us-isob-east-1", "aws-iso-b"),
    ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-1", "aws"),
])
def test_arns_take_the_partition_of_the_calls_region(region: str, partition: str) -> None:
    fn = f"arn:{partition}:lambda:{region}:{ACCOUNT_A}:function:f"
    calls = [dict(_call("d", "dynamodb", "GetItem", table_name="t"), aws={
                 "operation": "GetItem", "region": region, "table_name": "t"}),
             dict(_call("s", "s3", "GetObject"), aws={
                 "operation": "GetObject", "region": region, "bucket_name": "b", "key": "k"})]
    observed = accesses(observe([_trace("1-a", fn, calls)]))
    assert {a[1] for a in observed[fn]} == {
        f"arn:{partition}:dynamodb:{region}:{ACCOUNT_A}:table/t", f"arn:{partition}:s3:::b/k"}


@pytest.mark.parametrize(("destination", "found"), [
    (f"arn:aws:sns:us-east-1:{ACCOUNT_A}:alerts",
     ("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT_A}:alerts", True)),
    # OpenTelemetry's placeholder for an SMS: a publish to no topic, which IAM
    # authorizes on "*"; and its placeholder for a publish that named no ARN
    ("phone_number:**", ("sns:Publish", "*", True)),
    ("unknown", ("sns:Publish", "*", False)),
])
def test_adot_sns_destination_names_a_topic_only_as_an_arn(
        destination: str, found: tuple[str, str, bool]) -> None:
    fn = _function(ACCOUNT_A)
    call = dict(_call("p", "SNS", "Publish"),
                metadata={"default": {"messaging.destination.name": destination}})
    observed = accesses(observe([_trace("1-a", fn, [call])]))
    assert {(a[0], a[1], a[4]) for a in observed[fn]} == {found}


ACCESS_POINT = f"arn:aws:s3:us-west-2:{ACCOUNT_B}:accesspoint/ap1"


@pytest.mark.parametrize(("operation", "fields", "found"), [
    ("PutObject", {"bucket_name": ACCESS_POINT, "key": "reports/a.csv"},
     ("s3:PutObject", f"{ACCESS_POINT}/object/reports/a.csv", True)),
    ("GetObject", {"bucket": ACCESS_POINT},  # no key recorded
     ("s3:GetObject", f"{ACCESS_POINT}/object/*", False)),
    ("ListObjectsV2", {"bucket_name": ACCESS_POINT}, ("s3:ListBucket", ACCESS_POINT, True)),
    # an Outpost's bucket ARN names no object ARN the trace can spell
    ("GetObject", {"bucket_name": f"arn:aws:s3-outposts:us-west-2:{ACCOUNT_B}:outpost/op-1/"
                                  "bucket/b", "key": "k"}, ("s3:GetObject", "*", False)),
])
def test_an_access_point_given_as_the_bucket_names_its_own_arns(
        operation: str, fields: dict[str, object], found: tuple[str, str, bool]) -> None:
    fn = _function(ACCOUNT_A)
    observed = accesses(observe([_trace("1-a", fn, [_call("c", "s3", operation, **fields)])]))
    assert {(a[0], a[1], a[4]) for a in observed[fn]} == {found}


def test_a_denial_by_a_policy_outside_the_role_is_told_of_per_call() -> None:
    """IAM's newer messages say which policy refused the call: one outside the role's
    own (an SCP, a VPC endpoint policy) is told of, counted per call, whether the call
    was counted with others of its shape or on its own (ADOT's extra fields); the
    role's own identity-based policies are not."""
    fn = _function(ACCOUNT_A)
    table = _table(ACCOUNT_A, "t")

    def refused(call_id: str, why: str, **extra: object) -> dict[str, object]:
        return dict(_call(call_id, "dynamodb", "GetItem", table_name="t"), error=True,
                    cause={"exceptions": [{"type": "ClientError", "message": (
                        "An error occurred (AccessDeniedException) when calling the GetItem "
                        "operation: User: arn:aws:sts::111111111111:assumed-role/r/f is not "
                        f"authorized to perform: dynamodb:GetItem on resource: {table} {why}")}]},
                    **extra)

    scp = "with an explicit deny in a service control policy"
    endpoint = "because no VPC endpoint policy allows the dynamodb:GetItem action"
    own = "because no identity-based policy allows the dynamodb:GetItem action"
    observation = observe([
        _trace("1-a", fn, [refused("c1", scp), refused("c2", own)]),
        _trace("1-b", fn, [refused("c3", scp), refused("c4", endpoint,
                                                        annotations={"team": "a"})])])
    assert accesses(observation) == {fn: {("dynamodb:GetItem", table, 4, True, True)}}
    # the access keeps what refused it, for its finding and the observation's JSON
    [access] = observation.principals[fn].accesses
    assert access.refused_by == ("explicit deny in a service control policy",
                                 "no VPC endpoint policy allows it")
    assert access.to_json()["refused_by"] == list(access.refused_by)
    [notice] = [n for n in observation.notices.items() if n.code == "denied-outside-role"]
    assert notice.count == 3
    assert sorted(notice.examples) == [
        f"{fn} dynamodb:GetItem on {table}: explicit deny in a service control policy",
        f"{fn} dynamodb:GetItem on {table}: no VPC endpoint policy allows it"]


_DENIAL_WORDS = ("with", "an", "explicit", "deny", "in", "a", "service", "control",
                 "policy", "because", "no", "allows", "the", "s3:GetObject", "action",
                 "identity-based", "permissions", "boundary", "VPC", "endpoint", ".", "")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_DENIAL_WORDS), max_size=40))
def test_what_refused_a_call_is_said_in_one_of_iam_s_two_forms(words: list[str]) -> None:
    """Whatever the words, what refused a call is one of IAM's two phrasings, never the
    identity-based policies the scan judges itself."""
    from leastpriv_ci.usage.denied import refused_by

    said = refused_by(" ".join(words))
    assert said is None or (
        said.startswith("explicit deny in a") and said.endswith(("policy", "boundary"))
    ) or (said.startswith("no ") and said.endswith(" allows it"))
    assert said is None or "identity-based" not in said
    # the full sentence IAM writes is found wherever it stands
    sentence = "with an explicit deny in a service control policy"
    assert refused_by(" ".join([*words, ".", sentence])) is not None
