from __future__ import annotations

import re
from typing import Any

import pytest

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.cfn_yaml import loads_cfn_yaml
from leastpriv_ci.grants.intrinsics import (
    TemplateResolver,
    _physical_pattern,
    check_expansion,
    resource_rules,
)
from leastpriv_ci.grants.model import ResolveContext, StackResource
from leastpriv_ci.grants.optional_fields import FIELD
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import is_unresolved

TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev}
  Ids: {Type: CommaDelimitedList, Default: "a, b"}
  Secret: {Type: String}
  Version: {Type: "AWS::SSM::Parameter::Value<String>", Default: /cdk/version}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Either: !Or [!Condition IsProd, !Equals [!Ref Secret, x]]
  Both: !And [!Condition IsProd, !Equals [!Ref Secret, x]]
Mappings:
  Sizes: {dev: {Table: small}}
  Accounts:
    111122223333: {Bucket: acct-bucket, 443: https}
Resources:
  Table: {Type: AWS::DynamoDB::Table, Properties: {TableName: !Sub "orders-${Stage}"}}
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: jobs}}
  Anonymous: {Type: AWS::SQS::Queue}
  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: alerts}}
  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: !Join ["-", [files, !Ref Stage]]}}
  Fn: {Type: AWS::Lambda::Function, Properties: {FunctionName: api}}
  Secretx: {Type: AWS::SecretsManager::Secret, Properties: {Name: db}}
  Stream: {Type: AWS::Kinesis::Stream, Properties: {Name: clicks}}
  Logs: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: /aws/lambda/api}}
  Machine: {Type: AWS::StepFunctions::StateMachine, Properties: {StateMachineName: flow}}
  Key: {Type: AWS::KMS::Key}
  Bus: {Type: AWS::Events::EventBus, Properties: {Name: orders}}
  Rule: {Type: AWS::Events::Rule, Properties: {Name: nightly}}
  BusRule: {Type: AWS::Events::Rule, Properties: {Name: paid, EventBusName: !Ref Bus}}
  DefaultRule: {Type: AWS::Events::Rule, Properties: {Name: daily, EventBusName: default}}
  ArnRule:
    Type: AWS::Events::Rule
    Properties: {Name: shipped, EventBusName: !GetAtt Bus.Arn}
  ForeignRule:
    Type: AWS::Events::Rule
    Properties: {Name: x, EventBusName: "arn:aws:events:eu-west-1:444455556666:event-bus/o"}
  GeneratedRule: {Type: AWS::Events::Rule, Properties: {EventBusName: !Ref Bus}}
  Users: {Type: AWS::Cognito::UserPool}
  Sockets: {Type: AWS::ApiGatewayV2::Api, Properties: {Name: chat, ProtocolType: WEBSOCKET}}
  Graph: {Type: AWS::AppSync::GraphQLApi, Properties: {Name: notes, AuthenticationType: AWS_IAM}}
  Files: {Type: AWS::EFS::FileSystem}
  Search: {Type: AWS::OpenSearchService::Domain, Properties: {DomainName: notes}}
  Build: {Type: AWS::CodeBuild::Project, Properties: {Name: deploy}}
  Role: {Type: AWS::IAM::Role, Properties: {RoleName: app, Path: /svc/}}
  Loop: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt Loop.QueueName}}
  Notes: {Type: AWS::RDS::DBCluster, Properties: {DBClusterIdentifier: !Sub 'Notes-${Stage}'}}
  Replica: {Type: AWS::RDS::DBInstance, Properties: {DBInstanceIdentifier: Replica1}}
  Model: {Type: AWS::SageMaker::Endpoint, Properties: {EndpointName: LaBSE-Endpoint}}
  AnyModel: {Type: AWS::SageMaker::Endpoint}
  Queries: {Type: AWS::Athena::WorkGroup, Properties: {Name: reports}}
"""


def resolve(value: str, parameters: dict[str, str] | None = None) -> tuple[Any, Notices]:
    template = loads_cfn_yaml(TEMPLATE)
    notices = Notices()
    context = ResolveContext(region="eu-west-1", account="111122223333",
                             parameters=parameters or {})
    resolver = TemplateResolver(template, context, notices, "t.yaml")
    return resolver.resolve(loads_cfn_yaml(f"V: {value}")["V"]), notices


@pytest.mark.parametrize(("expression", "expected"), [
    ("!Ref Stage", "dev"),
    ("!Ref Ids", ["a", "b"]),
    ("!Ref AWS::Region", "eu-west-1"),
    ("!Sub '${AWS::Partition}:${AWS::AccountId}:${AWS::URLSuffix}'",
     "aws:111122223333:amazonaws.com"),
    ("!Ref Table", "orders-dev"),
    ("!GetAtt Table.Arn", "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-dev"),
    ("!Sub '${Table.Arn}/index/*'",
     "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-dev/index/*"),
    ("!Ref Queue", "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs"),
    ("!GetAtt Queue.Arn", "arn:aws:sqs:eu-west-1:111122223333:jobs"),
    ("!Ref Topic", "arn:aws:sns:eu-west-1:111122223333:alerts"),
    ("!Ref Bucket", "files-dev"),
    ("!GetAtt Bucket.Arn", "arn:aws:s3:::files-dev"),
    ("!GetAtt Fn.Arn", "arn:aws:lambda:eu-west-1:111122223333:function:api"),
    ("!Ref Secretx", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-??????"),
    ("!GetAtt Stream.Arn", "arn:aws:kinesis:eu-west-1:111122223333:stream/clicks"),
    ("!GetAtt Logs.Arn", "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/api:*"),
    ("!Ref Machine", "arn:aws:states:eu-west-1:111122223333:stateMachine:flow"),
    ("!GetAtt Bus.Arn", "arn:aws:events:eu-west-1:111122223333:event-bus/orders"),
    ("!GetAtt Role.Arn", "arn:aws:iam::111122223333:role/svc/app"),
    ("!Sub '${Search.Arn}/*'", "arn:aws:es:eu-west-1:111122223333:domain/notes/*"),
    ("!GetAtt Build.Arn", "arn:aws:codebuild:eu-west-1:111122223333:project/deploy"),
    # RDS keeps identifiers in lowercase, and so do their ARNs; Ref keeps the case given
    ("!Ref Notes", "Notes-dev"),
    ("!GetAtt Notes.DBClusterArn", "arn:aws:rds:eu-west-1:111122223333:cluster:notes-dev"),
    ("!GetAtt Replica.DBInstanceArn", "arn:aws:rds:eu-west-1:111122223333:db:replica1"),
    # SageMaker writes an endpoint's name into its ARN in lowercase
    ("!Ref Model", "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/labse-endpoint"),
    ("!GetAtt Model.EndpointName", "LaBSE-Endpoint"),
    ("!Sub 'arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${Queries}'",
     "arn:aws:athena:eu-west-1:111122223333:workgroup/reports"),
    # a rule on a custom event bus: Ref gives BUS|RULE, its ARN names the bus
    ("!Ref Rule", "nightly"),
    ("!GetAtt Rule.Arn", "arn:aws:events:eu-west-1:111122223333:rule/nightly"),
    ("!Ref BusRule", "orders|paid"),
    ("!GetAtt BusRule.Arn", "arn:aws:events:eu-west-1:111122223333:rule/orders/paid"),
    ("!Ref DefaultRule", "daily"),
    ("!GetAtt DefaultRule.Arn", "arn:aws:events:eu-west-1:111122223333:rule/daily"),
    ("!Ref ArnRule", "orders|shipped"),
    ("!GetAtt ArnRule.Arn", "arn:aws:events:eu-west-1:111122223333:rule/orders/shipped"),
    ("!Sub ['${A}-${B}', {A: x, B: !Ref Stage}]", "x-dev"),
    ("!Sub 'keep ${!Literal}'", "keep ${Literal}"),
    ("!Join [':', [a, !Ref Stage]]", "a:dev"),
    ("!Join [',', !Ref Ids]", "a,b"),
    ("!Select [1, !Split ['/', 'x/y/z']]", "y"),
    ("!FindInMap [Sizes, !Ref Stage, Table]", "small"),
    # keys YAML reads as numbers match as the text CloudFormation sees
    ("!FindInMap [Accounts, !Ref AWS::AccountId, Bucket]", "acct-bucket"),
    ("!FindInMap [Accounts, '111122223333', 443]", "https"),
    ("!If [IsProd, big, small]", "small"),
    ("!If [NotProd, [a], [b]]", ["a"]),
    ("[a, !If [IsProd, b, !Ref AWS::NoValue], c]", ["a", "c"]),
    ("!If [Both, x, y]", "y"),  # And with a False member is False even if the other is unknown
    ("!Base64 hi", "aGk="),
])
def test_resolves(expression: str, expected: object) -> None:
    value, notices = resolve(expression)
    assert value == expected
    assert len(notices) == 0


@pytest.mark.parametrize(("expression", "expected", "warning"), [
    ("!GetAtt Anonymous.Arn", "<unresolved:GetAtt Anonymous.Arn>", "QueueName is not set"),
    ("!Ref Key", "<unresolved:Ref Key>", "its name is not set"),
    ("!GetAtt Key.Rotation", "<unresolved:GetAtt Key.Rotation>", "no attribute Rotation"),
    ("!Ref Secret", "<unresolved:parameter Secret>", "no Default"),
    ("!Ref Version", "<unresolved:parameter Version>", "read from SSM"),
    ("!ImportValue shared-arn", "<unresolved:ImportValue shared-arn>", "another stack"),
    ("!Ref AWS::StackName", "<unresolved:AWS::StackName>", "deployed"),
    ("!Ref Nope", "<unresolved:Ref Nope>", "no such parameter or resource"),
    ("!Sub '${Anonymous.Arn}/x'", "<unresolved:Sub ${Anonymous.Arn}/x>", "QueueName"),
    ("!If [Either, a, b]", "<unresolved:If Either>", "parameter Secret"),
    ("!GetAtt Loop.Arn", "<unresolved:GetAtt Loop.Arn (QueueName unresolved)>", "refers to itself"),
    ("!Select [5, [a]]", "<unresolved:Select 5>", "out of range"),
    ("!GetAtt ForeignRule.Arn", "<unresolved:GetAtt ForeignRule.Arn>",
     "EventBusName is in another account"),
    ("!GetAtt GeneratedRule.Arn", "<unresolved:GetAtt GeneratedRule.Arn>", "Name is not set"),
    # offline, an ID AWS makes is not known
    ("!GetAtt Users.Arn", "<unresolved:GetAtt Users.Arn>", "its name is not set"),
    ("!Ref Sockets", "<unresolved:Ref Sockets>", "its name is not set"),
])
def test_unresolvable_values_stay_explicit_and_are_warned(
    expression: str, expected: str, warning: str
) -> None:
    value, notices = resolve(expression)
    assert value == expected
    [notice] = notices.items()
    assert notice.code == "unresolved-value"
    assert any(warning in example for example in notice.examples)
    assert notice.examples[0].startswith("t.yaml:")


DEPLOYED = {  # ListStackResources of the configured stack: physical IDs are what Ref gives
    "Anonymous": ("AWS::SQS::Queue",
                  "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-Anonymous-1X2Y3Z"),
    "Key": ("AWS::KMS::Key", "1234abcd-12ab-34cd-56ef-1234567890ab"),
    "Table": ("AWS::DynamoDB::Table", "orders-Table-ABC"),  # TableName set: the template wins
    "GeneratedRule": ("AWS::Events::Rule", "orders|orders-GeneratedRule-1X2Y"),
    # IDs AWS makes: a user pool's, a WebSocket API's
    "Users": ("AWS::Cognito::UserPool", "eu-west-1_aB3dE5fG7"),
    "Sockets": ("AWS::ApiGatewayV2::Api", "a1b2c3d4e5"),
    "Graph": ("AWS::AppSync::GraphQLApi",  # Ref gives the API's ARN
              "arn:aws:appsync:eu-west-1:111122223333:apis/abcdefghijklmnopqrstuvwxyz"),
    "Files": ("AWS::EFS::FileSystem", "fs-0123456789abcdef0"),
}


def resolve_deployed(value: str, deployed: dict[str, tuple[str, str]],
                     region: str = "eu-west-1") -> tuple[Any, Notices]:
    notices = Notices()
    context = ResolveContext(region=region, account="111122223333", deployed={
        logical: StackResource(logical, kind, physical)
        for logical, (kind, physical) in deployed.items()})
    resolver = TemplateResolver(loads_cfn_yaml(TEMPLATE), context, notices, "t.yaml")
    return resolver.resolve(loads_cfn_yaml(f"V: {value}")["V"]), notices


@pytest.mark.parametrize(("expression", "expected"), [
    ("!Ref Anonymous", "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-Anonymous-1X2Y3Z"),
    ("!GetAtt Anonymous.Arn", "arn:aws:sqs:eu-west-1:111122223333:orders-Anonymous-1X2Y3Z"),
    ("!Ref Key", "1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("!GetAtt Key.Arn",
     "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("!Ref Table", "orders-dev"),
    ("!GetAtt GeneratedRule.Arn",
     "arn:aws:events:eu-west-1:111122223333:rule/orders/orders-GeneratedRule-1X2Y"),
    ("!GetAtt Users.Arn", "arn:aws:cognito-idp:eu-west-1:111122223333:userpool/"
     "eu-west-1_aB3dE5fG7"),
    ("!Ref Users", "eu-west-1_aB3dE5fG7"),
    ("!Sub 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Sockets}/*'",
     "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/*"),
    ("!GetAtt Sockets.ApiEndpoint", "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"),
    ("!Sub '${Graph.Arn}/types/Query/*'",
     "arn:aws:appsync:eu-west-1:111122223333:apis/abcdefghijklmnopqrstuvwxyz/types/Query/*"),
    ("!GetAtt Graph.ApiId", "abcdefghijklmnopqrstuvwxyz"),
    ("!GetAtt Files.Arn",
     "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123456789abcdef0"),
])
def test_generated_names_come_from_the_deployed_stack(expression: str, expected: str) -> None:
    value, notices = resolve_deployed(expression, DEPLOYED)
    assert value == expected
    assert len(notices) == 0


@pytest.mark.parametrize(("deployed", "region"), [
    ({"Anonymous": ("AWS::SNS::Topic", "arn:aws:sns:eu-west-1:111122223333:x")}, "eu-west-1"),
    ({"Anonymous": DEPLOYED["Anonymous"]}, "us-east-1"),  # the stack is in another region
    ({"Anonymous": ("AWS::SQS::Queue", "not-a-queue-url")}, "eu-west-1"),
    ({"Other": DEPLOYED["Anonymous"]}, "eu-west-1"),
])
def test_a_deployed_resource_of_another_kind_or_place_names_nothing(
        deployed: dict[str, tuple[str, str]], region: str) -> None:
    value, notices = resolve_deployed("!GetAtt Anonymous.Arn", deployed, region)
    assert value == "<unresolved:GetAtt Anonymous.Arn>"
    assert notices.count("unresolved-value") == 1


@pytest.mark.parametrize(("kind", "ref", "physical", "name"), [
    ("secret", "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-??????",
     "arn:aws:secretsmanager:eu-west-1:111122223333:secret:DbSecret1A2B3C4D-AbCdEf",
     "DbSecret1A2B3C4D"),
    ("log group", "{name}", "/aws/lambda/orders-Fn-1X2Y", "/aws/lambda/orders-Fn-1X2Y"),
    ("policy", "arn:{partition}:iam::{account}:policy{Path}{name}",
     "arn:aws:iam::111122223333:policy/svc/orders-Policy-1X2Y", "orders-Policy-1X2Y"),
])
def test_a_name_is_read_off_its_physical_id(kind: str, ref: str, physical: str,
                                            name: str) -> None:
    values = (("Path", "/svc/"), ("account", "111122223333"), ("partition", "aws"),
              ("region", "eu-west-1"), ("url_suffix", "amazonaws.com"))
    found = _physical_pattern(ref, values).fullmatch(physical)
    assert found is not None and found.group("name") == name, kind


def test_overrides_win_over_defaults_and_name_generated_resources() -> None:
    value, notices = resolve("[!Ref Stage, !GetAtt Anonymous.Arn, !Ref AWS::StackName]",
                             {"Stage": "prod", "Anonymous.Arn": "arn:aws:sqs:eu-west-1:1:q",
                              "AWS::StackName": "orders"})
    assert value == ["prod", "arn:aws:sqs:eu-west-1:1:q", "orders"]
    assert len(notices) == 0


def test_the_configured_stack_name_is_aws_stack_name_unless_a_parameter_says() -> None:
    template = loads_cfn_yaml(TEMPLATE)
    value = loads_cfn_yaml("V: !Sub '${AWS::StackName}-scheduler'")["V"]
    for parameters, expected in (({}, "reminders-scheduler"),
                                 ({"AWS::StackName": "other"}, "other-scheduler")):
        notices = Notices()
        context = ResolveContext(parameters=parameters, stack_name="reminders")
        assert TemplateResolver(template, context, notices, "t.yaml").resolve(value) == expected
        assert len(notices) == 0
    notices = Notices()
    TemplateResolver(template, ResolveContext(), notices, "t.yaml").resolve(value)
    assert "set stack-name" in notices.items()[0].examples[0]


def test_unknown_tags_and_functions_are_unresolved_and_warned() -> None:
    value, notices = resolve("[!Frobnicate x, {'Fn::Nope': 1}]")
    assert value == ["<unresolved:!Frobnicate>",
                     "<unresolved:Fn::Nope (unknown intrinsic function)>"]
    assert notices.count("unknown-intrinsic") == 2


def test_alias_bomb_is_bounded_while_resolving() -> None:
    lines = ["Resources: {}", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    template = loads_cfn_yaml("\n".join(lines))  # 80 aliases: within the loader's limit
    resolver = TemplateResolver(template, ResolveContext(), Notices(), "bomb.yaml",
                                max_values=100_000)  # 10**9 once expanded
    with pytest.raises(UserError, match="alias bomb"):
        resolver.resolve(template)


def test_every_use_of_an_unresolved_value_is_counted() -> None:
    value, notices = resolve("[!GetAtt Anonymous.Arn, !Sub '${Anonymous.Arn}/*']")
    assert value == ["<unresolved:GetAtt Anonymous.Arn>", "<unresolved:Sub ${Anonymous.Arn}/*>"]
    assert notices.count("unresolved-value") == 2


def test_an_import_value_given_in_the_parameters_is_that_value() -> None:
    # The unresolved warning says "pass the value in the parameters": doing so works.
    value, notices = resolve("!ImportValue shared-arn", {"shared-arn": "arn:aws:sns:x:1:t"})
    assert value == "arn:aws:sns:x:1:t"
    assert len(notices) == 0


def test_expansion_is_measured_once_per_shared_node() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = loads_cfn_yaml("\n".join(lines))  # 10**9 values once expanded
    with pytest.raises(UserError, match=r"bomb\.yaml: .*alias bomb"):
        check_expansion(bomb, "bomb.yaml")
    # counted as the resolver counts: (1 + 2) + (1 + 10) + (1 + 10 + 10 * 11) values
    small = loads_cfn_yaml("\n".join(lines[:2]))
    check_expansion(small, "small.yaml", max_values=135)
    with pytest.raises(UserError):
        check_expansion(small, "small.yaml", max_values=134)
    resolver = TemplateResolver(small, ResolveContext(), Notices(), "small.yaml",
                                max_values=134)
    with pytest.raises(UserError):
        resolver.resolve(small)


def test_a_mapping_value_holding_intrinsics_is_unresolved_not_resolved_in_a_loop() -> None:
    # CloudFormation takes no intrinsic functions in Mappings. A value that holds the
    # FindInMap that finds it looped until Python's stack ran out (found by fuzzing).
    template = loads_cfn_yaml(
        "Mappings:\n  M:\n    dev:\n      Loop:\n"
        "        Again: !Sub ['${X}', {X: !FindInMap [M, dev, Loop]}]\n"
        "      Names: [a, b]\n"
        "Resources: {}\n")
    notices = Notices()
    resolver = TemplateResolver(template, ResolveContext(), notices, "m.yaml")
    found = resolver.resolve(loads_cfn_yaml("V: !FindInMap [M, dev, Loop]")["V"])
    assert found == "<unresolved:FindInMap M/dev/Loop>"
    [notice] = notices.items()
    assert "a Mappings value is a string or a list of strings" in notice.examples[0]
    names = resolver.resolve(loads_cfn_yaml("V: !FindInMap [M, dev, Names]")["V"])
    assert names == ["a", "b"]


def test_every_optional_placeholder_has_its_rule() -> None:
    rules = resource_rules()
    patterns = [p for t in rules.types.values() for p in (t.ref, *t.attributes.values()) if p]
    optional = {field.rstrip("|/") for p in patterns for field in FIELD.findall(p)
                if field[-1] in "|/"}
    assert optional == {"EventBusName"}
    assert optional <= set(rules.optional)


def test_every_arn_the_table_makes_has_a_catalog_format() -> None:
    known = {"Partition": "aws", "Region": "r", "Account": "a"}
    formats: dict[str, list[re.Pattern[str]]] = {}
    for resource_type in get_catalog().resource_types():
        text = re.escape(resource_type.arn_format).replace(r"\$\{", "${").replace(r"\}", "}")
        text = re.sub(r"\$\{(\w+)\}", lambda m: known.get(m[1], ".+"), text)
        formats.setdefault(resource_type.service, []).append(re.compile(text))
    checked = 0
    for kind, rule in resource_rules().types.items():
        for pattern in (rule.ref, *rule.attributes.values()):
            if not pattern or not pattern.startswith("arn:"):
                continue
            for bus in ("", "B"):  # a rule on the default bus, and on a custom one
                arn = pattern.format_map({"partition": "aws", "region": "r", "account": "a",
                                          "name": "N", "lowercase_name": "n",
                                          "Path": "/p/", "GroupName": "g",
                                          "EventBusName/": bus and f"{bus}/",
                                          "EventBusName|": bus and f"{bus}|"})
                service = arn.split(":")[2]
                assert any(f.fullmatch(arn) for f in formats[service]), (kind, arn)
            checked += 1
    assert checked == 39


def test_the_url_suffix_is_the_partition_s() -> None:
    template = loads_cfn_yaml(TEMPLATE)
    value = loads_cfn_yaml("V: [!Ref AWS::URLSuffix, !Ref Queue]")["V"]
    context = ResolveContext(region="cn-north-1", account="111122223333", partition="aws-cn")
    assert TemplateResolver(template, context, Notices(), "t.yaml").resolve(value) == [
        "amazonaws.com.cn", "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/jobs"]


def test_a_name_a_deployed_arn_gives_only_in_lowercase_stays_unresolved() -> None:
    # A SageMaker endpoint's physical ID is its ARN, whose name SageMaker lower-cased: the
    # name CloudFormation generated cannot be told from it, and no ARN is guessed.
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/anymodel-1x2y"
    deployed = {"AnyModel": ("AWS::SageMaker::Endpoint", arn)}
    for expression in ("!Ref AnyModel", "!GetAtt AnyModel.EndpointName"):
        value, notices = resolve_deployed(expression, deployed)
        assert is_unresolved(value), expression
        assert notices.count("unresolved-value") == 1
