from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from leastpriv_ci.cli import main
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants import branches
from leastpriv_ci.grants.declared import OTHERS, load_declared, with_policies
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.sources import cloudformation, sam
from leastpriv_ci.grants.undecided import TEMPLATE_CONDITION
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import PARTIAL, Role
from tests.partial_role_case import write_partial_role_case

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/orders-dev-us-east-1"


def summary(role: Role) -> list[tuple[str, int | None, dict[str, object], int | None]]:
    """(policy, policy line, statement JSON, statement line) for every statement."""
    return [
        (policy.name, policy.origin.line, statement.to_json(), statement.origin.line)
        for policy in role.policies
        for statement in policy.statements
    ]


def test_template_with_sub_getatt_conditions_and_findinmap(data_dir: Path) -> None:
    path = data_dir / "grants/cfn/template.yaml"
    notices = Notices()
    assert cloudformation.detect(path)
    grants = cloudformation.load(path, ResolveContext(), notices)
    assert list(grants.roles) == [ROLE_ARN]
    role = grants.roles[ROLE_ARN]
    assert role.name == "orders-dev-us-east-1"
    assert (role.origin.file, role.origin.line, role.origin.logical_id) == (
        str(path), 30, "OrdersRole")
    assert summary(role) == [
        ("tables", 42, {
            "Sid": "ReadWriteOrders", "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            "Resource": [f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-dev",
                         f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-dev/index/*"],
        }, 46),
        ("tables", 42, {"Effect": "Allow", "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::orders-archive-dev/*"}, 52),
        # the sns:Publish statement sits behind !If IsProd: Stage defaults to dev
        ("tables", 42, {"Effect": "Allow", "Action": "sqs:SendMessage",
                        "Resource": [f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-events-dev",
                                     "<unresolved:GetAtt ScratchQueue.Arn>"]}, 63),
        ("AWSLambdaBasicExecutionRole", 40, {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*"}, 40),
        ("debug", 67, {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}, 74),
        ("orders-audit", 78, {"Effect": "Deny", "Action": "dynamodb:DeleteTable",
                              "Resource": "<unresolved:ImportValue shared-tables-arn>"}, 85),
    ]
    managed = role.policies[1]
    assert managed.origin.policy_arn == (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    audit = role.policies[3]
    assert audit.origin.policy_arn == f"arn:aws:iam::{ACCOUNT}:policy/orders-audit"
    assert [(b.function, b.role, b.names, b.origin.line) for b in grants.bindings] == [
        ("OrdersFunction", ROLE_ARN, ("orders-api-dev", "OrdersFunction"), 89),
        ("WorkerTask", ROLE_ARN, ("orders-worker", "WorkerTask"), 97),
    ]
    assert notices.count("unresolved-value") == 2


def test_parameters_switch_conditions(data_dir: Path) -> None:
    context = ResolveContext(parameters={
        "Stage": "prod", "LegacyTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:legacy"})
    grants = cloudformation.load(data_dir / "grants/cfn/template.yaml", context, Notices())
    role = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/orders-prod-us-east-1"]
    statements = [(s.to_json(), s.origin.line) for s in role.statements]
    assert ({"Effect": "Allow", "Action": "sns:Publish",
             "Resource": f"arn:aws:sns:us-east-1:{ACCOUNT}:legacy"}, 59) in statements
    assert [p.name for p in role.policies] == [
        "tables", "AWSLambdaBasicExecutionRole", "orders-audit"]  # DebugPolicy needs NotProd


def test_cdk_synthesised_template(data_dir: Path) -> None:
    path = data_dir / "grants/cdk/cdk.out/OrdersStack.template.json"
    notices = Notices()
    assert cloudformation.detect(path)
    grants = cloudformation.load(path, ResolveContext(), notices)
    role = grants.roles["OrdersHandlerServiceRoleC0F9A3B1"]  # no RoleName: keyed by logical ID
    assert role.name is None
    assert summary(role) == [
        ("AWSLambdaBasicExecutionRole", 27, {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*"}, 27),
        ("OrdersHandlerServiceRoleDefaultPolicy6C0D4F3A", 32, {
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query",
                       "dynamodb:Scan"],
            "Resource": "<unresolved:GetAtt OrdersTable315BB997.Arn>"}, 37),
        ("OrdersHandlerServiceRoleDefaultPolicy6C0D4F3A", 32, {
            "Effect": "Allow", "Action": ["s3:PutObject", "s3:Abort*"],
            "Resource": "arn:aws:s3:::orders-receipts-123456789012/*"}, 42),
    ]
    [binding] = grants.bindings
    assert (binding.function, binding.role, binding.names) == (
        "OrdersHandler2A9C1B4E", "OrdersHandlerServiceRoleC0F9A3B1", ("OrdersHandler2A9C1B4E",))
    assert any("TableName is not set" in e for e in notices.items()[0].examples)


# A role with one inline policy p, under an Env parameter with no default: the
# statements written after it are p's
UNDECIDED_ROLE = (
    "Parameters: {Env: {Type: String}}\n"
    "Conditions: {IsProd: !Equals [!Ref Env, prod]}\n"
    "Resources:\n"
    "  R:\n"
    "    Type: AWS::IAM::Role\n"
    "    Properties:\n"
    "      Policies:\n"
    "        - PolicyName: p\n"
    "          PolicyDocument:\n"
    "            Statement:\n"
)


def test_undecidable_statement_holds_under_its_condition(tmp_path: Path) -> None:
    # Before, it stayed as a statement of unresolved actions and resources, which left
    # every decision on the role open; now each branch's statement holds under its value
    path = tmp_path / "template.yaml"
    path.write_text(
        UNDECIDED_ROLE +
        "              - {Effect: Allow, Action: 'sns:Publish', Resource: '*'}\n"
        "              - !If [IsProd, {Effect: Allow, Action: 's3:*', Resource: '*'}, "
        "{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]\n"
        "        - !If [IsProd, {PolicyName: q, PolicyDocument: {Statement: {Effect: Allow, "
        "Action: 'sqs:*', Resource: '*'}}}, !Ref AWS::NoValue]\n"
        "      ManagedPolicyArns:\n"
        "        - !If [IsProd, !Ref AWS::NoValue, "
        "'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']\n"
    )
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    prod, other = ({TEMPLATE_CONDITION: {"IsProd": (v,)}} for v in ("true", "false"))
    assert [(p.name, s.actions, s.conditions) for p in grants.roles["R"].policies
            for s in p.statements] == [
        ("p", ("sns:Publish",), {}), ("p", ("s3:*",), prod), ("p", ("s3:GetObject",), other),
        ("q", ("sqs:*",), prod),
        ("AWSLambdaBasicExecutionRole",
         ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"), other)]
    assert notices.count("policy-undecided") == 3


def test_an_undecided_if_in_a_statements_action_or_resource_splits_the_statement(
        tmp_path: Path) -> None:
    # IAM matches a list when any item does: one statement per branch, under its value,
    # beside the other items; NotResource is taken whole (its parts would match more)
    path = tmp_path / "template.yaml"
    path.write_text(
        UNDECIDED_ROLE +
        "              - Effect: Allow\n"
        "                Action: [sqs:SendMessage, !If [IsProd, sqs:DeleteMessage, "
        "!Ref AWS::NoValue]]\n"
        "                Resource: !If [IsProd, 'arn:aws:sqs:us-east-1:1:prod', "
        "'arn:aws:sqs:us-east-1:1:dev']\n"
        "              - Effect: Deny\n"
        "                Action: s3:*\n"
        "                NotResource: ['arn:aws:s3:::c/*', !If [IsProd, 'arn:aws:s3:::a/*',"
        " !Ref AWS::NoValue]]\n"
        "                Condition: {StringEquals: {'aws:SourceVpc': !If [IsProd, vpc-1, "
        "vpc-2]}}\n"
    )
    grants = cloudformation.load(path, ResolveContext(), Notices())
    prod, dev = ({"IsProd": (v,)} for v in ("true", "false"))
    found = [(s.effect, s.actions, s.resources, s.conditions.get(TEMPLATE_CONDITION))
             for s in grants.roles["R"].statements]
    assert sorted(found, key=repr) == sorted([
        ("Deny", ("s3:*",), ("arn:aws:s3:::c/*", "arn:aws:s3:::a/*"), prod),
        ("Deny", ("s3:*",), ("arn:aws:s3:::c/*",), dev),
        ("Allow", ("sqs:SendMessage",), ("arn:aws:sqs:us-east-1:1:prod",), prod),
        ("Allow", ("sqs:DeleteMessage",), ("arn:aws:sqs:us-east-1:1:prod",), prod),
        ("Allow", ("sqs:SendMessage",), ("arn:aws:sqs:us-east-1:1:dev",), dev),
    ], key=repr)
    denies = {s.conditions[TEMPLATE_CONDITION]["IsProd"]: (s.not_resources,
                                                          s.conditions["StringEquals"])
              for s in grants.roles["R"].statements if s.effect == "Deny"}
    assert denies == {("true",): (True, {"aws:SourceVpc": ("vpc-1",)}),
                      ("false",): (True, {"aws:SourceVpc": ("vpc-2",)})}


def test_an_undecided_if_inside_a_join_or_sub_gives_one_value_per_branch(
        tmp_path: Path) -> None:
    # Before, the whole item became an unresolved value
    path = tmp_path / "template.yaml"
    path.write_text(
        UNDECIDED_ROLE.replace("Conditions: {", "Conditions: {IsEu: !Equals [!Ref Env, eu], ") +
        "              - Effect: Allow\n"
        "                Action: !Join [':', [sqs, !If [IsProd, DeleteMessage, "
        "ReceiveMessage]]]\n"
        "                Resource:\n"
        "                  - !Sub ['arn:aws:sqs:${R}:1:${Q}', {R: !If [IsEu, eu-west-1, "
        "us-east-1], Q: !If [IsProd, prod, dev]}]\n"
        "                  - !If [IsProd, !Join ['', ['arn:aws:sqs:us-east-1:1:',"
        " !If [IsProd, p2, d2]]], !Ref AWS::NoValue]\n"
    )
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    found = {(s.actions, s.resources, tuple(sorted(
        (k, v[0]) for k, v in s.conditions.get(TEMPLATE_CONDITION, {}).items())))
        for s in grants.roles["R"].statements}
    assert found == {
        (("sqs:DeleteMessage",), ("arn:aws:sqs:eu-west-1:1:prod",),
         (("IsEu", "true"), ("IsProd", "true"))),
        (("sqs:DeleteMessage",), ("arn:aws:sqs:us-east-1:1:prod",),
         (("IsEu", "false"), ("IsProd", "true"))),
        (("sqs:ReceiveMessage",), ("arn:aws:sqs:eu-west-1:1:dev",),
         (("IsEu", "true"), ("IsProd", "false"))),
        (("sqs:ReceiveMessage",), ("arn:aws:sqs:us-east-1:1:dev",),
         (("IsEu", "false"), ("IsProd", "false"))),
        # behind IsProd, the inner test of IsProd takes the value already taken
        (("sqs:DeleteMessage",), ("arn:aws:sqs:us-east-1:1:p2",), (("IsProd", "true"),)),
    }
    assert notices.count("policy-undecided") >= 2
    assert not any("unresolved" in r for s in grants.roles["R"].statements for r in s.resources)


def test_role_policy_and_policy_attached_by_role_name(tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text("""{
  "Resources": {
    "Inline": {"Type": "AWS::IAM::RolePolicy", "Properties": {
      "RoleName": "external-role", "PolicyName": "extra",
      "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                        "Resource": "*"}]}}},
    "Known": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "known"}},
    "Shared": {"Type": "AWS::IAM::Policy", "Properties": {
      "PolicyName": "shared", "Roles": ["known"],
      "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "sns:Publish",
                                       "Resource": "*"}}}}
  }
}""")
    grants = cloudformation.load(path, ResolveContext(), Notices())
    known = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/known"]
    assert [p.name for p in known.policies] == ["shared"]
    # a role the template does not declare is another file's (or the account's): not a
    # role of this one policy, which would hide the role's others
    assert f"arn:aws:iam::{ACCOUNT}:role/external-role" not in grants.roles
    [(name, extra)] = grants.attached
    assert (name, [(extra.name, s.origin.line) for s in extra.statements]) == (
        "external-role", [("extra", 5)])
    # read with the template that declares it, in either order, the role has both
    (tmp_path / "roles.yaml").write_text(
        "Resources:\n  External:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      RoleName: external-role\n      Policies:\n        - PolicyName: own\n"
        "          PolicyDocument: {Statement: {Effect: Allow, Action: 's3:GetObject', "
        "Resource: '*'}}\n")
    for paths in ([path, tmp_path / "roles.yaml"], [tmp_path / "roles.yaml", path]):
        notices = Notices()
        declared = load_declared(paths, ResolveContext(), notices)
        external = declared.roles[f"arn:aws:iam::{ACCOUNT}:role/external-role"]
        assert [p.name for p in external.policies] == ["own", "extra"]
        assert notices.count("attached-role-not-declared") == 0
    # read alone, the role is partly declared: that policy, and its others unknown
    notices = Notices()
    alone = load_declared([path], ResolveContext(), notices).roles[
        f"arn:aws:iam::{ACCOUNT}:role/external-role"]
    assert alone.source == PARTIAL
    assert [p.name for p in alone.policies] == ["extra", OTHERS]
    assert alone.policies[1].statements[0].actions == (OTHERS,)
    assert notices.count("attached-role-not-declared") == 1
    # with the account's role, the policies it lacks are added to it (not "others")
    deployed = Role(key=alone.key, name="external-role", source="attached", policies=(
        replace(alone.policies[0], name="own"),))
    assert [p.name for p in with_policies(deployed, alone).policies] == ["own", "extra"]
    already = replace(deployed, policies=(alone.policies[0],))
    assert [p.name for p in with_policies(already, alone).policies] == ["extra"]


def test_a_partly_declared_role_has_the_resource_grants_the_files_give_it_by_name(
        tmp_path: Path) -> None:
    """A role the files only attach a policy to is granted what their resource policies
    give it by its ARN, and what they give every role of the account, as a declared
    role would be; with the account's role, those grants are added once."""
    role = f"arn:aws:iam::{ACCOUNT}:role/external-role"
    (tmp_path / "template.yaml").write_text(f"""\
Resources:
  Extra:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: external-role
      PolicyName: extra
      PolicyDocument: {{Statement: {{Effect: Allow, Action: sqs:SendMessage, Resource: "*"}}}}
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {{BucketName: reports}}
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Statement:
          - {{Sid: Named, Effect: Allow, Principal: {{AWS: "{role}"}}, Action: s3:GetObject,
             Resource: "arn:aws:s3:::reports/*"}}
          - {{Sid: Account, Effect: Allow, Principal: "*", Action: s3:ListBucket,
             Resource: "arn:aws:s3:::reports",
             Condition: {{StringEquals: {{aws:PrincipalAccount: "{ACCOUNT}"}}}}}}
""")
    context = ResolveContext(account=ACCOUNT)
    partial = load_declared([tmp_path / "template.yaml"], context, Notices()).roles[role]
    assert partial.source == PARTIAL
    assert [(s.sid, s.actions) for s in partial.resource_grants] == [
        ("Named", ("s3:GetObject",)), ("Account", ("s3:ListBucket",))]
    deployed = Role(key=role, name="external-role", policies=(), source="attached")
    assert with_policies(deployed, partial).resource_grants == partial.resource_grants


def test_a_use_the_unseen_policies_of_a_partly_declared_role_may_grant_is_not_gated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The template attaches an SQS policy to a role it does not declare; the function
    # running as that role publishes to SNS, which the role's other policies may allow
    (tmp_path / ".git").mkdir()
    write_partial_role_case(tmp_path, ACCOUNT)
    monkeypatch.chdir(tmp_path)
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "template.json",
                 "--format", "json", "--account", ACCOUNT])
    out, err = capsys.readouterr()
    assert out, err
    report = json.loads(out)
    findings = {(f["kind"], f["action"], f["conditional"]) for f in report["findings"]
                if f["kind"] != "platform"}
    assert findings == {("missing", "sns:Publish", True), ("excess", "sqs:SendMessage", False)}
    assert code == 0


def test_an_import_reads_what_another_scanned_template_exports(tmp_path: Path) -> None:
    # CDK's cross-stack references: the data stack exports its table's ARN, the API
    # stack's role imports it
    (tmp_path / "data.template.json").write_text(json.dumps({
        "Resources": {"Table": {"Type": "AWS::DynamoDB::Table",
                                "Properties": {"TableName": "orders"}}},
        "Outputs": {"TableArn": {"Value": {"Fn::GetAtt": ["Table", "Arn"]},
                                 "Export": {"Name": "data:TableArn"}},
                    "Generated": {"Value": {"Fn::GetAtt": ["Nowhere", "Arn"]},
                                  "Export": {"Name": "data:Nowhere"}}}}))
    (tmp_path / "api.template.json").write_text(json.dumps({"Resources": {"Role": {
        "Type": "AWS::IAM::Role", "Properties": {"RoleName": "api", "Policies": [{
            "PolicyName": "p", "PolicyDocument": {"Statement": [{
                "Effect": "Allow", "Action": "dynamodb:GetItem",
                "Resource": {"Fn::ImportValue": "data:TableArn"}}]}}]}}}}))
    paths = [tmp_path / "api.template.json", tmp_path / "data.template.json"]
    notices = Notices()
    role = load_declared(paths, ResolveContext(), notices).roles[
        f"arn:aws:iam::{ACCOUNT}:role/api"]
    assert role.statements[0].resources == (
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders",)
    assert notices.count("unresolved-value") == 0  # the first reading's warning is dropped
    # alone, it stays unresolved and says so; a parameter of that name wins over an export
    notices = Notices()
    alone = load_declared(paths[:1], ResolveContext(), notices).roles[
        f"arn:aws:iam::{ACCOUNT}:role/api"]
    assert alone.statements[0].resources == ("<unresolved:ImportValue data:TableArn>",)
    assert notices.count("unresolved-value") == 1
    given = ResolveContext(parameters={"data:TableArn": "arn:aws:dynamodb:::table/given"})
    assert load_declared(paths, given, Notices()).roles[
        f"arn:aws:iam::{ACCOUNT}:role/api"].statements[0].resources == (
        "arn:aws:dynamodb:::table/given",)


def test_a_function_importing_another_templates_role_runs_as_it(tmp_path: Path) -> None:
    # CDK's shared-role stack: the role's name is generated, so only the reference tells
    # which role the other stack's function runs as
    (tmp_path / "roles.template.json").write_text(json.dumps({
        "Resources": {
            "SharedRoleABC": {"Type": "AWS::IAM::Role", "Properties": {}},
            "SharedRolePolicy": {"Type": "AWS::IAM::Policy", "Properties": {
                "PolicyName": "shared", "Roles": [{"Ref": "SharedRoleABC"}],
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:*",
                                                  "Resource": "*"}]}}}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["SharedRoleABC", "Arn"]},
                            "Export": {"Name": "roles:ExportsOutputSharedRoleArn"}}}}))
    (tmp_path / "app.template.json").write_text(json.dumps({"Resources": {"Fn": {
        "Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "app-fn",
            "Role": {"Fn::ImportValue": "roles:ExportsOutputSharedRoleArn"}}}}}))
    paths = [tmp_path / "app.template.json", tmp_path / "roles.template.json"]
    notices = Notices()
    grants = load_declared(paths, ResolveContext(), notices)
    (binding,) = grants.bindings
    assert binding.role == "SharedRoleABC" and "app-fn" in binding.names
    assert [p.name for p in grants.roles["SharedRoleABC"].policies] == ["shared"]
    assert notices.count("unresolved-value") == 0
    # alone, the function's role stays unresolved; a parameter of that name still wins
    (alone,) = load_declared(paths[:1], ResolveContext(), Notices()).bindings
    assert alone.role == "<unresolved:ImportValue roles:ExportsOutputSharedRoleArn>"
    given = ResolveContext(parameters={
        "roles:ExportsOutputSharedRoleArn": f"arn:aws:iam::{ACCOUNT}:role/given"})
    (chosen,) = load_declared(paths, given, Notices()).bindings
    assert chosen.role == f"arn:aws:iam::{ACCOUNT}:role/given"


def _stack(name: str) -> dict[str, object]:
    """A stack as one CDK class synthesizes it: its logical IDs are the same in every
    instance; its role exports itself, as a cross-stack reference would."""
    return {"Resources": {
        "HandlerServiceRoleABC": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{
            "PolicyName": "p", "PolicyDocument": {"Statement": [{
                "Effect": "Allow", "Action": "sqs:SendMessage",
                "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-{name}"}]}}]}},
        "Handler": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": f"handler-{name}",
            "Role": {"Fn::GetAtt": ["HandlerServiceRoleABC", "Arn"]}}}},
        "Outputs": {"Role": {"Value": {"Fn::GetAtt": ["HandlerServiceRoleABC", "Arn"]},
                             "Export": {"Name": f"{name}:Role"}}}}


def test_two_stacks_of_one_class_keep_their_own_roles(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.template.json").write_text(json.dumps(_stack(name)))
    (tmp_path / "c.template.json").write_text(json.dumps({"Resources": {"Worker": {
        "Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "worker", "Role": {"Fn::ImportValue": "b:Role"}}}}}))
    notices = Notices()
    declared = load_declared([tmp_path / f"{n}.template.json" for n in "abc"],
                             ResolveContext(), notices, root=tmp_path)
    roles = {b.names[0]: b.role for b in declared.bindings}
    later = "b.template.json#HandlerServiceRoleABC"
    assert roles == {"handler-a": "HandlerServiceRoleABC", "handler-b": later,
                     "worker": later}
    assert declared.roles[later].key == later
    assert declared.roles[later].statements[0].resources == (
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-b",)
    assert notices.count("role-id-in-several-files") == 1
    # a copy of a stack (a packaged template) binds the same functions: one role, as before
    (tmp_path / "packaged.json").write_text(json.dumps(_stack("a")))
    notices = Notices()
    copied = load_declared([tmp_path / "a.template.json", tmp_path / "packaged.json"],
                           ResolveContext(), notices)
    assert list(copied.roles) == ["HandlerServiceRoleABC"]
    assert {b.role for b in copied.bindings} == {"HandlerServiceRoleABC"}
    assert notices.count("role-id-in-several-files") == 0
    # two stacks' templates are two roles even when CloudFormation names the functions (no
    # name to tell them by); the same stack's template twice is one
    generated = {}
    for folder, name in (("x", "Dev"), ("y", "Prod"), ("z", "Prod")):
        stack = _stack(name)
        del stack["Resources"]["Handler"]["Properties"]["FunctionName"]  # type: ignore[index]
        (tmp_path / folder).mkdir()
        generated[folder] = tmp_path / folder / f"{name}.template.json"
        generated[folder].write_text(json.dumps(stack))
    split = load_declared(list(generated.values()), ResolveContext(), Notices(),
                          root=tmp_path)
    assert sorted(split.roles) == ["HandlerServiceRoleABC",
                                   "y/Prod.template.json#HandlerServiceRoleABC"]
    assert [(b.origin.file, b.role) for b in split.bindings] == [
        ("x/Dev.template.json", "HandlerServiceRoleABC"),
        ("y/Prod.template.json", "y/Prod.template.json#HandlerServiceRoleABC"),
        ("z/Prod.template.json", "y/Prod.template.json#HandlerServiceRoleABC")]
    # each handler sends to its own queue: nothing is missing (before, both ran as b's role)
    traces = []
    for number, name in enumerate("ab"):
        trace_id = f"1-5f000000-00000000000000000000000{number}"
        document = {"id": f"s{number}", "name": f"handler-{name}", "trace_id": trace_id,
                    "origin": "AWS::Lambda::Function", "start_time": 1.0, "end_time": 2.0,
                    "aws": {"function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
                                            f"handler-{name}"},
                    "subsegments": [{"id": f"c{number}", "name": "SQS", "namespace": "aws",
                                     "aws": {"operation": "SendMessage", "region": "us-east-1",
                                             "queue_url": "https://sqs.us-east-1.amazonaws.com"
                                                          f"/{ACCOUNT}/queue-{name}"}}]}
        traces.append({"Id": trace_id, "Segments": [{"Id": f"s{number}",
                                                    "Document": json.dumps(document)}]})
    (tmp_path / "traces.json").write_text(json.dumps({"Traces": traces}))
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "a.template.json",
                 "--policy-paths", "b.template.json", "--format", "json",
                 "--account", ACCOUNT])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert [f for f in report["findings"] if f["kind"] == "missing"] == [], err
    assert code == 0


def test_malformed_template_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  A:\n    Type: AWS::IAM::Role\n    Properties: {a: [}\n")
    with pytest.raises(UserError, match=r"template\.yaml:4"):
        cloudformation.load(path, ResolveContext(), Notices())


def test_invalid_statement_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  A:\n    Type: AWS::IAM::Role\n    Properties:\n      Policies:\n"
        "        - PolicyName: p\n          PolicyDocument:\n            Statement:\n"
        "              - Effect: Allow\n                Action: s3:GetObject\n"
        "                Resource: not-an-arn\n"
    )
    with pytest.raises(UserError, match=r"template\.yaml:9.*not an ARN"):
        cloudformation.load(path, ResolveContext(), Notices())


def test_detect_ignores_serverless_and_other_yaml(tmp_path: Path) -> None:
    sls = tmp_path / "serverless.yml"
    sls.write_text("service: x\nresources:\n  Resources:\n    Q: {Type: AWS::SQS::Queue}\n")
    other = tmp_path / "ci.yml"
    other.write_text("jobs:\n  build:\n    runs-on: ubuntu-latest\n")
    assert not cloudformation.detect(sls)
    assert not cloudformation.detect(other)


@pytest.mark.parametrize("source", ["cloudformation", "sam"])
def test_a_resource_type_that_is_not_text_names_the_resource_and_line(
    tmp_path: Path, source: str
) -> None:
    transform = "Transform: AWS::Serverless-2016-10-31\n" if source == "sam" else ""
    path = tmp_path / "template.yaml"
    path.write_text(f"AWSTemplateFormatVersion: '2010-09-09'\n{transform}Resources:\n"
                    "  Fn:\n    Type: !Ref Kind\n    Properties: {}\n")
    module = sam if source == "sam" else cloudformation
    with pytest.raises(UserError, match=r"template\.yaml:\d+: resource 'Fn': Type must be"):
        module.load(path, ResolveContext(), Notices())


ATTACHED_UNDER_CONDITION = """\
Parameters:
  Env: {Type: String, Default: prod}
  Unknown: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Equals [!Ref Env, dev]
  Undecided: !Equals [!Ref Unknown, x]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties: {AssumeRolePolicyDocument: {}}
  Other:
    Type: AWS::IAM::Role
    Properties: {RoleName: other, AssumeRolePolicyDocument: {}}
  WholeList:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: whole-list
      Roles: !If [IsProd, [!Ref Role], []]
      PolicyDocument: {Statement: {Effect: Allow, Action: 'sqs:SendMessage', Resource: '*'}}
  PerItem:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles:
        - !If [IsProd, !Ref Role, !Ref AWS::NoValue]
        - !If [IsDev, !Ref Other, !Ref AWS::NoValue]
      PolicyDocument: {Statement: {Effect: Allow, Action: 'sns:Publish', Resource: '*'}}
  DevOnly:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: dev-only
      Roles: !If [IsDev, [!Ref Role], !Ref AWS::NoValue]
      PolicyDocument: {Statement: {Effect: Allow, Action: 's3:*', Resource: '*'}}
  Maybe:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: maybe
      Roles: !If [Undecided, [!Ref Role], []]
      PolicyDocument: {Statement: {Effect: Allow, Action: 'kms:Decrypt', Resource: '*'}}
  Unattached:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: {Statement: {Effect: Allow, Action: 'sqs:*', Resource: '*'}}
"""


def test_roles_behind_conditions_are_attached_by_the_decided_branch(tmp_path: Path) -> None:
    # Roles as a whole or item by item behind Fn::If: the decided branch's Ref names the
    # template role (keyed by logical ID, no RoleName); AWS::NoValue attaches nothing.
    path = tmp_path / "template.yaml"
    path.write_text(ATTACHED_UNDER_CONDITION)
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    assert set(grants.roles) == {"Role", f"arn:aws:iam::{ACCOUNT}:role/other"}
    assert [p.name for p in grants.roles["Role"].policies] == ["whole-list", "PerItem", "maybe"]
    assert grants.roles[f"arn:aws:iam::{ACCOUNT}:role/other"].policies == ()
    # Attached under a condition that cannot be decided: said, and attached with its
    # statements conditional on it (the other branch attaches nothing)
    [undecided] = [n for n in notices.items() if n.code == "attachment-undecided"]
    assert undecided.examples == (f"{path}:38: Maybe Roles If Undecided",)
    decided, maybe = grants.roles["Role"].policies[0], grants.roles["Role"].policies[2]
    assert decided.statements[0].conditions == {}
    assert [s.conditions for s in maybe.statements] == [
        {TEMPLATE_CONDITION: {"Undecided": ("true",)}}]


UNDECIDED_BRANCHES = """Parameters:
  Unknown: {Type: String}
Conditions:
  A: !Equals [!Ref Unknown, a]
  B: !Equals [!Ref Unknown, b]
Resources:
  First:
    Type: AWS::IAM::Role
    Properties: {RoleName: first, AssumeRolePolicyDocument: {}}
  Second:
    Type: AWS::IAM::Role
    Properties: {RoleName: second, AssumeRolePolicyDocument: {}}
  Either:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: either
      Roles:
        - !If [A, !Ref First, !If [B, !Ref Second, !If [A, !Ref Second, !Ref First]]]
      PolicyDocument:
        Statement:
          Effect: Allow
          Action: 'sqs:SendMessage'
          Resource: '*'
          Condition: {Bool: {'aws:SecureTransport': 'true'}}
"""


def test_each_branch_of_an_undecided_condition_attaches_under_its_value(
        tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(UNDECIDED_BRANCHES)
    grants = cloudformation.load(path, ResolveContext(), Notices())
    under = {key: [p.statements[0].conditions for p in role.policies]
             for key, role in grants.roles.items()}
    first, second = (f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in ("first", "second"))
    secure = {"Bool": {"aws:SecureTransport": ("true",)}}
    marker = TEMPLATE_CONDITION
    # a nested If on a condition already taken follows the value it was taken with
    assert under == {
        first: [{**secure, marker: {"A": ("true",)}},
                {**secure, marker: {"A": ("false",), "B": ("false",)}}],
        second: [{**secure, marker: {"A": ("false",), "B": ("true",)}}],
    }


def test_undecided_conditions_shared_through_yaml_aliases_are_capped(tmp_path: Path) -> None:
    # each level's two branches are one aliased node: 2**30 paths if followed
    conditions = "".join(f"  C{i}: !Equals [!Ref Unknown, '{i}']\n" for i in range(30))
    levels = "&l0 !Ref Target"
    for i in range(1, 30):
        levels = f"&l{i} !If [C{i}, {levels}, *l{i - 1}]"
    path = tmp_path / "template.yaml"
    path.write_text(
        f"Parameters:\n  Unknown: {{Type: String}}\nConditions:\n{conditions}Resources:\n"
        "  Target:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: t}\n"
        "  Policy:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: p\n"
        f"      Roles: [{levels}]\n"
        "      PolicyDocument: {Statement: {Effect: Allow, Action: 'sns:Publish', "
        "Resource: '*'}}\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    attached = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/t"].policies
    assert 0 < len(attached) <= branches.MAX_CONDITIONAL_BRANCHES
    assert notices.count("condition-undecided-capped") >= 1


def test_too_many_undecided_conditions_inside_one_value_stay_unresolved(
        tmp_path: Path) -> None:
    # 2**30 values if each were followed; shared (aliased) parts are copied once each
    conditions = "".join(f"  C{i}: !Equals [!Ref Unknown, '{i}']\n" for i in range(30))
    parts = ", ".join(f"!If [C{i}, a, b]" for i in range(30))
    path = tmp_path / "template.yaml"
    path.write_text(
        f"Parameters:\n  Unknown: {{Type: String}}\nConditions:\n{conditions}Resources:\n"
        "  Target:\n    Type: AWS::IAM::Role\n    Properties:\n      Policies:\n"
        "        - PolicyName: p\n          PolicyDocument:\n            Statement:\n"
        f"              - {{Effect: Allow, Action: 'sns:Publish', Resource: [!Join ['', [{parts}]],"
        " !Join ['', ['arn:aws:sns:us-east-1:1:', &shared !If [C0, x, y], *shared]]]}\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    resources = {(s.resources, s.conditions[TEMPLATE_CONDITION]["C0"])
                 if s.conditions else (s.resources, None)
                 for s in grants.roles["Target"].statements}
    assert resources == {(("<unresolved:Join " + "?" * 30 + ">",), None),
                         (("arn:aws:sns:us-east-1:1:xx",), ("true",)),
                         (("arn:aws:sns:us-east-1:1:yy",), ("false",))}
    assert notices.count("condition-undecided-capped") == 1


def test_a_value_taken_under_conditions_keeps_its_shared_nodes_shared() -> None:
    # a YAML alias is one node in many places: copied once, the copy stays as small
    shared = {"Fn::Join": ["", [{"Fn::If": ["C", "a", "b"]}]]}
    level = [shared, shared]
    for _ in range(40):
        level = [level, level]  # 2**40 paths
    copy = branches.assume(level, {"C": True})
    for _ in range(40):
        assert copy[0] is copy[1]
        copy = copy[0]
    assert copy == [{"Fn::Join": ["", ["a"]]}] * 2


def test_policies_that_resolve_to_no_value_are_no_policies(tmp_path: Path) -> None:
    # Dev-only grants behind Fn::If: in prod there is nothing, not an unknown policy.
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  Env: {Type: String, Default: prod}\n"
        "Conditions:\n  IsDev: !Equals [!Ref Env, dev]\nResources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      Policies: !If\n        - IsDev\n"
        "        - [{PolicyName: dev, PolicyDocument: {Statement: "
        "{Effect: Allow, Action: 'dynamodb:*', Resource: '*'}}}]\n"
        "        - !Ref AWS::NoValue\n"
        "      ManagedPolicyArns:\n"
        "        - !If [IsDev, 'arn:aws:iam::aws:policy/AdministratorAccess', "
        "!Ref AWS::NoValue]\n"
        "  Other:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      ManagedPolicyArns: !If [IsDev, ['arn:aws:iam::aws:policy/ReadOnlyAccess'], "
        "!Ref AWS::NoValue]\n"
        "      PermissionsBoundary: !If [IsDev, 'arn:aws:iam::aws:policy/PowerUserAccess', "
        "!Ref AWS::NoValue]\n")
    grants = cloudformation.load(path, ResolveContext(), Notices())
    assert grants.roles["Role"].policies == ()
    assert grants.roles["Other"].policies == ()
    assert grants.roles["Other"].boundary is None


def test_managed_policies_of_the_template_are_found_by_policy_arn(tmp_path: Path) -> None:
    # GetAtt PolicyArn, or the ARN written out (here with Sub), names the template's policy.
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  Unnamed:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      PolicyDocument: {Statement: {Effect: Allow, Action: 'sqs:SendMessage', "
        "Resource: '*'}}\n"
        "  Named:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      ManagedPolicyName: named\n"
        "      PolicyDocument: {Statement: {Effect: Allow, Action: 's3:GetObject', "
        "Resource: '*'}}\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: r\n"
        "      ManagedPolicyArns:\n"
        "        - !GetAtt Unnamed.PolicyArn\n"
        "        - !GetAtt Named.PolicyArn\n"
        "        - !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/named'\n"
        f"        - arn:aws:iam::{ACCOUNT}:policy/named\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    assert set(grants.roles) == {f"arn:aws:iam::{ACCOUNT}:role/r"}
    role = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"]
    assert [(p.name, p.origin.line) for p in role.policies] == [
        ("Unnamed", 3), ("named", 7), ("named", 7), ("named", 7)]
    assert [s.actions for s in role.statements] == [
        ("sqs:SendMessage",), ("s3:GetObject",), ("s3:GetObject",), ("s3:GetObject",)]
    assert notices.count("managed-policy-unresolved") == 0


def test_a_role_named_through_sub_or_a_decided_if_is_bound(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  Env: {Type: String, Default: prod}\n"
        "Conditions:\n  IsProd: !Equals [!Ref Env, prod]\nResources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  BySub:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Role: !Sub '${Role.Arn}'}\n"
        "  BySubList:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Role: !Sub ['${Role.Arn}', {}]}\n"
        "  ByIf:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Role: !If [IsProd, !GetAtt Role.Arn, 'arn:aws:iam::1:role/x']}\n"
        "  Flow:\n    Type: AWS::StepFunctions::StateMachine\n"
        "    Properties: {RoleArn: !If [IsProd, !Sub '${Role.Arn}', !Ref AWS::NoValue]}\n"
        "  Shadowed:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Role: !Sub ['${Role}', {Role: 'arn:aws:iam::1:role/y'}]}\n")
    grants = cloudformation.load(path, ResolveContext(), Notices())
    assert {b.function: b.role for b in grants.bindings} == {
        "BySub": "Role", "BySubList": "Role", "ByIf": "Role", "Flow": "Role",
        "Shadowed": "arn:aws:iam::1:role/y"}


def test_a_policy_attached_under_an_undecided_condition_is_conditional_in_the_analysis(
        tmp_path: Path) -> None:
    # The use it grants "may be missing" (the condition may hold; before, it was missing
    # for sure), its unused grant is excess only with that caveat, and the proposal does
    # not copy the stand-in condition
    from leastpriv_ci.analysis import analyse
    from leastpriv_ci.records import Access, Observation, PrincipalUsage

    path = tmp_path / "template.yaml"
    path.write_text(ATTACHED_UNDER_CONDITION.replace(
        "Action: 'kms:Decrypt', Resource: '*'",
        "Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: '*'"))
    grants = cloudformation.load(path, ResolveContext(), Notices())
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"
    used = Access(function, "dynamodb:GetItem", table, trace_ids=("1-a",))
    usage = Observation(principals={function: PrincipalUsage(function, None, 1, (used,))},
                        traces=1)
    analysis = analyse(usage, dict(grants.roles), {function: "Role"})
    [get] = [f for f in analysis.findings if f.kind == "missing"]
    assert (get.action, get.conditional, get.detail["decision"]) == (
        "dynamodb:GetItem", True, "conditional")
    [put] = [f for f in analysis.findings
             if f.kind == "excess" and f.action == "dynamodb:PutItem"]
    assert put.conditional
    assert "template condition" not in json.dumps(analysis.proposals["Role"])


def test_a_boundary_chosen_by_an_undecided_condition_is_both_under_their_values(
        tmp_path: Path) -> None:
    # Taking one branch would deny for sure what only the other branch allows
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters: {Env: {Type: String}}\n"
        "Conditions: {IsProd: !Equals [!Ref Env, prod]}\n"
        "Resources:\n"
        "  Narrow:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      PolicyDocument: {Statement: {Effect: Allow, Action: 's3:GetObject', "
        "Resource: '*'}}\n"
        "  Wide:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      PolicyDocument: {Statement: {Effect: Allow, Action: 's3:*', Resource: '*'}}\n"
        "  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      PermissionsBoundary: !If [IsProd, !Ref Narrow, !Ref Wide]\n")
    grants = cloudformation.load(path, ResolveContext(), Notices())
    boundary = grants.roles["R"].boundary
    assert boundary is not None
    assert [(s.actions, s.conditions) for s in boundary.statements] == [
        (("s3:GetObject",), {TEMPLATE_CONDITION: {"IsProd": ("true",)}}),
        (("s3:*",), {TEMPLATE_CONDITION: {"IsProd": ("false",)}})]


def test_a_policy_document_written_as_json_text_is_read(tmp_path: Path) -> None:
    # CloudFormation's PolicyDocument is of type Json: text is as good as a mapping.
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  Cluster: {Type: String, Default: demo}\n  Key: {Type: String}\n"
        "Resources:\n"
        "  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: worker\n"
        "      Policies:\n        - PolicyName: plain\n"
        "          PolicyDocument: '{\"Statement\": [{\"Effect\": \"Allow\", "
        "\"Action\": \"sqs:SendMessage\", \"Resource\": \"*\"}]}'\n"
        "  Controller:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      Roles: [!Ref Worker]\n"
        "      PolicyDocument: !Sub |\n"
        "        {\n"
        '          "Version": "2012-10-17",\n'
        '          "Statement": [\n'
        '            {"Effect": "Allow", "Action": "s3:GetObject",\n'
        '             "Resource": "arn:${AWS::Partition}:s3:::${Cluster}-data/*"},\n'
        '            {"Effect": "Allow", "Action": "kms:Decrypt",\n'
        '             "Resource": "arn:aws:kms:eu-west-1:123456789012:key/${Key}"}\n'
        "          ]\n"
        "        }\n"
        "  Listed:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: listed\n"
        "      Roles: [!Ref Worker]\n"
        "      PolicyDocument: !Sub\n"
        "        - '{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"sns:Publish\", "
        "\"Resource\": \"${Topic}\"}}'\n"
        "        - Topic: !Sub 'arn:aws:sns:eu-west-1:${AWS::AccountId}:${Cluster}'\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT), notices)
    role = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/worker"]
    found = {s.actions[0]: s.resources for s in role.statements}
    assert found["sqs:SendMessage"] == ("*",)
    assert found["s3:GetObject"] == ("arn:aws:s3:::demo-data/*",)
    # The parameter without a value leaves its own string unresolved, not the document.
    (key,) = found["kms:Decrypt"]
    assert key.startswith("<unresolved:")
    assert found["sns:Publish"] == (f"arn:aws:sns:eu-west-1:{ACCOUNT}:demo",)
    kms = next(s for s in role.statements if s.actions == ("kms:Decrypt",))
    assert kms.origin.line == 13  # the resource's: the text's own lines are not the file's


def test_a_policy_document_of_text_that_is_not_json_names_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      RoleName: worker\n"
        "      Policies:\n        - PolicyName: broken\n"
        "          PolicyDocument: '{\"Statement\": [}'\n")
    with pytest.raises(UserError) as raised:
        cloudformation.load(path, ResolveContext(account=ACCOUNT), Notices())
    assert "'broken' is text that does not parse as JSON" in str(raised.value)
    assert f"{path}:7" in str(raised.value)


def test_fn_foreach_loops_are_expanded_as_cloudformation_expands_them(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::LanguageExtensions\n"
        "Parameters:\n  Queues: {Type: CommaDelimitedList, Default: 'in,out'}\n"
        "  Unset: {Type: CommaDelimitedList}\n"
        "Resources:\n"
        "  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: worker\n"
        "  Fn::ForEach::Tables:\n"
        "    - Table\n    - [orders, order-lines]\n"
        "    - 'Read&{Table}':\n"
        "        Type: AWS::IAM::Policy\n        Properties:\n"
        "          PolicyName: !Sub 'read-${Table}'\n          Roles: [!Ref Worker]\n"
        "          PolicyDocument:\n            Statement:\n"
        "              - Effect: Allow\n                Action: dynamodb:GetItem\n"
        "                Resource: !Sub 'arn:aws:dynamodb:eu-west-1:${AWS::AccountId}:"
        "table/${Table}'\n"
        "      Fn::ForEach::Queues:\n"  # nested: one policy per table and queue
        "        - Queue\n        - !Ref Queues\n"
        "        - 'Send&{Table}${Queue}':\n"
        "            Type: AWS::IAM::Policy\n            Properties:\n"
        "              PolicyName: !Sub 'send-${Table}-${Queue}'\n"
        "              Roles: [!Ref Worker]\n"
        "              PolicyDocument:\n                Statement:\n"
        "                  - Effect: Allow\n                    Action: sqs:SendMessage\n"
        "                    Resource: !Join [':', [arn:aws:sqs:eu-west-1, "
        "!Ref AWS::AccountId, !Ref Queue]]\n"
        "  Fn::ForEach::Never:\n    - Name\n    - !Ref Unset\n"
        "    - '${Name}Role':\n        Type: AWS::IAM::Role\n"
        "        Properties: {RoleName: !Ref Name}\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT), notices)
    assert list(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/worker"]
    policies = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/worker"].policies
    assert sorted(p.name for p in policies) == [
        "read-order-lines", "read-orders", "send-order-lines-in", "send-order-lines-out",
        "send-orders-in", "send-orders-out"]
    by_name = {p.name: p for p in policies}
    assert by_name["read-order-lines"].origin.logical_id == "Readorderlines"  # &{}: no '-'
    assert by_name["read-orders"].statements[0].resources == (
        f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders",)
    assert by_name["send-orders-out"].statements[0].resources == (
        f"arn:aws:sqs:eu-west-1:{ACCOUNT}:out",)  # Ref of the identifier is its item
    assert notices.count("cfn-foreach-not-expanded") == 1  # Never: its collection is unset
    assert "Never" in notices.items()[0].examples[0]
    # A parameter value given to the scan is the collection.
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT,
                                                      parameters={"Unset": "a,b"}), notices)
    assert sorted(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in ("a", "b",
                                                                                "worker")]


def test_fn_foreach_loops_that_multiply_are_capped(tmp_path: Path) -> None:
    items = "[" + ", ".join(f"v{i}" for i in range(20)) + "]"
    body = "  Fn::ForEach::L0:\n    - A0\n    - " + items + "\n    - "
    indent = "      "
    for depth in range(1, 5):  # five loops deep, 20 items each: 3.2 million roles unless capped
        body += f"Fn::ForEach::L{depth}:\n{indent}- A{depth}\n{indent}- {items}\n{indent}- "
        indent += "  "
    keys = "".join("${A" + str(d) + "}" for d in range(5))
    body += f"'R{keys}':\n{indent}  Type: AWS::IAM::Role\n{indent}  Properties: {{}}\n"
    path = tmp_path / "template.yaml"
    path.write_text("Transform: AWS::LanguageExtensions\nResources:\n" + body)
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT), notices)
    assert 0 < len(grants.roles) <= 2000
    assert notices.count("cfn-foreach-not-expanded") >= 1


def test_a_managed_policy_named_by_the_role_and_naming_the_role_is_attached_once(
        tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      ManagedPolicyArns: [!Ref Shared]\n"
        "  Shared:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      Roles: [!Ref Role]\n      PolicyDocument:\n        Statement:\n"
        "          - {Effect: Allow, Action: sqs:SendMessage, Resource: '*'}\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT), notices)
    assert [p.name for p in grants.roles["Role"].policies] == ["Shared"]
    assert len(notices) == 0  # CloudFormation names the policy: nothing to warn about


def test_fn_foreach_budgets_what_it_copies_and_ignores_an_ssm_parameters_name(
        tmp_path: Path) -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(20_000)]
    template = {"Transform": "AWS::LanguageExtensions", "Resources": {
        "Fn::ForEach::Bomb": ["Item", [f"i{n}" for n in range(1999)], {
            "Q${Item}": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": tags}}}]}}
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    notices = Notices()
    cloudformation.load(path, ResolveContext(account=ACCOUNT), notices)  # 40 M copies unless
    assert notices.count("cfn-foreach-not-expanded") == 1
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::LanguageExtensions\n"
        "Parameters:\n  Names:\n    Type: AWS::SSM::Parameter::Value<List<String>>\n"
        "    Default: /app/role-names\n"
        "Resources:\n  Fn::ForEach::Roles:\n    - Name\n    - !Ref Names\n"
        "    - '&{Name}Role':\n        Type: AWS::IAM::Role\n"
        "        Properties: {RoleName: !Ref Name}\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT), notices)
    assert not grants.roles  # not a role named "/app/role-names"
    assert notices.count("cfn-foreach-not-expanded") == 1


def test_a_json_text_policy_with_a_variable_in_a_key_is_substituted_whole(
        tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  TagKey: {Type: String, Default: team}\n"
        "Resources:\n  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      RoleName: worker\n      Policies:\n        - PolicyName: tagged\n"
        "          PolicyDocument: !Sub |\n"
        '            {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",\n'
        '              "Resource": "*", "Condition": {"StringEquals":\n'
        '                {"aws:ResourceTag/${TagKey}": "orders"}}}]}\n')
    grants = cloudformation.load(path, ResolveContext(account=ACCOUNT), Notices())
    (statement,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/worker"].statements
    assert statement.conditions == {"StringEquals": {"aws:ResourceTag/team": ("orders",)}}


def test_a_role_arn_built_from_the_roles_name_binds_the_template_role(tmp_path: Path) -> None:
    # Ref of a role is its name: an ARN built around it (Sub or Join) is that role, as
    # GetAtt Arn is; so is a literal ARN ending with a RoleName the template sets (the
    # function's role is in the stack's account, whatever account the ARN spells)
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  TaskRole:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  NamedRole:\n    Type: AWS::IAM::Role\n"
        "    Properties: {AssumeRolePolicyDocument: {}, RoleName: orders-fn}\n"
        "  BySub:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: by-sub\n"
        "      TaskRoleArn: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${TaskRole}'\n"
        "  BySubList:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      Role: !Sub ['arn:${AWS::Partition}:iam::${Account}:role/${TaskRole}',\n"
        "                  {Account: !Ref AWS::AccountId}]\n"
        "  ByJoin:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: by-join\n"
        "      TaskRoleArn: !Join ['', ['arn:', !Ref AWS::Partition, ':iam::',\n"
        "                               !Ref AWS::AccountId, ':role/', !Ref TaskRole]]\n"
        "  ByLiteral:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Role: 'arn:aws:iam::111122223333:role/orders-fn'}\n"
        "  ByNamedSub:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Role: !Sub 'arn:aws:iam::${AWS::AccountId}:role/${NamedRole}'}\n"
        # not the role's ARN: a policy's, or the name shadowed by a Sub variable
        "  NotARole:\n    Type: AWS::Lambda::Function\n"
        "    Properties: {Role: !Sub 'arn:aws:iam::${AWS::AccountId}:policy/${TaskRole}'}\n"
        "  Shadowed:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      Role: !Sub ['arn:aws:iam::${AWS::AccountId}:role/${TaskRole}', {TaskRole: x}]\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    named = f"arn:aws:iam::{ACCOUNT}:role/orders-fn"
    assert {b.function: b.role for b in grants.bindings} == {
        "BySub": "TaskRole", "BySubList": "TaskRole", "ByJoin": "TaskRole",
        "ByLiteral": named, "ByNamedSub": named,
        "NotARole": "<unresolved:Sub arn:aws:iam::123456789012:policy/${TaskRole}>",
        "Shadowed": f"arn:aws:iam::{ACCOUNT}:role/x"}
    # the built ARNs were never resolved on their own: no warning about the role's name
    assert notices.count("unresolved-value") == 1  # NotARole's


def test_an_instance_profile_binds_its_role_and_is_named_by_the_instances_using_it(
    data_dir: Path,
) -> None:
    grants = cloudformation.load(data_dir / "grants/cfn/ec2-instance-profile.yaml",
                                 ResolveContext(), Notices())
    assert [(b.function, b.role, b.names, b.kind, b.origin.line) for b in grants.bindings] == [
        ("WebProfile", "WebRole",
         ("web-profile", "WebProfile", "WebServer", "WebLaunchTemplate", "WebLaunchConfig",
          "WebAsg", "WebConfigAsg"),  # Auto Scaling groups, by what they launch
         "instance-profile", 22),
        # Roles names the role by its name
        ("BatchProfile", f"arn:aws:iam::{ACCOUNT}:role/batch-role",
         ("BatchProfile", "BatchServer"), "instance-profile", 51),
    ]


def test_a_task_definitions_execution_role_is_the_services_own(tmp_path: Path) -> None:
    # ECS's agent uses the execution role; the task role is the code's. A role that is
    # both stays a role traced code runs as.
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  TaskRole:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  ExecRole:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  BothRole:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  Web:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: web\n      TaskRoleArn: !GetAtt TaskRole.Arn\n"
        "      ExecutionRoleArn: !GetAtt ExecRole.Arn\n"
        "  Jobs:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: jobs\n      TaskRoleArn: !Ref BothRole\n"
        "      ExecutionRoleArn: !Ref BothRole\n")
    grants = cloudformation.load(path, ResolveContext(), Notices())
    assert {b.function: b.role for b in grants.bindings} == {"Web": "TaskRole",
                                                             "Jobs": "BothRole"}
    assert grants.service_roles == {"ExecRole", "BothRole"}
    assert grants.untraceable() == {"ExecRole"}


def test_a_task_role_left_out_by_a_decided_condition_binds_nothing(tmp_path: Path) -> None:
    # TaskRoleArn: !If [C, role, !Ref AWS::NoValue] with C false: the task runs as no
    # role, as when the property is not written
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  WithRole: {Type: String, Default: 'no'}\n"
        "Conditions:\n  HasRole: !Equals [!Ref WithRole, 'yes']\n"
        "Resources:\n"
        "  TaskRole:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  Web:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: web\n"
        "      TaskRoleArn: !If [HasRole, !GetAtt TaskRole.Arn, !Ref AWS::NoValue]\n"
        "  Profile:\n    Type: AWS::IAM::InstanceProfile\n    Properties:\n"
        "      Roles: !If [HasRole, [!Ref TaskRole], !Ref AWS::NoValue]\n"
        "  Jobs:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: jobs\n"
        "      TaskRoleArn: !If [HasRole, !Ref AWS::NoValue, !GetAtt TaskRole.Arn]\n")
    grants = cloudformation.load(path, ResolveContext(), Notices())
    assert [(b.function, b.role) for b in grants.bindings] == [("Jobs", "TaskRole")]


def test_an_execution_role_named_by_its_arn_or_name_written_out_is_the_services_own(
    tmp_path: Path,
) -> None:
    # ExecutionRoleArn takes what TaskRoleArn takes: the template role's ARN written out
    # (or built by Sub around its RoleName), or its name; such a role is ECS's as well,
    # not a role without traces
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  TaskRole:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  ExecRole:\n    Type: AWS::IAM::Role\n"
        "    Properties: {RoleName: orders-exec, AssumeRolePolicyDocument: {}}\n"
        "  JobsExec:\n    Type: AWS::IAM::Role\n"
        "    Properties: {RoleName: jobs-exec, AssumeRolePolicyDocument: {}}\n"
        "  Web:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: web\n      TaskRoleArn: !GetAtt TaskRole.Arn\n"
        "      ExecutionRoleArn: !Sub arn:${AWS::Partition}:iam::999999999999:role/orders-exec\n"
        "  Jobs:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      Family: jobs\n      TaskRoleArn: !GetAtt TaskRole.Arn\n"
        "      ExecutionRoleArn: jobs-exec\n")
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    exec_role = f"arn:aws:iam::{ACCOUNT}:role/orders-exec"
    jobs_exec = f"arn:aws:iam::{ACCOUNT}:role/jobs-exec"
    assert grants.service_roles == grants.untraceable() == {exec_role, jobs_exec}
    assert not notices.items()
