"""Serverless Framework source: roles, per-function plugin, bindings, file:line of statements."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leastpriv_ci.cli import main
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.declared import load_declared
from leastpriv_ci.grants.model import GrantSet, ResolveContext
from leastpriv_ci.grants.sources import serverless
from leastpriv_ci.grants.undecided import TEMPLATE_CONDITION
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Role

DATA = Path(__file__).parent / "data" / "grants" / "serverless"
ACCOUNT = "123456789012"


def _load(path: Path, **context: str) -> tuple[GrantSet, Notices]:
    notices = Notices()
    return serverless.load(path, ResolveContext(**context), notices), notices  # type: ignore[arg-type]


def _lines(role: Role) -> list[tuple[int | None, dict[str, object]]]:
    return [(s.origin.line, s.to_json()) for s in role.statements]


def _role(grants: GrantSet, name: str) -> Role:
    return grants.roles[f"arn:aws:iam::{ACCOUNT}:role/{name}"]


def _scan(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, str, str]]]:
    """Scan a copy of ``cases/CASE`` (its serverless.yml and traces.json), as the CLI does:
    the exit code and the (kind, role name, action) of each non-platform finding."""
    shutil.copytree(DATA / "cases" / case, tmp_path / "repo")
    (tmp_path / "repo" / ".git").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "serverless.yml",
                 "--format", "json", "--account", ACCOUNT])
    out, err = capsys.readouterr()
    assert out, err
    findings = {(f["kind"], f["role"].rsplit("/", 1)[-1], f["action"])
                for f in json.loads(out)["findings"] if f["kind"] != "platform"}
    return code, findings


def _boundary(role: Role) -> str | None:
    return role.boundary.origin.policy_arn if role.boundary is not None else None


def test_detects_serverless_files_by_name(tmp_path: Path) -> None:
    assert serverless.detect(Path("svc/serverless.yml"))
    assert serverless.detect(Path("svc/serverless.yaml"))
    assert not serverless.detect(Path("svc/template.yaml"))


def test_v1_shared_role_has_framework_logs_tracing_and_provider_statements() -> None:
    path = DATA / "v1" / "serverless.yml"
    grants, _ = _load(path)
    role = _role(grants, "notes-api-dev-us-east-1-lambdaRole")
    logs = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/notes-api-dev*"
    assert _lines(role)[:5] == [
        (15, {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:CreateLogGroup"],
              "Resource": f"{logs}:*"}),
        (15, {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": f"{logs}:*:*"}),
        (15, {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
              "Resource": "*"}),
        (22, {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
              "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/notes-api-dev-notes"}),
        (28, {"Effect": "Allow", "Action": "s3:GetObject",
              "Resource": "arn:aws:s3:::notes-attachments/*"}),
    ]
    assert role.origin.logical_id == "IamRoleLambdaExecution"
    assert role.statements[3].origin.file == str(path)
    assert role.statements[3].origin.policy_name == "dev-notes-api-lambda"
    # iamManagedPolicies: a policy named by ARN, not in the bundled set → placeholder.
    managed = role.policies[-1]
    assert managed.origin.policy_arn == "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"
    assert len(managed.statements) == 1
    assert managed.statements[0].actions[0].startswith("<unresolved:")


def test_v1_per_function_roles_follow_the_plugin_inherit_rules() -> None:
    grants, notices = _load(DATA / "v1" / "serverless.yml")
    create = _role(grants, "notes-api-dev-create-us-east-1-lambdaRole")
    assert create.origin.logical_id == "CreateIamRoleLambdaExecution"
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/notes-api-dev-notes"
    assert _lines(create) == [
        (38, {"Effect": "Allow",
              "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents"],
              "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/"
                          "notes-api-dev-create:*:*"}),
        # iamRoleStatementsInherit: true → the provider statements, then its own.
        (22, {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
              "Resource": table}),
        (28, {"Effect": "Allow", "Action": "s3:GetObject",
              "Resource": "arn:aws:s3:::notes-attachments/*"}),
        (41, {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table}),
    ]
    export = _role(grants, "notes-exporter-role")  # iamRoleStatementsName
    assert _lines(export) == [
        (46, {"Effect": "Allow",
              "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents"],
              "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/"
                          "notes-exporter-dev:*:*"}),
        (46, {"Effect": "Allow",
              "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
              "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:notes-export"}),
        (50, {"Effect": "Allow", "Action": "s3:PutObject",
              "Resource": "arn:aws:s3:::notes-attachments/exports/*"}),
        (54, {"Effect": "Allow", "Action": "ssm:GetParameter",
              "Resource": "<unresolved:${ssm:/notes/param-arn}>"}),
    ]
    assert notices.count("serverless-remote-variable") == 1


def test_v1_bindings_name_the_deployed_function_and_its_role() -> None:
    grants, _ = _load(DATA / "v1" / "serverless.yml")
    assert [(b.function, b.role.rsplit("/", 1)[-1], b.names, b.origin.line)
            for b in grants.bindings] == [
        ("notes-api-dev-list", "notes-api-dev-us-east-1-lambdaRole",
         ("list", "ListLambdaFunction"), 36),
        ("notes-api-dev-create", "notes-api-dev-create-us-east-1-lambdaRole",
         ("create", "CreateLambdaFunction"), 38),
        ("notes-exporter-dev", "notes-exporter-role", ("export", "ExportLambdaFunction"), 46),
    ]


def test_stage_from_the_scan_overrides_provider_stage() -> None:
    grants, _ = _load(DATA / "v1" / "serverless.yml", stage="prod", region="eu-west-1")
    role = _role(grants, "notes-api-prod-eu-west-1-lambdaRole")
    assert role.statements[3].resources == (
        f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/notes-api-prod-notes",)
    assert grants.bindings[2].function == "notes-exporter-prod"


def test_v3_shared_role_name_path_boundary_managed_and_vpc() -> None:
    path = DATA / "v3" / "serverless.yml"
    grants, _ = _load(path)
    role = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/app/orders-prod-shared"]
    logs = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/orders-prod*"
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-prod"
    assert _lines(role)[:4] == [
        (27, {"Effect": "Allow",
              "Action": ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource"],
              "Resource": f"{logs}:*"}),
        (27, {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": f"{logs}:*:*"}),
        (33, {"Sid": "Queue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}),
        (37, {"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}),
    ]
    assert [p.name for p in role.policies] == [
        "prod-orders-lambda", "AWSXrayWriteOnlyAccess", "AWSLambdaVPCAccessExecutionRole"]
    # The bundled copies of AWS managed policies are used, not placeholders.
    assert "ec2:CreateNetworkInterface" in role.policies[2].statements[0].actions
    assert role.boundary is not None
    assert role.boundary.origin.policy_arn == f"arn:aws:iam::{ACCOUNT}:policy/boundary"


def test_v3_default_inherit_and_explicit_opt_out() -> None:
    grants, notices = _load(DATA / "v3" / "serverless.yml")
    worker = _role(grants, "orders-prod-worker-us-east-1-lambdaRole")
    inline = worker.policies[0]
    assert [(s.origin.line, s.to_json()["Action"]) for s in inline.statements] == [
        (52, ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents"]),
        (33, "sqs:SendMessage"),  # defaultInherit: true
        (37, "sqs:DeleteQueue"),
        (54, "dynamodb:UpdateItem"),
    ]
    assert inline.statements[3].resources == (
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-prod",)
    # provider.vpc → the plugin gives every per-function role the VPC access policy.
    assert [p.name for p in worker.policies[1:]] == ["AWSLambdaVPCAccessExecutionRole"]
    audit = _role(grants, "orders-prod-audit-us-east-1-lambdaRole")
    assert [(s.origin.line, s.to_json()["Action"], s.to_json()["Resource"])
            for s in audit.policies[0].statements][1:] == [
        # iamRoleStatementsInherit: false wins over defaultInherit; the log group is not
        # declared, so its ARN stays unresolved (and is warned about).
        (48, "logs:FilterLogEvents", "<unresolved:GetAtt AuditLogGroup.Arn>"),
    ]
    assert notices.count("unresolved-value") == 1


def test_v3_custom_roles_from_resources_and_by_arn() -> None:
    grants, _ = _load(DATA / "v3" / "serverless.yml")
    legacy = _role(grants, "orders-legacy")
    assert legacy.origin.logical_id == "LegacyRole"
    assert _lines(legacy) == [
        (84, {"Effect": "Allow", "Action": "s3:ListBucket",
              "Resource": "arn:aws:s3:::orders-us-east-1-archive"}),
    ]
    bound = {b.names[0]: b.role for b in grants.bindings}
    assert bound == {
        "submit": f"arn:aws:iam::{ACCOUNT}:role/app/orders-prod-shared",
        "audit": f"arn:aws:iam::{ACCOUNT}:role/orders-prod-audit-us-east-1-lambdaRole",
        "worker": f"arn:aws:iam::{ACCOUNT}:role/orders-prod-worker-us-east-1-lambdaRole",
        "legacy": f"arn:aws:iam::{ACCOUNT}:role/orders-legacy",
        "external": f"arn:aws:iam::{ACCOUNT}:role/shared-external",
    }
    # An external role is bound, not declared: the attached source knows its policies.
    assert f"arn:aws:iam::{ACCOUNT}:role/shared-external" not in grants.roles


def test_provider_custom_role_replaces_the_shared_role(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: svc\nprovider:\n  name: aws\n  iam:\n    role: !GetAtt AppRole.Arn\n"
        "functions:\n  f:\n    handler: h\n"
        "resources:\n  Resources:\n    AppRole:\n      Type: AWS::IAM::Role\n"
        "      Properties:\n        ManagedPolicyArns:\n"
        "          - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    assert list(grants.roles) == ["AppRole"]  # no RoleName: keyed by logical ID
    assert grants.bindings[0].role == "AppRole"
    assert grants.roles["AppRole"].policies[0].name == "AWSLambdaBasicExecutionRole"


def test_function_statements_without_the_plugin_are_ignored_and_warned(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: svc\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: h\n"
        "    iamRoleStatements:\n      - Effect: Allow\n        Action: s3:*\n"
        "        Resource: '*'\n")
    grants, notices = _load(tmp_path / "serverless.yml")
    role = _role(grants, "svc-dev-us-east-1-lambdaRole")
    assert all(not a.startswith("s3:") for s in role.statements for a in s.actions)
    assert notices.count("serverless-function-statements-ignored") == 1


def test_other_providers_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: svc\nprovider:\n  name: google\nfunctions:\n  f:\n    handler: h\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    assert grants.roles == {} and grants.bindings == ()


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text("service: svc\nprovider:\n  name: aws\n  stage: [dev\n")
    with pytest.raises(UserError) as info:
        _load(path)
    assert f"{path}:" in str(info.value)


def test_bad_statement_is_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: svc\nprovider:\n  name: aws\n  iamRoleStatements:\n"
        "    - Effect: Maybe\n      Action: s3:GetObject\n      Resource: '*'\n"
        "    - Effect: Allow\n      Action: s3:GetObject\n      Resource: '*'\n"
        "functions:\n  f:\n    handler: h\n")
    grants, notices = _load(tmp_path / "serverless.yml")
    role = _role(grants, "svc-dev-us-east-1-lambdaRole")
    assert [s.origin.line for s in role.statements if "s3:GetObject" in s.actions] == [8]
    assert notices.count("serverless-bad-statement") == 1


def test_provider_role_as_arn_and_function_role_as_name(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: svc\nprovider:\n  name: aws\n  iam:\n"
        "    role: arn:aws:iam::${aws:accountId}:role/platform-lambda\n"
        "functions:\n  a:\n    handler: h\n  b:\n    handler: h\n    role: team-role\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    assert grants.roles == {}  # nothing declared here: both roles exist elsewhere
    assert [b.role for b in grants.bindings] == [
        f"arn:aws:iam::{ACCOUNT}:role/platform-lambda", f"arn:aws:iam::{ACCOUNT}:role/team-role"]


def test_serverless_json_config(tmp_path: Path) -> None:
    (tmp_path / "serverless.json").write_text(
        '{"service": "js", "provider": {"name": "aws", "iamRoleStatements": [\n'
        '  {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]},\n'
        ' "functions": {"f": {"handler": "h"}}}\n')
    grants, _ = _load(tmp_path / "serverless.json")
    role = _role(grants, "js-dev-us-east-1-lambdaRole")
    assert [(s.origin.line, s.actions) for s in role.statements][-1] == (
        2, ("sqs:SendMessage",))


def test_conditions_in_resources_decide_fn_if(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  iamRoleStatements:\n    - Effect: Allow\n"
        "      Action: s3:GetObject\n"
        "      Resource: !If [IsProd, 'arn:aws:s3:::prod/*', 'arn:aws:s3:::dev/*']\n"
        "functions:\n  f:\n    handler: h\n"
        "resources:\n  Conditions:\n    IsProd: !Equals ['${sls:stage}', prod]\n")
    for stage, bucket in (("prod", "prod"), ("qa", "dev")):
        grants, _ = _load(tmp_path / "serverless.yml", stage=stage)
        role = _role(grants, f"s-{stage}-us-east-1-lambdaRole")
        assert role.statements[-1].resources == (f"arn:aws:s3:::{bucket}/*",)


def test_a_condition_not_decided_offline_gives_each_branch_under_its_value(
        tmp_path: Path) -> None:
    # Before, the statement's resource became one unresolved value
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  iamRoleStatements:\n    - Effect: Allow\n"
        "      Action: [s3:GetObject, !If [IsProd, s3:DeleteObject, !Ref AWS::NoValue]]\n"
        "      Resource: !Join ['', ['arn:aws:s3:::', !If [IsProd, prod, dev], '/*']]\n"
        "    - !If [IsProd, {Effect: Allow, Action: sqs:SendMessage, Resource: '*'},"
        " !Ref AWS::NoValue]\n"
        "functions:\n  f:\n    handler: h\n"
        "resources:\n  Parameters:\n    Env: {Type: String}\n"
        "  Conditions:\n    IsProd: !Equals [!Ref Env, prod]\n")
    grants, notices = _load(tmp_path / "serverless.yml")
    role = _role(grants, "s-dev-us-east-1-lambdaRole")
    held = {(s.actions, s.resources, s.conditions[TEMPLATE_CONDITION]["IsProd"])
            for s in role.statements if s.conditions}
    assert held == {
        (("s3:GetObject",), ("arn:aws:s3:::prod/*",), ("true",)),
        (("s3:DeleteObject",), ("arn:aws:s3:::prod/*",), ("true",)),
        (("s3:GetObject",), ("arn:aws:s3:::dev/*",), ("false",)),
        (("sqs:SendMessage",), ("*",), ("true",)),
    }
    assert not any("unresolved" in r for s in role.statements for r in s.resources)
    assert notices.count("policy-undecided") >= 1
    # decided by a value given for the parameter, nothing is conditional
    grants, _ = _load(tmp_path / "serverless.yml", parameters={"Env": "prod"})  # type: ignore[arg-type]
    role = _role(grants, "s-dev-us-east-1-lambdaRole")
    assert not any(s.conditions for s in role.statements)
    assert ("sqs:SendMessage",) in [s.actions for s in role.statements]


def test_an_import_reads_what_a_scanned_template_exports(tmp_path: Path) -> None:
    (tmp_path / "data.template.json").write_text(json.dumps({
        "Resources": {"Table": {"Type": "AWS::DynamoDB::Table",
                                "Properties": {"TableName": "orders"}}},
        "Outputs": {"TableArn": {"Value": {"Fn::GetAtt": ["Table", "Arn"]},
                                 "Export": {"Name": "data-TableArn"}}}}))
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  iamRoleStatements:\n    - Effect: Allow\n"
        "      Action: dynamodb:GetItem\n      Resource: !ImportValue data-TableArn\n"
        "functions:\n  f:\n    handler: h\n")
    notices = Notices()
    declared = load_declared([tmp_path / "serverless.yml", tmp_path / "data.template.json"],
                             ResolveContext(), notices)
    role = declared.roles[f"arn:aws:iam::{ACCOUNT}:role/s-dev-us-east-1-lambdaRole"]
    assert role.statements[-1].resources == (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders",)
    assert notices.count("unresolved-value") == 0


def test_a_template_imports_what_the_service_exports(tmp_path: Path) -> None:
    # The service exports its shared role, a role of resources.Resources and a queue's
    # URL; a CloudFormation stack's functions run as those roles
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  iamRoleStatements:\n    - Effect: Allow\n"
        "      Action: sqs:SendMessage\n      Resource: '*'\n"
        "functions:\n  f:\n    handler: h\n"
        "resources:\n  Resources:\n    Worker:\n      Type: AWS::IAM::Role\n"
        "      Properties:\n        RoleName: worker\n"
        "  Outputs:\n"
        "    Shared:\n      Value: !GetAtt IamRoleLambdaExecution.Arn\n"
        "      Export:\n        Name: ${self:service}-${sls:stage}-SharedRoleArn\n"
        "    WorkerArn:\n      Value: !GetAtt Worker.Arn\n"
        "      Export:\n        Name: !Sub '${AWS::StackName}-WorkerArn'\n"
        "    Queue:\n      Value: https://sqs.us-east-1.amazonaws.com/1/jobs\n"
        "      Export:\n        Name: s-QueueUrl\n")
    functions = {"One": "s-dev-SharedRoleArn", "Two": "s-dev-WorkerArn"}
    (tmp_path / "app.template.json").write_text(json.dumps({"Resources": {
        logical: {"Type": "AWS::Lambda::Function",
                  "Properties": {"FunctionName": logical.lower(),
                                 "Role": {"Fn::ImportValue": name},
                                 "Environment": {"Variables": {
                                     "QUEUE": {"Fn::ImportValue": "s-QueueUrl"}}}}}
        for logical, name in functions.items()}}))
    notices = Notices()
    declared = load_declared([tmp_path / "app.template.json", tmp_path / "serverless.yml"],
                             ResolveContext(), notices)
    roles = {b.function: b.role for b in declared.bindings if b.function in functions}
    assert roles == {"One": f"arn:aws:iam::{ACCOUNT}:role/s-dev-us-east-1-lambdaRole",
                     "Two": f"arn:aws:iam::{ACCOUNT}:role/worker"}
    assert all(key in declared.roles for key in roles.values())
    assert notices.count("unresolved-value") == 0
    grants, _ = _load(tmp_path / "serverless.yml")
    assert grants.exports == {"s-dev-WorkerArn": f"arn:aws:iam::{ACCOUNT}:role/worker",
                              "s-QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/jobs"}


def test_statements_from_an_unresolvable_variable_stay_as_unknown_grants(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  iam:\n    role:\n"
        "      statements: ${ssm:/platform/statements}\nfunctions:\n  f:\n    handler: h\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    last = _role(grants, "s-dev-us-east-1-lambdaRole").statements[-1]
    assert last.actions == ("<unresolved:${ssm:/platform/statements}>",)
    assert last.resources == last.actions
    assert last.origin.line == 6  # where the statements are declared


def test_statements_from_a_file_variable_point_into_that_file(tmp_path: Path) -> None:
    (tmp_path / "iam").mkdir()
    (tmp_path / "iam" / "statements.yml").write_text(
        "# shared statements\n- Effect: Allow\n  Action: sqs:SendMessage\n"
        "  Resource: arn:aws:sqs:${aws:region}:${aws:accountId}:jobs\n")
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n"
        "  iamRoleStatements: ${file(./iam/statements.yml)}\n"
        "functions:\n  f:\n    handler: h\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    last = _role(grants, "s-dev-us-east-1-lambdaRole").statements[-1]
    assert (last.origin.file, last.origin.line) == (str(tmp_path / "iam" / "statements.yml"), 2)
    assert last.resources == (f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs",)


BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def test_a_per_function_role_keeps_the_shared_roles_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # The plugin clones the shared role, boundary included: AWSLambdaBasicExecutionRole
    # allows no DynamoDB, so the function's own GetItem grant does not take effect.
    code, findings = _scan("boundary_per_function", tmp_path, monkeypatch, capsys)
    assert code == 1
    assert ("missing", "orders-dev-read-us-east-1-lambdaRole", "dynamodb:GetItem") in findings


def test_the_legacy_role_permissions_boundary_limits_the_shared_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, findings = _scan("boundary_legacy", tmp_path, monkeypatch, capsys)
    assert code == 1
    assert findings == {("missing", "orders-dev-us-east-1-lambdaRole", "dynamodb:GetItem")}


@pytest.mark.parametrize(("role", "provider", "expected"), [
    ("permissionsBoundary: ${self:custom.a}", "", "a"),
    ("permissionBoundary: ${self:custom.b}", "", "b"),  # the framework's other spelling
    ("permissionsBoundary: ${self:custom.a}\n      permissionBoundary: ${self:custom.b}",
     "  rolePermissionsBoundary: ${self:custom.c}\n", "a"),
    ("permissionBoundary: ${self:custom.b}", "  rolePermissionsBoundary: ${self:custom.c}\n",
     "b"),
    ("statements: []", "  rolePermissionsBoundary: ${self:custom.c}\n", "c"),
])
def test_shared_role_boundary_follows_the_frameworks_precedence(
    role: str, provider: str, expected: str, tmp_path: Path,
) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: s\ncustom:\n"
        + "".join(f"  {k}: arn:aws:iam::{ACCOUNT}:policy/{k}\n" for k in "abc")
        + f"provider:\n  name: aws\n{provider}  iam:\n    role:\n      {role}\n"
        "functions:\n  f:\n    handler: h\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    shared = _role(grants, "s-dev-us-east-1-lambdaRole")
    assert _boundary(shared) == f"arn:aws:iam::{ACCOUNT}:policy/{expected}"


def test_per_function_boundaries_follow_the_plugin(tmp_path: Path) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/"
    (tmp_path / "serverless.yml").write_text(
        "service: s\nplugins: [serverless-iam-roles-per-function]\n"
        f"custom:\n  serverless-iam-roles-per-function:\n"
        f"    iamGlobalPermissionsBoundary: {arn}global\n"
        f"provider:\n  name: aws\n  rolePermissionsBoundary: {arn}legacy\n"
        "functions:\n  plain:\n    handler: h\n"
        "  own:\n    handler: h\n    iamRoleStatements: []\n"
        f"    iamPermissionsBoundary: {arn}own\n"
        "  other:\n    handler: h\n    iamRoleStatements: []\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    assert _boundary(_role(grants, "s-dev-own-us-east-1-lambdaRole")) == f"{arn}own"
    assert _boundary(_role(grants, "s-dev-other-us-east-1-lambdaRole")) == f"{arn}global"
    # Once it makes a role, the plugin sets its global boundary on the shared role too.
    assert _boundary(_role(grants, "s-dev-us-east-1-lambdaRole")) == f"{arn}global"


def test_without_a_plugin_boundary_per_function_roles_inherit_the_shared_one(
    tmp_path: Path,
) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/"
    (tmp_path / "serverless.yml").write_text(
        "service: s\nplugins: [serverless-iam-roles-per-function]\n"
        f"provider:\n  name: aws\n  iam:\n    role:\n      permissionBoundary: {arn}shared\n"
        "functions:\n  own:\n    handler: h\n    iamRoleStatements: []\n")
    grants, _ = _load(tmp_path / "serverless.yml")
    assert _boundary(_role(grants, "s-dev-own-us-east-1-lambdaRole")) == f"{arn}shared"


def test_a_policy_attached_by_role_name_counts_for_a_custom_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # WritePolicy's Roles name the role by its RoleName, as CloudFormation requires.
    code, findings = _scan("attached_by_name", tmp_path, monkeypatch, capsys)
    assert code == 0
    assert not any(kind == "missing" for kind, _, _ in findings)


def test_policies_attach_to_a_custom_role_by_logical_id_or_name(tmp_path: Path) -> None:
    statement = ("        PolicyDocument:\n          Statement:\n            - Effect: Allow\n"
                 "              Action: {action}\n              Resource: '*'\n")

    def policy(logical: str, kind: str, target: str, action: str) -> str:
        key = "RoleName" if kind == "RolePolicy" else "Roles"
        value = target if kind == "RolePolicy" else f"[{target}]"
        return (f"    {logical}:\n      Type: AWS::IAM::{kind}\n      Properties:\n"
                f"        PolicyName: {logical}\n        {key}: {value}\n"
                + statement.format(action=action))

    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n"
        "functions:\n  f:\n    handler: h\n    role: AppRole\n"
        "resources:\n  Resources:\n"
        "    AppRole:\n      Type: AWS::IAM::Role\n      Properties:\n"
        "        RoleName: ${self:service}-app\n"
        + policy("ByRef", "Policy", "!Ref AppRole", "sqs:SendMessage")
        + policy("ByName", "ManagedPolicy", "s-app", "sqs:ReceiveMessage")
        + policy("ByJoin", "Policy", "!Join ['-', [s, app]]", "sqs:ChangeMessageVisibility")
        + policy("BySub", "Policy", "!Sub '${AWS::StackName}'", "sqs:DeleteMessage")
        + policy("Inline", "RolePolicy", "s-app", "s3:GetObject")
        + policy("InlineByRef", "RolePolicy", "!Ref AppRole", "s3:PutObject")
        + policy("Other", "RolePolicy", "other-role", "s3:DeleteObject")
        + policy("OtherRef", "Policy", "!Ref OtherRole", "s3:ListBucket"))
    grants, _ = _load(tmp_path / "serverless.yml")
    role = _role(grants, "s-app")
    # BySub names the stack (s-dev), not the role; Other and OtherRef name other roles.
    assert [(p.name, p.statements[0].actions) for p in role.policies] == [
        ("ByRef", ("sqs:SendMessage",)), ("ByName", ("sqs:ReceiveMessage",)),
        ("ByJoin", ("sqs:ChangeMessageVisibility",)), ("Inline", ("s3:GetObject",)),
        ("InlineByRef", ("s3:PutObject",)),
    ]


def test_a_managed_policy_of_the_template_is_read_from_its_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # ManagedPolicyArns: [!Ref WritePolicy, !GetAtt ReadPolicy.PolicyArn], both declared in
    # resources.Resources: PutItem is granted, GetItem granted and unused.
    code, findings = _scan("template_managed_policy", tmp_path, monkeypatch, capsys)
    assert code == 0
    assert findings == {("excess", "write-role", "dynamodb:GetItem")}


def test_template_managed_policies_by_reference_everywhere_a_policy_arn_goes(
    tmp_path: Path,
) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  iam:\n    role:\n"
        "      managedPolicies: [!Ref Shared]\n      permissionsBoundary: !Ref Limit\n"
        "functions:\n  f:\n    handler: h\n  g:\n    handler: h\n    role: AppRole\n"
        "resources:\n  Conditions:\n    Never: !Equals [a, b]\n  Resources:\n"
        "    AppRole:\n      Type: AWS::IAM::Role\n      Properties:\n"
        "        RoleName: app\n"
        "        ManagedPolicyArns:\n          - !Ref Shared\n"
        "          - !If [Never, !Ref Limit, !Ref AWS::NoValue]\n"
        "        PermissionsBoundary: !GetAtt Limit.PolicyArn\n"
        "    Shared:\n      Type: AWS::IAM::ManagedPolicy\n      Properties:\n"
        "        Roles: [!Ref AppRole]\n"  # attached twice: counted once
        "        PolicyDocument:\n          Statement:\n            - Effect: Allow\n"
        "              Action: sqs:SendMessage\n              Resource: '*'\n"
        "    Limit:\n      Type: AWS::IAM::ManagedPolicy\n      Properties:\n"
        "        ManagedPolicyName: limit\n"
        "        PolicyDocument:\n          Statement:\n            - Effect: Allow\n"
        "              Action: sqs:*\n              Resource: '*'\n")
    grants, notices = _load(tmp_path / "serverless.yml")
    app = _role(grants, "app")
    assert [(p.name, p.statements[0].actions) for p in app.policies] == [
        ("Shared", ("sqs:SendMessage",))]
    assert app.boundary is not None
    assert app.boundary.statements[0].actions == ("sqs:*",)
    assert _boundary(app) == f"arn:aws:iam::{ACCOUNT}:policy/limit"
    shared = _role(grants, "s-dev-us-east-1-lambdaRole")
    assert [(p.name, p.statements[0].actions) for p in shared.policies[1:]] == [
        ("Shared", ("sqs:SendMessage",))]
    assert shared.boundary is not None and shared.boundary.name == "limit"
    assert notices.count("managed-policy-unresolved") == 0
    assert notices.count("unresolved-value") == 0


@pytest.mark.parametrize(("version", "tags"), [
    ("2.72.0", False), ("^2.1.0", False), (">=2.0.0 <4.0.0", False),
    ("3", True), ("^3.38.0", True), ("4.1.0", True),
])
def test_the_framework_major_version_decides_the_v3_log_actions(
    tmp_path: Path, version: str, tags: bool
) -> None:
    # v3 adds logs:TagResource to the shared role; "2.72.0" is v2 whatever digits follow
    (tmp_path / "serverless.yml").write_text(
        f"service: svc\nframeworkVersion: '{version}'\n"
        "provider:\n  name: aws\n  region: us-east-1\nfunctions:\n  f:\n    handler: h\n")
    grants, _ = _load(tmp_path / "serverless.yml", account=ACCOUNT)
    (role,) = grants.roles.values()
    actions = {a for s in role.statements for a in s.actions}
    assert ("logs:TagResource" in actions) is tags


@pytest.mark.parametrize(("reference", "path"), [
    ("write-role", "/"), (f"arn:aws:iam::{ACCOUNT}:role/app/write-role", "/app/")])
def test_a_function_role_named_like_a_template_role_is_that_role(
    tmp_path: Path, reference: str, path: str
) -> None:
    # By its ARN (or a name), not by logical ID: still the role declared in resources
    (tmp_path / "serverless.yml").write_text(
        f"service: svc\nprovider:\n  name: aws\n  region: us-east-1\n"
        f"functions:\n  f:\n    handler: h\n    role: {reference}\n"
        "resources:\n  Resources:\n    WriteRole:\n      Type: AWS::IAM::Role\n"
        f"      Properties:\n        RoleName: write-role\n        Path: {path}\n"
        "        Policies:\n          - PolicyName: p\n            PolicyDocument:\n"
        "              Statement:\n                - {Effect: Allow, Action: 'dynamodb:GetItem', "
        "Resource: '*'}\n")
    grants, _ = _load(tmp_path / "serverless.yml", account=ACCOUNT)
    key = f"arn:aws:iam::{ACCOUNT}:role{path}write-role"
    assert [b.role for b in grants.bindings] == [key]
    assert [a for s in grants.roles[key].statements for a in s.actions] == ["dynamodb:GetItem"]


@pytest.mark.parametrize(("version", "resolved"), [('">=1.1.0 <2.0.0"', True), ('"3"', False)])
def test_framework_v1_fills_provider_stage_and_region_before_resolving(
        tmp_path: Path, version: str, resolved: bool) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(
        f"service: todos\nframeworkVersion: {version}\n"
        "provider:\n  name: aws\n"
        "  environment:\n    TABLE: ${self:service}-${opt:stage, self:provider.stage}\n"
        "  iamRoleStatements:\n    - Effect: Allow\n      Action: dynamodb:GetItem\n"
        "      Resource: arn:aws:dynamodb:${self:provider.region}:*:table/"
        "${self:provider.environment.TABLE}\n"
        "functions:\n  create:\n    handler: h.h\n")
    grants, _ = _load(path, region="eu-west-1", account=ACCOUNT)
    (statement,) = [s for role in grants.roles.values() for s in role.statements
                    if s.actions == ("dynamodb:GetItem",)]
    if resolved:  # v1's defaults: "dev", and the scan's region
        assert statement.resources == ("arn:aws:dynamodb:eu-west-1:*:table/todos-dev",)
    else:  # v3 leaves provider.stage to the file: ${sls:stage} is its default
        assert statement.resources[0].startswith("<unresolved:")
