"""Which principal a segment belongs to."""

from __future__ import annotations

import json

from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from leastpriv_ci.usage.documents import node_of
from leastpriv_ci.usage.principals import SERVICE, Principal, detect, function_arn

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _call(call_id: str) -> dict[str, object]:
    return {"id": call_id, "name": "SQS", "namespace": "aws",
            "aws": {"operation": "SendMessage", "region": "us-east-1",
                    "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q"}}


def test_lambda_function_arn_loses_its_qualifier() -> None:
    assert function_arn(f"{FN}:live") == FN
    assert function_arn(FN) == FN
    doc = {"origin": "AWS::Lambda::Function", "aws": {"function_arn": f"{FN}:$LATEST"}}
    assert detect(node_of(doc), {}) == Principal(FN)


def test_function_segment_without_arn_is_named_by_the_lambda_service_segment() -> None:
    service = {"id": "s0", "name": "f", "origin": "AWS::Lambda", "resource_arn": f"{FN}:3"}
    function = {"id": "s1", "name": "f", "origin": "AWS::Lambda::Function", "parent_id": "s0",
                "subsegments": [_call("c1")]}
    trace = RawTrace("1-x", (json.dumps(service), json.dumps(function)), "t")
    observation = observe([trace])
    assert set(observation.principals) == {FN}
    assert observation.principals[FN].accesses[0].action == "sqs:SendMessage"


def test_ecs_task_family_gives_a_task_definition_arn() -> None:
    doc = {"origin": "AWS::ECS::Container",
           "aws": {"ecs": {"task_family": "web"}, "region": "eu-west-1", "account_id": "1"}}
    assert detect(node_of(doc), {}) == Principal("arn:aws:ecs:eu-west-1:1:task-definition/web")


def test_aws_service_segments_are_not_principals() -> None:
    for origin in ("AWS::ApiGateway::Stage", "AWS::StepFunctions::StateMachine", "AWS::SNS"):
        assert detect(node_of({"origin": origin, "name": "x"}), {}) is SERVICE


def test_map_value_that_is_not_a_role_sets_no_role() -> None:
    mapped = "arn:aws:ecs:us-east-1:1:task-definition/web"
    instance = node_of({"name": "web", "origin": "AWS::EC2::Instance"})
    assert detect(instance, {"web": mapped}) == Principal(mapped, None)


def test_caller_does_not_lend_its_principal_to_a_called_service() -> None:
    # An EC2 service called by the function over HTTP is another service, not the function.
    caller = {"id": "s1", "name": "f", "origin": "AWS::Lambda::Function",
              "aws": {"function_arn": FN},
              "subsegments": [{"id": "h1", "name": "backend", "namespace": "remote"}]}
    callee = {"id": "s2", "name": "backend", "origin": "AWS::EC2::Instance", "parent_id": "h1",
              "subsegments": [_call("c2")]}
    observation = observe([RawTrace("1-x", (json.dumps(caller), json.dumps(callee)), "t")])
    assert observation.principals[FN].accesses == ()
    assert observation.notices.count("unattributed") == 1


def test_ecs_task_definition_arn_is_in_the_regions_partition() -> None:
    doc = {"origin": "AWS::ECS::Fargate",
           "aws": {"ecs": {"task_family": "web"}, "region": "cn-north-1", "account_id": "1"}}
    assert detect(node_of(doc), {}) == Principal("arn:aws-cn:ecs:cn-north-1:1:task-definition/web")


def test_every_adot_compute_origin_is_application_code() -> None:
    # ADOT's exporter writes these origins (awsxrayexporter's OriginEC2 … OriginAppRunner);
    # a segment of one that names no principal is unattributed, never an AWS service's own.
    for origin in ("AWS::EC2::Instance", "AWS::ECS::Container", "AWS::ECS::EC2",
                   "AWS::ECS::Fargate", "AWS::EKS::Container",
                   "AWS::ElasticBeanstalk::Environment", "AWS::AppRunner::Service"):
        doc = {"id": "s1", "name": "web", "origin": origin, "subsegments": [_call("c1")]}
        observation = observe([RawTrace("1-x", (json.dumps(doc),), "t")])
        assert observation.notices.count("unattributed") == 1, origin
        mapped = "arn:aws:ecs:us-east-1:1:task-definition/web"
        assert detect(node_of(doc), {"web": mapped}) == Principal(mapped, None), origin
