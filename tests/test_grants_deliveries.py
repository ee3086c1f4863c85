"""What Lambda sends with a function's role (a dead-letter queue, destinations): read
from each source, and counted as uses of the role by the scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.cli import main
from leastpriv_ci.grants.deliveries import (
    delivery_accesses,
    delivery_actions,
    delivery_kinds,
)
from leastpriv_ci.grants.model import Binding, Delivery, ResolveContext
from leastpriv_ci.grants.sources import cloudformation, sam, serverless, terraform
from leastpriv_ci.notices import Notices

ACCOUNT = "123456789012"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-dlq"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders-failures"
BUS = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders"
BUCKET = "arn:aws:s3:::orders-failed-batches"
STREAM = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/orders"


def test_every_delivery_action_is_in_the_catalog_and_every_kind_has_its_actions() -> None:
    catalog = get_catalog()
    for actions in delivery_actions().values():
        for action in actions:
            assert catalog.action(action.action) is not None, action
    for kind in delivery_kinds().values():
        assert set(kind["services"]) <= set(delivery_actions())


def test_deliveries_become_accesses_of_the_action_their_target_takes() -> None:
    bindings = [
        Binding("orders", "R", deliveries=(Delivery("dead-letter", QUEUE),
                                           Delivery("on-failure", BUS),
                                           Delivery("dead-letter", BUS),  # no DLQ is a bus
                                           Delivery("on-success", "<unresolved:x>"),
                                           Delivery("on-success", QUEUE[:-3] + "*"))),
        Binding("billing", "R", deliveries=(Delivery("on-failure", QUEUE),)),
    ]
    found = {(a.action, a.resource, a.principal, a.count) for a in delivery_accesses(bindings)}
    assert found == {
        ("events:PutEvents", BUS, "AWS Lambda (on-failure destination of orders)", 0),
        ("sqs:SendMessage", QUEUE,
         "AWS Lambda (dead-letter queue, on-failure destination of billing, orders)", 0),
    }


def test_an_s3_destination_takes_put_object_on_its_objects_and_list_bucket() -> None:
    """An S3 bucket is an on-failure destination of asynchronous invocations and of event
    source mappings; Lambda needs s3:PutObject and s3:ListBucket on it."""
    bindings = [Binding("orders", "R", deliveries=(Delivery("source-on-failure", BUCKET),
                                                   Delivery("on-success", BUCKET))),
                Binding("billing", "R", deliveries=(Delivery("on-failure", BUCKET),))]
    found = {(a.action, a.resource, a.principal) for a in delivery_accesses(bindings)}
    who = ("AWS Lambda (event source mapping's on-failure destination, on-failure "
           "destination of billing, orders)")
    assert found == {("s3:PutObject", f"{BUCKET}/*", who), ("s3:ListBucket", BUCKET, who)}


def test_event_source_mappings_on_failure_destinations_are_read_from_each_source(
        tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: consumer}\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: consumer\n      Role: !GetAtt Role.Arn\n"
        "  Source:\n    Type: AWS::Lambda::EventSourceMapping\n    Properties:\n"
        f"      FunctionName: consumer:live\n      EventSourceArn: '{STREAM}'\n"
        f"      DestinationConfig: {{OnFailure: {{Destination: '{QUEUE}'}}}}\n")
    grants = cloudformation.load(tmp_path / "template.yaml", ResolveContext(account=ACCOUNT),
                                 Notices())
    assert grants.bindings[0].deliveries == (Delivery("source-on-failure", QUEUE),)

    (tmp_path / "sam.yaml").write_text(  # SAM writes the mapping, and its grant
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Consumer:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      FunctionName: consumer\n      Handler: app.handler\n"
        "      Runtime: python3.12\n      CodeUri: s3://bucket/key\n"
        "      Events:\n        Stream:\n          Type: Kinesis\n          Properties:\n"
        f"            Stream: '{STREAM}'\n            StartingPosition: LATEST\n"
        "            DestinationConfig:\n"
        f"              OnFailure: {{Type: SQS, Destination: '{QUEUE}'}}\n")
    grants = sam.load(tmp_path / "sam.yaml", ResolveContext(account=ACCOUNT), Notices())
    (binding,) = grants.bindings
    assert binding.deliveries == (Delivery("source-on-failure", QUEUE),)
    assert delivery_accesses([binding])[0].action == "sqs:SendMessage"

    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "consumer"\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "consumer"\n'
        '  role = aws_iam_role.r.arn\n}\n'
        'resource "aws_lambda_event_source_mapping" "f" {\n'
        '  function_name = aws_lambda_function.f.arn\n'
        f'  event_source_arn = "{STREAM}"\n'
        '  destination_config {\n'
        f'    on_failure {{\n      destination_arn = "{BUCKET}"\n    }}\n  }}\n}}\n')
    grants = terraform.load(tmp_path / "main.tf", ResolveContext(account=ACCOUNT,
                                                                  region="us-east-1"),
                            Notices())
    assert grants.bindings[0].deliveries == (Delivery("source-on-failure", BUCKET),)

    (tmp_path / "serverless.yml").write_text(
        "service: orders\nframeworkVersion: '3'\nprovider:\n  name: aws\n"
        "  region: us-east-1\n"
        "functions:\n  consume:\n    handler: h.h\n    events:\n"
        f"      - stream:\n          arn: {STREAM}\n"
        f"          destinations:\n            onFailure: {TOPIC}\n"
        f"      - stream:\n          arn: {STREAM}-2\n"
        "          destinations:\n            onFailure:\n              type: sqs\n"
        "              arn: {'Fn::GetAtt': [Failed, Arn]}\n"
        "resources:\n  Resources:\n    Failed:\n      Type: AWS::SQS::Queue\n"
        "      Properties: {QueueName: orders-dlq}\n")
    grants = serverless.load(tmp_path / "serverless.yml", ResolveContext(account=ACCOUNT),
                             Notices())
    (binding,) = grants.bindings
    assert binding.deliveries == (Delivery("source-on-failure", TOPIC),
                                  Delivery("source-on-failure", QUEUE))


def test_a_mapping_of_a_function_s_alias_is_a_mapping_of_the_function(tmp_path: Path) -> None:
    """SAM's AutoPublishAlias points the event source mapping at the alias (``Ref`` of an
    AWS::Lambda::Alias): its on-failure destination is still the function's."""
    (tmp_path / "sam.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Consumer:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      FunctionName: consumer\n      Handler: app.handler\n"
        "      Runtime: python3.12\n      CodeUri: s3://bucket/key\n"
        "      AutoPublishAlias: live\n"
        "      Events:\n        Stream:\n          Type: Kinesis\n          Properties:\n"
        f"            Stream: '{STREAM}'\n            StartingPosition: LATEST\n"
        "            DestinationConfig:\n"
        f"              OnFailure: {{Type: SQS, Destination: '{QUEUE}'}}\n")
    grants = sam.load(tmp_path / "sam.yaml", ResolveContext(account=ACCOUNT), Notices())
    (binding,) = grants.bindings
    assert binding.deliveries == (Delivery("source-on-failure", QUEUE),)


def test_cloudformation_and_sam_read_dead_letter_queues_and_destinations(
        tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: consumer}\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: consumer\n      Role: !GetAtt Role.Arn\n"
        f"      DeadLetterConfig: {{TargetArn: '{QUEUE}'}}\n"
        "  Invoke:\n    Type: AWS::Lambda::EventInvokeConfig\n    Properties:\n"
        "      FunctionName: !Ref Fn\n      Qualifier: $LATEST\n"
        f"      DestinationConfig: {{OnFailure: {{Destination: '{TOPIC}'}}}}\n")
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT), Notices())
    (binding,) = grants.bindings
    assert binding.deliveries == (Delivery("dead-letter", QUEUE),
                                  Delivery("on-failure", TOPIC))
    sam_path = tmp_path / "sam.yaml"
    sam_path.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Consumer:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      FunctionName: consumer\n      Handler: app.handler\n"
        "      Runtime: python3.12\n      CodeUri: s3://bucket/key\n"
        f"      DeadLetterQueue: {{Type: SQS, TargetArn: '{QUEUE}'}}\n"
        "      EventInvokeConfig:\n        DestinationConfig:\n"
        f"          OnFailure: {{Type: SNS, Destination: '{TOPIC}'}}\n")
    grants = sam.load(sam_path, ResolveContext(account=ACCOUNT), Notices())
    (binding,) = grants.bindings
    assert set(binding.deliveries) == {Delivery("dead-letter", QUEUE),
                                       Delivery("on-failure", TOPIC)}


def test_serverless_reads_on_error_and_destinations(tmp_path: Path) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(
        "service: billing\nframeworkVersion: '3'\nprovider:\n  name: aws\n"
        "  region: us-east-1\n"
        "functions:\n"
        f"  api:\n    handler: h.h\n    onError: {TOPIC}\n"
        "    destinations:\n      onSuccess: audit\n"
        f"      onFailure: {{type: eventBus, arn: '{BUS}'}}\n"
        "  audit:\n    handler: h.audit\n")
    grants = serverless.load(path, ResolveContext(account=ACCOUNT), Notices())
    api = next(b for b in grants.bindings if b.function == "billing-dev-api")
    assert api.deliveries == (
        Delivery("dead-letter", TOPIC), Delivery("on-failure", BUS),
        Delivery("on-success", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:billing-dev-audit"))


def test_terraform_reads_dead_letter_config_and_event_invoke_configs(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_sqs_queue" "dlq" {\n  name = "orders-dlq"\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "consumer"\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "consumer"\n'
        '  role = aws_iam_role.r.arn\n'
        '  dead_letter_config {\n    target_arn = aws_sqs_queue.dlq.arn\n  }\n}\n'
        'resource "aws_lambda_function_event_invoke_config" "f" {\n'
        '  function_name = aws_lambda_function.f.function_name\n'
        '  destination_config {\n'
        f'    on_failure {{\n      destination = "{TOPIC}"\n    }}\n  }}\n}}\n')
    grants = terraform.load(tmp_path / "main.tf", ResolveContext(account=ACCOUNT,
                                                                  region="us-east-1"),
                            Notices())
    (binding,) = grants.bindings
    assert binding.deliveries == (Delivery("dead-letter", QUEUE),
                                  Delivery("on-failure", TOPIC))


@pytest.mark.parametrize(("resource", "excess"), [
    (QUEUE, set()),  # the dead-letter queue's own grant is used by Lambda
    ("*", {"sqs:SendMessage"}),  # broader: narrowed to the queue
])
def test_a_dead_letter_queue_grant_is_a_use_and_stays_in_the_proposal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        resource: str, excess: set[str]) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: consumer\n"
        "      Policies:\n        - PolicyName: p\n          PolicyDocument:\n"
        "            Statement:\n"
        "              - {Effect: Allow, Action: dynamodb:GetItem, Resource: '*'}\n"
        f"              - {{Effect: Allow, Action: sqs:SendMessage, Resource: '{resource}'}}\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: consumer\n      Role: !GetAtt Role.Arn\n"
        f"      DeadLetterConfig: {{TargetArn: '{QUEUE}'}}\n")
    _enter_with_consumer_trace(tmp_path, monkeypatch)
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "template.yaml",
                 "--format", "json", "--account", ACCOUNT])
    report = json.loads(capsys.readouterr().out)
    assert {f["action"] for f in report["findings"] if f["kind"] == "excess"} \
        == {"dynamodb:GetItem"} | excess  # GetItem: granted on *, used on one table
    statements = report["proposals"][f"arn:aws:iam::{ACCOUNT}:role/consumer"]["Statement"]
    assert {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE} in statements
    assert not [f for f in report["findings"] if f["kind"] == "missing"]
    assert code == 0


def test_a_grant_on_some_of_an_s3_destination_s_objects_is_a_use_not_excess(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Lambda chooses the keys of the records it writes: a grant on part of the bucket's
    objects (its aws/lambda/ prefix) may be the one it writes with; removing it, as an
    excess finding would say, loses the records."""
    (tmp_path / ".git").mkdir()
    _write_s3_destination_template(tmp_path, [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/aws/lambda/*"}])
    _enter_with_consumer_trace(tmp_path, monkeypatch)
    main(["scan", "--traces", "traces.json", "--policy-paths", "template.yaml",
          "--format", "json", "--account", ACCOUNT])
    report = json.loads(capsys.readouterr().out)
    assert {f["action"] for f in report["findings"] if f["kind"] == "excess"} \
        == {"dynamodb:GetItem"}


VPCE = {"StringEquals": {"aws:SourceVpce": "vpce-1"}}


@pytest.mark.parametrize(("declared", "proposed", "broad"), [
    # the role's prefix is where Lambda writes: kept, not widened to the bucket
    ([{"Resource": f"{BUCKET}/aws/lambda/*"}], [{"Resource": f"{BUCKET}/aws/lambda/*"}],
     False),
    # each narrower grant kept, a conditioned one under its Condition
    ([{"Resource": f"{BUCKET}/failures/*", "Condition": VPCE},
      {"Resource": f"{BUCKET}/aws/*"}],
     [{"Resource": f"{BUCKET}/failures/*", "Condition": VPCE},
      {"Resource": f"{BUCKET}/aws/*"}], False),
    # one across buckets: its part within this one
    ([{"Resource": "arn:aws:s3:::*/aws/lambda/*"}],
     [{"Resource": [f"{BUCKET}/*/aws/lambda/*", f"{BUCKET}/aws/lambda/*"]}], False),
    # broader grants narrowed to the bucket's objects, a conditioned one kept so
    ([{"Resource": "*"}], [{"Resource": f"{BUCKET}/*"}], True),
    ([{"Resource": "arn:aws:s3:::*", "Condition": VPCE}],
     [{"Resource": f"{BUCKET}/*", "Condition": VPCE}], True),
])
def test_the_proposal_for_an_s3_destination_grants_no_more_than_the_role_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        declared: list[dict[str, object]], proposed: list[dict[str, object]],
        broad: bool) -> None:
    """Lambda writes to the destination under keys it chooses, recorded as a use of
    `BUCKET/*`; a role granting s3:PutObject on part of the bucket only must not be
    proposed the whole bucket (it used to be: adopting the proposal widened the role)."""
    put = [{"Effect": "Allow", "Action": "s3:PutObject", **s} for s in declared]
    (tmp_path / ".git").mkdir()
    _write_s3_destination_template(tmp_path, put)
    _enter_with_consumer_trace(tmp_path, monkeypatch)
    main(["scan", "--traces", "traces.json", "--policy-paths", "template.yaml",
          "--format", "json", "--account", ACCOUNT])
    report = json.loads(capsys.readouterr().out)
    statements = report["proposals"][f"arn:aws:iam::{ACCOUNT}:role/consumer"]["Statement"]
    assert [s for s in statements if s["Action"] == "s3:PutObject"] == [
        {"Effect": "Allow", "Action": "s3:PutObject", **s} for s in proposed]
    assert {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET} in statements
    assert {f["action"] for f in report["findings"] if f["kind"] == "excess"} \
        == {"dynamodb:GetItem", *(["s3:PutObject"] if broad else [])}


def _enter_with_consumer_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write a trace of function ``consumer`` reading one table, and enter ``tmp_path``."""
    segment = {"id": "00000000000000a1", "name": "consumer", "start_time": 1.0,
               "end_time": 2.0, "trace_id": "1-00000000-000000000000000000000001",
               "origin": "AWS::Lambda::Function",
               "aws": {"function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:consumer"},
               "subsegments": [{"id": "00000000000000b1", "name": "DynamoDB",
                                "namespace": "aws", "start_time": 1.0, "end_time": 1.5,
                                "aws": {"operation": "GetItem", "region": "us-east-1",
                                        "table_name": "orders"}}]}
    (tmp_path / "traces.json").write_text(json.dumps({"Traces": [{
        "Id": segment["trace_id"],
        "Segments": [{"Id": segment["id"], "Document": json.dumps(segment)}]}]}))
    monkeypatch.chdir(tmp_path)


def _write_s3_destination_template(tmp_path: Path, put: list[dict[str, object]]) -> None:
    """A template whose function ``consumer`` has a stream event source mapping with an S3
    on-failure destination, its role granting GetItem on *, ``put`` and ListBucket."""
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: consumer\n"
        "      Policies:\n        - PolicyName: p\n          PolicyDocument:\n"
        "            Statement:\n"
        "              - {Effect: Allow, Action: dynamodb:GetItem, Resource: '*'}\n"
        + "".join(f"              - {json.dumps(s)}\n" for s in put) +
        f"              - {{Effect: Allow, Action: s3:ListBucket, Resource: '{BUCKET}'}}\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: consumer\n      Role: !GetAtt Role.Arn\n"
        "  Source:\n    Type: AWS::Lambda::EventSourceMapping\n    Properties:\n"
        f"      FunctionName: !Ref Fn\n      EventSourceArn: '{STREAM}'\n"
        f"      DestinationConfig: {{OnFailure: {{Destination: '{BUCKET}'}}}}\n")
