from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.sources import cloudformation, sam
from leastpriv_ci.notices import Notices

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/notes-staging"
LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
XRAY = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
        "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"]


@pytest.fixture
def app(data_dir: Path) -> Path:
    return data_dir / "grants/sam/template.yaml"


def lines(grants: object, key: str) -> list[tuple[str, object, int | None]]:
    role = grants.roles[key]  # type: ignore[attr-defined]
    return [(p.name, s.to_json()["Action"], s.origin.line)
            for p in role.policies for s in p.statements]


def test_sam_is_detected_before_cloudformation(app: Path) -> None:
    assert sam.detect(app)
    assert not cloudformation.detect(app)


def test_implicit_role_with_policy_templates_globals_and_tracing(app: Path) -> None:
    notices = Notices()
    grants = sam.load(app, ResolveContext(), notices)
    assert set(grants.roles) == {"CreateNoteFunctionRole", "ListNotesFunctionRole",
                                 "SharedReportingRole"}
    role = grants.roles["CreateNoteFunctionRole"]
    assert [s.to_json() for s in role.statements] == [
        {"Effect": "Allow",
         "Action": ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
                    "dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem",
                    "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable",
                    "dynamodb:ConditionCheckItem"],
         "Resource": [TABLE, TABLE + "/index/*"]},
        {"Effect": "Allow", "Action": "sqs:SendMessage*",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:notes-notify-staging"},
        {"Sid": "PutUploads", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::notes-uploads-staging/*"},
        {"Effect": "Allow", "Action": LOGS, "Resource": "*"},
        {"Effect": "Allow", "Action": XRAY, "Resource": "*"},
        {"Effect": "Allow",
         "Action": "<unresolved:managed policy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess>",
         "Resource": "<unresolved:managed policy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess>"},
    ]
    # Each statement points at the SAM line that causes it: the Policies entry, the
    # function (basic execution), the Globals Tracing key (X-Ray), the managed policy name.
    assert [(p.name, s.origin.line) for p in role.policies for s in p.statements] == [
        ("CreateNoteFunctionRolePolicy0", 42),
        ("CreateNoteFunctionRolePolicy1", 44),
        ("CreateNoteFunctionRolePolicy2", 47),
        ("AWSLambdaBasicExecutionRole", 36),
        ("AWSXrayWriteOnlyAccess", 13),
        ("AmazonS3ReadOnlyAccess", 51),
    ]
    assert {s.origin.file for s in role.statements} == {str(app)}
    listing = grants.roles["ListNotesFunctionRole"]
    assert [(p.name, s.origin.line) for p in listing.policies for s in p.statements] == [
        ("ListNotesFunctionRolePolicy0", 60),
        ("AWSLambdaBasicExecutionRole", 54),
        ("AWSXrayWriteOnlyAccess", 58),  # the function's own Tracing key
    ]


def test_role_overrides_policies_and_shares_one_role(app: Path) -> None:
    notices = Notices()
    grants = sam.load(app, ResolveContext(), notices)
    assert "ReportFunctionRole" not in grants.roles
    shared = grants.roles["SharedReportingRole"]
    assert [(p.name, s.to_json()["Action"], s.origin.line)
            for p in shared.policies for s in p.statements] == [
        ("read-notes", ["dynamodb:Scan", "dynamodb:Query"], 95),
        ("AWSLambdaBasicExecutionRole", LOGS, 89),
    ]
    bindings = {b.function: (b.role, b.names, b.origin.line) for b in grants.bindings}
    assert bindings == {
        "CreateNoteFunction": ("CreateNoteFunctionRole",
                               ("create-note-staging", "CreateNoteFunction"), 36),
        "ListNotesFunction": ("ListNotesFunctionRole", ("ListNotesFunction",), 54),
        "ReportFunction": ("SharedReportingRole", ("ReportFunction",), 64),
        "ExportFunction": ("SharedReportingRole", ("ExportFunction",), 73),
    }
    [ignored] = [n for n in notices.items() if n.code == "sam-policies-ignored"]
    assert ignored.examples == (f"{app}:69: ReportFunction",)


def test_parameters_reach_the_translation(app: Path) -> None:
    grants = sam.load(app, ResolveContext(parameters={"Stage": "prod"}), Notices())
    [statement] = grants.roles["SharedReportingRole"].policies[0].statements
    assert statement.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/notes-prod",)


def test_translation_failure_names_file_and_message(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: a.b\n"
        "      Runtime: python3.12\n      CodeUri: src/\n      Policies:\n"
        "        - NoSuchPolicyTemplate: {}\n"
    )
    with pytest.raises(UserError, match=r"template\.yaml: SAM cannot translate"):
        sam.load(path, ResolveContext(), Notices())


def test_translation_leaves_global_yaml_alone(app: Path) -> None:
    sam.load(app, ResolveContext(), Notices())
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("a: !Ref b")


def test_a_role_sam_creates_unless_one_is_given_is_bound(tmp_path: Path) -> None:
    # Role: !If [HasRole, !Ref RoleArn, !Ref AWS::NoValue] — SAM writes the function's
    # Role as Fn::If [HasRole, "", GetAtt FnRole.Arn] and applies Policies to FnRole.
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Parameters:\n  RoleArn: {Type: String, Default: ''}\n"
        "Conditions:\n  HasRole: !Not [!Equals [!Ref RoleArn, '']]\nResources:\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Handler: index.handler\n      Runtime: python3.12\n      CodeUri: src/\n"
        "      Role: !If [HasRole, !Ref RoleArn, !Ref AWS::NoValue]\n"
        "      Policies:\n        - DynamoDBReadPolicy: {TableName: orders}\n")
    notices = Notices()
    grants = sam.load(path, ResolveContext(), notices)
    assert [(b.function, b.role) for b in grants.bindings] == [("Fn", "FnRole")]
    assert [p.name for p in grants.roles["FnRole"].policies] == [
        "FnRolePolicy0", "AWSLambdaBasicExecutionRole"]
    assert notices.count("sam-policies-ignored") == 0


def test_an_alias_bomb_is_refused_before_the_translator_walks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 9 levels of 9 aliases (81, within the loader's limit) expand to 9**9 values: the
    # translator would hang on them; the template is refused like plain CloudFormation.
    lines = ["Transform: AWS::Serverless-2016-10-31", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    lines += ["Resources:", "  Fn:", "    Type: AWS::Serverless::Function",
              "    Properties: {Handler: a.b, Runtime: python3.12, CodeUri: src/, "
              "Policies: *a8}"]
    path = tmp_path / "template.yaml"
    path.write_text("\n".join(lines) + "\n")

    def translate(*args: object) -> None:
        raise AssertionError("the translator was given an alias bomb")

    monkeypatch.setattr(sam, "translate", translate)
    with pytest.raises(UserError, match=r"template\.yaml: the template expands .* alias bomb"):
        sam.load(path, ResolveContext(), Notices())


def test_fn_foreach_is_expanded_before_the_sam_transform(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform:\n  - AWS::LanguageExtensions\n  - AWS::Serverless-2016-10-31\n"
        "Parameters:\n  Tables: {Type: CommaDelimitedList, Default: 'orders,order-lines'}\n"
        "Resources:\n"
        "  Fn::ForEach::Readers:\n    - Table\n    - !Ref Tables\n"
        "    - '&{Table}Reader':\n"
        "        Type: AWS::Serverless::Function\n        Properties:\n"
        "          FunctionName: !Sub '${Table}-reader'\n"
        "          Handler: app.handler\n          Runtime: python3.12\n"
        "          CodeUri: s3://bucket/key\n"
        "          Policies:\n            - DynamoDBReadPolicy:\n"
        "                TableName: !Ref Table\n")
    notices = Notices()
    grants = sam.load(path, ResolveContext(account="123456789012"), notices)
    assert sorted(grants.roles) == ["orderlinesReaderRole", "ordersReaderRole"]
    tables = {key: role.statements[0].resources[0] for key, role in grants.roles.items()}
    assert tables["orderlinesReaderRole"].endswith(":table/order-lines")
    assert {(b.function, b.role) for b in grants.bindings} == {
        ("ordersReader", "ordersReaderRole"), ("orderlinesReader", "orderlinesReaderRole")}
    assert len(notices) == 0


def test_what_sam_generates_from_connectors_and_state_machines_points_at_them(
        tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Table:\n    Type: AWS::DynamoDB::Table\n    Properties: {TableName: orders}\n"
        "  Writer:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      FunctionName: orders-writer\n      Handler: app.handler\n"
        "      Runtime: python3.12\n      CodeUri: s3://bucket/key\n"
        "  WriterToTable:\n    Type: AWS::Serverless::Connector\n    Properties:\n"
        "      Source: {Id: Writer}\n      Destination: {Id: Table}\n"
        "      Permissions: [Write]\n"
        "  Machine:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      Definition: {StartAt: A, States: {A: {Type: Pass, End: true}}}\n"
        "      Policies:\n        - DynamoDBReadPolicy: {TableName: orders}\n")
    grants = sam.load(path, ResolveContext(account="123456789012"), Notices())
    lines = {(key, p.name): {s.origin.line for s in p.statements}
             for key, role in grants.roles.items() for p in role.policies}
    connector = next(v for (_, name), v in lines.items() if name.startswith("WriterToTable"))
    assert connector == {14}  # the connector's declaration
    machine = next(v for (key, _), v in lines.items() if key.startswith("MachineRole"))
    assert machine <= set(range(19, 23))  # within its declaration
    assert grants.roles["MachineRole"].origin.line in range(19, 23)
