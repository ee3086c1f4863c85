"""Real aws-xray-sdk traces of real boto3 calls against the moto server → observed accesses."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterator

import pytest
from aws_xray_sdk.core import patch, xray_recorder

from leastpriv_ci.demo.recording import MemoryEmitter
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import accesses

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:orders-fn"
ACCOUNT = "123456789012"
REGION = "us-east-1"



@pytest.fixture
def emitter() -> Iterator[MemoryEmitter]:
    capture = MemoryEmitter()
    xray_recorder.configure(emitter=capture, sampling=False, context_missing="IGNORE_ERROR",
                            streaming_threshold=100)
    patch(["botocore"])
    yield capture
    xray_recorder.configure(streaming_threshold=100)


def _traces(documents: list[str]) -> list[RawTrace]:
    by_trace: dict[str, list[str]] = defaultdict(list)
    for doc in documents:
        by_trace[json.loads(doc)["trace_id"]].append(doc)
    return [RawTrace(tid, tuple(docs), f"sdk:{tid}") for tid, docs in by_trace.items()]


def _setup(aws: Emulator) -> dict[str, str]:
    """Resources the function uses, created outside any segment (so not traced)."""
    ddb = aws.client("dynamodb")
    for table in ("orders", "customers"):
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                  {"AttributeName": "c", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[{"IndexName": "by-c", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}]}],
        )
    s3 = aws.client("s3")
    for bucket in ("src", "dst"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    queue = aws.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
    topic = aws.client("sns").create_topic(Name="events")["TopicArn"]
    aws.client("secretsmanager").create_secret(Name="db-password", SecretString="x")
    aws.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("h.py", "def h(event, context):\n    return 1\n")
    aws.client("lambda").create_function(
        FunctionName="target", Runtime="python3.12", Handler="h.h",
        Code={"ZipFile": code.getvalue()}, Role=f"arn:aws:iam::{ACCOUNT}:role/fn-role",
    )
    version = aws.client("lambda").publish_version(FunctionName="target")["Version"]
    aws.client("lambda").create_alias(FunctionName="target", Name="live",
                                      FunctionVersion=version)
    deny = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "kms:DescribeKey",
                           "Resource": "*"}]}
    key = aws.client("kms").create_key(Policy=json.dumps(deny))["KeyMetadata"]["KeyId"]
    return {"queue": queue, "topic": topic, "key": key}


def _function_body(aws: Emulator, made: dict[str, str]) -> None:
    ddb = aws.client("dynamodb")
    ddb.put_item(TableName="orders", Item={"id": {"S": "1"}, "c": {"S": "a"}})
    ddb.get_item(TableName="orders", Key={"id": {"S": "1"}})
    ddb.query(TableName="orders", IndexName="by-c", KeyConditionExpression="c = :c",
              ExpressionAttributeValues={":c": {"S": "a"}})
    ddb.batch_get_item(RequestItems={"orders": {"Keys": [{"id": {"S": "1"}}]},
                                     "customers": {"Keys": [{"id": {"S": "9"}}]}})
    ddb.batch_write_item(RequestItems={
        "orders": [{"PutRequest": {"Item": {"id": {"S": "2"}}}}],
        "customers": [{"DeleteRequest": {"Key": {"id": {"S": "9"}}}}],
    })
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName="missing", Key={"id": {"S": "1"}})  # not found is still use

    s3 = aws.client("s3")
    version = s3.put_object(Bucket="src", Key="a.txt", Body=b"hello")["VersionId"]
    s3.get_object(Bucket="src", Key="a.txt")
    s3.get_object(Bucket="src", Key="a.txt", VersionId=version)
    s3.head_object(Bucket="src", Key="a.txt")
    s3.list_objects_v2(Bucket="src")
    s3.copy_object(Bucket="dst", Key="b.txt", CopySource={"Bucket": "src", "Key": "a.txt"})

    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=made["queue"], MessageBody="one")
    sqs.send_message_batch(QueueUrl=made["queue"], Entries=[
        {"Id": "1", "MessageBody": "two"}, {"Id": "2", "MessageBody": "three"}])
    sqs.receive_message(QueueUrl=made["queue"])

    sns = aws.client("sns")
    sns.publish(TopicArn=made["topic"], Message="hi")
    sns.publish_batch(TopicArn=made["topic"], PublishBatchRequestEntries=[
        {"Id": "1", "Message": "a"}])

    aws.client("lambda").invoke(FunctionName="target:$LATEST", Payload=b"{}")
    # the alias in its own parameter: authorized on the alias's ARN
    aws.client("lambda").invoke(FunctionName="target", Qualifier="live", Payload=b"{}")
    aws.client("secretsmanager").get_secret_value(SecretId="db-password")
    # a dataset is PutMetricData's one optional resource type: without one, IAM
    # authorizes the call on "*"
    aws.client("cloudwatch").put_metric_data(
        Namespace="orders", MetricData=[{"MetricName": "placed", "Value": 1.0}])
    kms = aws.client("kms")
    with pytest.raises(kms.exceptions.ClientError):
        kms.describe_key(KeyId=made["key"])


def _run(aws: Emulator, emitter: MemoryEmitter) -> list[RawTrace]:
    made = _setup(aws)
    segment = xray_recorder.begin_segment("orders-fn")
    segment.origin = "AWS::Lambda::Function"
    segment.set_aws({"function_arn": f"{FUNCTION}:live"})  # a qualified ARN: stripped
    try:
        _function_body(aws, made)
    finally:
        xray_recorder.end_segment()
    return _traces(emitter.documents)


def _arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


EXPECTED = {
    ("dynamodb:PutItem", _arn("dynamodb", "table/orders"), 1, False, True),
    ("dynamodb:GetItem", _arn("dynamodb", "table/orders"), 1, False, True),
    ("dynamodb:GetItem", _arn("dynamodb", "table/missing"), 1, False, True),
    ("dynamodb:Query", _arn("dynamodb", "table/orders/index/by-c"), 1, False, True),
    ("dynamodb:BatchGetItem", _arn("dynamodb", "table/orders"), 1, False, True),
    ("dynamodb:BatchGetItem", _arn("dynamodb", "table/customers"), 1, False, True),
    ("dynamodb:BatchWriteItem", _arn("dynamodb", "table/orders"), 1, False, True),
    ("dynamodb:BatchWriteItem", _arn("dynamodb", "table/customers"), 1, False, True),
    ("s3:PutObject", "arn:aws:s3:::src/a.txt", 1, False, True),
    ("s3:GetObject", "arn:aws:s3:::src/a.txt", 2, False, True),  # GetObject + CopyObject source
    ("s3:GetObjectVersion", "arn:aws:s3:::src/a.txt", 1, False, True),
    # The Python SDK records nothing for HeadObject: action known, resource not.
    ("s3:GetObject", "*", 1, False, False),
    ("s3:ListBucket", "arn:aws:s3:::src", 1, False, True),
    ("s3:PutObject", "arn:aws:s3:::dst/b.txt", 1, False, True),
    ("sqs:SendMessage", _arn("sqs", "jobs"), 2, False, True),
    ("sqs:ReceiveMessage", _arn("sqs", "jobs"), 1, False, True),
    ("sns:Publish", _arn("sns", "events"), 2, False, True),
    ("lambda:InvokeFunction", _arn("lambda", "function:target"), 1, False, True),
    ("lambda:InvokeFunction", _arn("lambda", "function:target:live"), 1, False, True),
    ("secretsmanager:GetSecretValue", "*", 1, False, False),
    ("cloudwatch:PutMetricData", "*", 1, False, True),
    ("kms:DescribeKey", "*", 1, True, False),
}


def test_python_sdk_calls_become_exact_accesses(aws: Emulator, emitter: MemoryEmitter) -> None:
    traces = _run(aws, emitter)
    observation = observe(traces)
    assert accesses(observation) == {FUNCTION: EXPECTED}
    usage = observation.principals[FUNCTION]
    assert usage.traces == 1
    # the SDK records its client's region on every call
    assert {(a.regions, a.region_known) for a in usage.accesses} == {((REGION,), True)}
    assert observation.notices.count("unknown-resource") == 3


def test_streamed_subsegments_join_their_parent(aws: Emulator, emitter: MemoryEmitter) -> None:
    # With a low threshold the SDK sends finished subsegments as their own documents.
    xray_recorder.configure(streaming_threshold=1)
    traces = _run(aws, emitter)
    standalone = [d for t in traces for d in t.segments
                  if json.loads(d).get("type") == "subsegment"]
    assert standalone, "the recorder should have streamed subsegments on their own"
    assert accesses(observe(traces)) == {FUNCTION: EXPECTED}


def test_denied_call_is_marked_denied_not_used(aws: Emulator, emitter: MemoryEmitter) -> None:
    traces = _run(aws, emitter)
    denied = [a for a in observe(traces).principals[FUNCTION].accesses if a.denied]
    assert [(a.action, a.resource) for a in denied] == [("kms:DescribeKey", "*")]


def test_python_sdk_calls_to_the_other_listed_services(aws: Emulator,
                                                      emitter: MemoryEmitter) -> None:
    # The Python SDK records operation and region, but no resource name, for these
    # services (its parameter whitelist covers DynamoDB, S3, SQS, SNS and Lambda only):
    # each call is its IAM action on "*", marked resource-unknown where the action has
    # resource types. It names subsegments by endpoint prefix: Step Functions "states",
    # SES "email". sts:GetCallerIdentity needs no permission: not counted, but named.
    aws.client("s3").create_bucket(Bucket="sink")
    aws.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    aws.client("firehose").create_delivery_stream(
        DeliveryStreamName="to-sink", ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose", "BucketARN": "arn:aws:s3:::sink"})
    aws.client("ssm").put_parameter(Name="/app/url", Value="x", Type="String")
    aws.client("events").create_event_bus(Name="orders")
    machine = aws.client("stepfunctions").create_state_machine(
        name="flow", roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    aws.client("ses").verify_email_identity(EmailAddress="shop@example.com")
    segment = xray_recorder.begin_segment("orders-fn")
    segment.origin = "AWS::Lambda::Function"
    segment.set_aws({"function_arn": FUNCTION})
    try:
        aws.client("kinesis").put_record(StreamName="clicks", Data=b"x", PartitionKey="k")
        aws.client("kinesis").put_records(StreamName="clicks",
                                          Records=[{"Data": b"x", "PartitionKey": "k"}])
        aws.client("firehose").put_record_batch(DeliveryStreamName="to-sink",
                                                Records=[{"Data": b"x"}])
        aws.client("ssm").get_parameter(Name="/app/url")
        aws.client("events").put_events(Entries=[{"Source": "shop", "DetailType": "order",
                                                  "Detail": "{}", "EventBusName": "orders"}])
        aws.client("stepfunctions").start_execution(stateMachineArn=machine, input="{}")
        aws.client("sts").get_caller_identity()
        aws.client("ses").send_email(
            Source="shop@example.com", Destination={"ToAddresses": ["a@example.com"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
    finally:
        xray_recorder.end_segment()
    notices = Notices()
    found = accesses(observe(_traces(emitter.documents), notices=notices))
    assert found == {FUNCTION: {
        ("kinesis:PutRecord", "*", 1, False, False),
        ("kinesis:PutRecords", "*", 1, False, False),
        ("firehose:PutRecordBatch", "*", 1, False, False),
        ("ssm:GetParameter", "*", 1, False, False),
        ("events:PutEvents", "*", 1, False, False),
        ("states:StartExecution", "*", 1, False, False),
        ("ses:SendEmail", "*", 1, False, False),
    }}
    [notice] = [n for n in notices.items() if n.code == "needs-no-permission"]
    assert notice.examples == ("sts:GetCallerIdentity",)


def test_transactions_and_partiql_from_the_python_sdk(aws: Emulator,
                                                      emitter: MemoryEmitter) -> None:
    # A transactional read is a GetItem per item; what a write transaction or a PartiQL
    # statement needs depends on its request, which the trace does not hold: not counted
    # as use, but as possibly needing each action (on "*": this SDK names no table).
    _setup(aws)
    ddb = aws.client("dynamodb")
    segment = xray_recorder.begin_segment("orders-fn")
    segment.origin = "AWS::Lambda::Function"
    segment.set_aws({"function_arn": FUNCTION})
    try:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "orders",
                                                       "Key": {"id": {"S": "1"}}}}])
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "orders",
                                                         "Item": {"id": {"S": "2"}}}}])
        ddb.execute_statement(Statement="SELECT * FROM orders")
    finally:
        xray_recorder.end_segment()
    observation = observe(_traces(emitter.documents))
    assert accesses(observation) == {FUNCTION: {("dynamodb:GetItem", "*", 1, False, False)}}
    assert {(a.action, a.resource, a.resource_known)
            for a in observation.principals[FUNCTION].possible} == {
        (f"dynamodb:{name}", "*", False) for name in (
            "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "PartiQLSelect",
            "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete")}
    (notice,) = [n for n in observation.notices.items()
                 if n.code == "request-dependent-operation"]
    assert notice.count == 2
    assert set(notice.examples) == {
        "dynamodb:TransactWriteItems (needs some of dynamodb:PutItem, dynamodb:UpdateItem, "
        "dynamodb:DeleteItem, dynamodb:ConditionCheckItem)",
        "dynamodb:ExecuteStatement (needs some of dynamodb:PartiQLSelect, "
        "dynamodb:PartiQLInsert, dynamodb:PartiQLUpdate, dynamodb:PartiQLDelete)",
    }


def test_sagemaker_endpoint_names_are_lower_case_in_their_arns(aws: Emulator,
                                                                emitter: MemoryEmitter) -> None:
    # SageMaker keeps resource names in its ARNs in lower case, and IAM authorizes
    # InvokeEndpoint on that ARN: a grant spelled "endpoint/Fraud-Model" would not match.
    segment = xray_recorder.begin_segment("orders-fn")
    segment.origin = "AWS::Lambda::Function"
    segment.set_aws({"function_arn": FUNCTION})
    try:
        aws.client("sagemaker-runtime").invoke_endpoint(EndpointName="Fraud-Model", Body=b"{}")
    finally:
        xray_recorder.end_segment()
    found = accesses(observe(_traces(emitter.documents)))
    assert found == {FUNCTION: {
        ("sagemaker:InvokeEndpoint", _arn("sagemaker", "endpoint/fraud-model"), 1, False, True),
    }}


def test_calls_made_as_an_assumed_role_show_as_the_function_s_own(
    aws: Emulator, emitter: MemoryEmitter,
) -> None:
    """Role chaining: the trace does not say which credentials signed a call, so the
    analysis warns that the role's missing findings may be the assumed role's."""
    from leastpriv_ci.analysis import analyse
    from leastpriv_ci.analysis.chaining import ASSUMES_ROLES, UNNAMED
    from leastpriv_ci.policy.model import Policy, Role, Statement

    aws.client("iam").create_role(RoleName="reports-role", AssumeRolePolicyDocument="{}")
    aws.client("dynamodb").create_table(
        TableName="reports", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    assumed = f"arn:aws:iam::{ACCOUNT}:role/reports-role"
    segment = xray_recorder.begin_segment("orders-fn")
    segment.origin = "AWS::Lambda::Function"
    segment.set_aws({"function_arn": FUNCTION})
    try:
        credentials = aws.client("sts").assume_role(
            RoleArn=assumed, RoleSessionName="reports")["Credentials"]
        as_reports = aws.client(
            "dynamodb", aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"])
        as_reports.put_item(TableName="reports", Item={"id": {"S": "1"}})
    finally:
        xray_recorder.end_segment()
    observation = observe(_traces(emitter.documents))
    # the Python SDK records no RoleArn; the put shows as the function's own call
    assert accesses(observation) == {FUNCTION: {
        ("sts:AssumeRole", "*", 1, False, False),
        ("dynamodb:PutItem", _arn("dynamodb", "table/reports"), 1, False, True)}}

    role_key = f"arn:aws:iam::{ACCOUNT}:role/orders-fn-role"
    role = Role(key=role_key, name="orders-fn-role", policies=(Policy(name="own", statements=(
        Statement(effect="Allow", actions=("sts:AssumeRole",), resources=(assumed,)),)),))
    analysis = analyse(observation, {role_key: role}, {FUNCTION: role_key})
    assert [(f.kind, f.action) for f in analysis.findings if f.kind == "missing"] == [
        ("missing", "dynamodb:PutItem")]
    [notice] = [n for n in analysis.notices.items() if n.code == ASSUMES_ROLES]
    assert notice.examples == (f"{role_key} assumed {UNNAMED} (1 finding)",)
