"""Resource-based policies in templates: the statements that name a template's role."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.grants.model import EVERY_ROLE, GrantSet, ResolveContext, StackResource
from leastpriv_ci.grants.resource_policies import (
    UNREAD,
    ResourceGrants,
    for_every_role,
    is_public,
    may_refuse,
    named_elsewhere,
    principal_roles,
    refuses,
    resource_policy_types,
    role_grants,
)
from leastpriv_ci.grants.sources import cloudformation, serverless, terraform, terraform_plan
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Role, Statement
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

ACCOUNT = "123456789012"
WORKER = f"arn:aws:iam::{ACCOUNT}:role/worker"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def grants_of(role: Role) -> list[tuple[str | None, tuple[str, ...], tuple[str, ...], int | None]]:
    return [(s.origin.policy_name, s.actions, s.resources, s.origin.line)
            for s in role.resource_grants]


def load(data_dir: Path, context: ResolveContext | None = None
         ) -> tuple[dict[str, Role], Notices]:
    notices = Notices()
    grants = cloudformation.load(data_dir / "grants/cfn/resource-policies.yaml",
                                 context or ResolveContext(), notices)
    return dict(grants.roles), notices


def test_statements_naming_a_role_are_its_resource_grants(data_dir: Path) -> None:
    roles, notices = load(data_dir)
    assert grants_of(roles["AppRole"]) == [
        ("bucket policy", ("s3:GetObject",), ("arn:aws:s3:::uploads-bucket/*",), 36),
        # a key policy's "*" is the key, whose ID AWS makes at deployment
        ("key policy", ("kms:Decrypt",), ("<unresolved:GetAtt Key.Arn>",), 63),
    ]
    [read] = roles["AppRole"].resource_grants[:1]
    assert read.sid == "App reads" and read.principal is None and read.is_allow
    assert read.origin.logical_id == "UploadsPolicy"
    # The account's root (which delegates to IAM), a service, "*" under a Deny: no role.
    # The role is named by its ARN too; another account's role of its name is not it.
    assert grants_of(roles[WORKER]) == [
        ("queue policy", ("sqs:SendMessage", "sqs:ReceiveMessage"),
         (f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs",), 81),
    ]
    # the statement whose Resource is not an ARN is skipped, with a warning naming it
    [unread] = [n for n in notices.items() if n.code == UNREAD]
    assert unread.count == 1
    assert "resource-policies.yaml:85" in unread.examples[0]
    assert "jobs-queue-not-an-arn" in unread.examples[0]
    # resource policies are never the role's own grants
    assert [p.name for p in roles["AppRole"].policies] == ["own"]


def test_a_deployed_key_s_policy_is_on_the_key_s_arn(data_dir: Path) -> None:
    deployed = {"Key": StackResource("Key", "AWS::KMS::Key", KEY_ID)}
    roles, _ = load(data_dir, ResolveContext(deployed=deployed))
    assert grants_of(roles["AppRole"])[1][2] == (
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",)


def test_only_aws_principals_other_than_anyone_may_name_a_role() -> None:
    assert principal_roles("*") == []
    assert principal_roles({"Service": "lambda.amazonaws.com"}) == []
    assert principal_roles({"AWS": "*"}) == []
    arn = {"Fn::GetAtt": ["Role", "Arn"]}
    assert principal_roles({"AWS": [arn, "*", WORKER]}) == [arn, WORKER]
    # a value that is no ARN (an object, as a hostile file writes it) names no role
    statement = _statement({"AWS": [{}, WORKER]})
    assert [name for name, _ in named_elsewhere(statement, set(), ACCOUNT)] == ["worker"]
    granted = ResourceGrants.empty()
    granted.add(replace(statement, effect="Deny"), set(), ACCOUNT, "*", Origin())
    assert [name for name, _ in granted.by_name] == ["worker"]


def test_the_data_names_services_the_catalog_knows() -> None:
    catalog = get_catalog()
    for kind, found in resource_policy_types().items():
        assert catalog.covers_any(f"{kind.split('::')[1].lower()}:*"), kind
        assert found.kind.endswith(" policy") and (found.document[0] or found.permission), kind


def test_a_permission_s_properties_are_those_its_service_s_api_takes() -> None:
    """CloudFormation's properties (and Terraform's arguments, in snake case) of a
    permission are the members of the service's AddPermission request."""
    import boto3
    from botocore import xform_name

    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                    region_name="us-east-1")
    checked = 0
    for source, service_of, spelled in (
            ("cloudformation", lambda kind: kind.split("::")[1].lower(), str),
            ("terraform", lambda kind: kind.split("_")[1], xform_name)):
        for kind, found in resource_policy_types(source).items():
            if found.permission is None:
                continue
            model = session.client(service_of(kind)).meta.service_model
            members = {spelled(m) for m in model.operation_model(
                "AddPermission").input_shape.members}
            named = {*found.permission.properties, found.star, found.qualifier} - {None}
            assert named <= members, (kind, named - members)
            checked += 1
    assert checked == 2


def test_terraform_resource_policies_naming_a_role_by_its_arn(data_dir: Path) -> None:
    notices = Notices()
    folder = data_dir / "grants/terraform/resource-policies"
    grants = terraform.load(folder / "main.tf", ResolveContext(), notices)
    app = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/app"]
    assert grants_of(app) == [
        ("bucket policy", ("s3:GetObject",), ("arn:aws:s3:::uploads-bucket/*",), 17),
        # an inline queue policy's "*" is the queue; another account's "app" is not it
        ("queue policy", ("sqs:SendMessage",), (f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs",), 51),
        ("key policy", ("kms:Decrypt",), ("<unresolved:the key policy's Resource *>",), 63),
    ]
    assert [s.origin.logical_id for s in app.resource_grants] == [
        "aws_s3_bucket_policy.uploads", "aws_sqs_queue.jobs", "aws_kms_key.main"]
    assert grants.roles["aws_iam_role.anon"].resource_grants == ()
    assert [p.name for p in app.policies] == []
    # nothing about the policies the scan only reads to explain a use: no Principal
    # warning (they are resource policies), no unresolved key ARN
    assert notices.items() == []


def test_serverless_resource_policies_naming_the_service_s_roles(data_dir: Path) -> None:
    notices = Notices()
    path = data_dir / "grants/serverless/cases/resource_policies/serverless.yml"
    grants = serverless.load(path, ResolveContext(), notices)
    objects = ("arn:aws:s3:::notes-uploads-dev/*",)
    # the framework's shared role, by Fn::GetAtt IamRoleLambdaExecution.Arn
    shared = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/notes-dev-us-east-1-lambdaRole"]
    assert grants_of(shared) == [("bucket policy", ("s3:GetObject",), objects, 41)]
    # a role of resources.Resources, by its ARN (not another account's of its name)
    worker = grants.roles[WORKER.replace("worker", "notes-worker")]
    assert grants_of(worker) == [("bucket policy", ("s3:PutObject",), objects, 45)]
    assert [p.name for p in shared.policies] == ["dev-notes-lambda"]
    assert notices.items() == []
    assert grants.granted_by_name == ()  # another account's role of a service role's name


def test_a_terraform_plan_s_resource_policies_naming_a_role_by_its_arn(
    data_dir: Path,
) -> None:
    notices = Notices()
    path = data_dir / "grants/terraform/plan/resource-policies.tfplan.json"
    grants = terraform_plan.load(path, ResolveContext(), notices)
    app = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/app"]
    # a plan holds no lines: the origin is the policy's resource
    assert [(s.origin.logical_id, s.origin.policy_name, s.actions, s.resources)
            for s in app.resource_grants] == [
        ("aws_s3_bucket_policy.uploads", "bucket policy", ("s3:GetObject",),
         ("arn:aws:s3:::uploads-bucket/*",)),
        ("aws_kms_key.main", "key policy", ("kms:Decrypt",),
         (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",)),  # "*": the key, as planned
    ]
    assert app.resource_grants[0].sid == "App reads"
    assert app.policies == ()
    assert notices.items() == []
    # a role the plan does not create, named for anyone whose ARN is its: by its name,
    # for the file that declares it (another account's "app" is nobody's)
    [(name, receive)] = [(n, s) for n, s in grants.granted_by_name if n != EVERY_ROLE]
    assert (name, receive.actions, receive.conditions, receive.origin.logical_id) == (
        "reporting", ("sqs:ReceiveMessage",), {}, "aws_sqs_queue_policy.jobs")
    # the bucket's TLS-only Deny for anyone may refuse every role
    [tls] = [s for n, s in grants.granted_by_name if n == EVERY_ROLE]
    assert (tls.effect, tls.principal, tls.resources, tls.origin.logical_id) == (
        "Deny", "*", ("arn:aws:s3:::uploads-bucket/*",), "aws_s3_bucket_policy.uploads")


def test_entries_of_resources_that_are_no_resource_name_no_policy(
    data_dir: Path, tmp_path: Path
) -> None:
    """Serverless passes resources.Resources as written (found by fuzz/run.py grants)."""
    text = (data_dir / "grants/serverless/cases/resource_policies/serverless.yml").read_text()
    hostile = text.replace("    Uploads:\n", "    Junk: just text\n    Listed: [1, 2]\n"
                           "    Nothing:\n    Uploads:\n")
    path = tmp_path / "serverless.yml"
    path.write_text(hostile)
    grants = serverless.load(path, ResolveContext(), Notices())
    shared = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/notes-dev-us-east-1-lambdaRole"]
    assert [s.actions for s in shared.resource_grants] == [("s3:GetObject",)]


def _statement(principal: object, condition: dict[str, object] | None = None) -> Statement:
    raw: dict[str, object] = {"Effect": "Allow", "Principal": principal,
                              "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    if condition is not None:
        raw["Condition"] = condition
    [statement] = parse_policy({"Version": "2012-10-17", "Statement": [raw]},
                               name="bucket policy").statements
    return statement


APP = f"arn:aws:iam::{ACCOUNT}:role/app-api"
ROLES = {APP, WORKER, "AppRole"}


def test_anyone_whose_arn_a_condition_names_is_the_role_it_names() -> None:
    vpc = {"aws:SourceVpce": "vpce-1"}
    statement = _statement("*", {"ArnEquals": {"aws:PrincipalArn": APP}, "StringEquals": vpc})
    [(key, granting)] = role_grants(statement, ROLES)
    # decided for the role: the condition on its ARN is gone, the others stay to be judged
    assert key == APP and granting.conditions == {"StringEquals": {"aws:SourceVpce": (
        "vpce-1",)}}
    # and names the role as it grants it, where the written Principal was anyone
    assert granting.principal == {"AWS": APP}
    # a pattern names every role it matches; IfExists and IgnoreCase forms are equalities
    pattern = _statement({"AWS": "*"}, {"ArnLikeIfExists": {
        "aws:principalarn": f"arn:aws:iam::{ACCOUNT}:role/app-*"}})
    assert [key for key, _ in role_grants(pattern, ROLES)] == [APP]


def test_anyone_but_a_role_named_by_arn_names_no_role_for_certain() -> None:
    # a public statement, one whose condition is on something else, a Deny: no role
    assert role_grants(_statement("*"), ROLES) == []
    assert role_grants(_statement("*", {"StringEquals": {"aws:SourceVpce": "v"}}), ROLES) == []
    # "everyone but" does name the others, as IAM decides it
    but = _statement("*", {"StringNotEquals": {"aws:PrincipalArn": APP}})
    assert [key for key, _ in role_grants(but, ROLES)] == [WORKER]
    # a role named by Principal and refused by the condition is not granted
    refused = _statement({"AWS": APP}, {"ArnEquals": {"aws:PrincipalArn": WORKER}})
    assert role_grants(refused, ROLES) == []
    named = _statement({"AWS": [APP, WORKER]}, {"ArnEquals": {"aws:PrincipalArn": WORKER}})
    assert [(key, s.conditions) for key, s in role_grants(named, ROLES)] == [(WORKER, {})]


def test_a_template_s_policy_for_anyone_whose_arn_is_a_template_role(data_dir: Path) -> None:
    template = data_dir / "grants/cfn/resource-policy-anyone.yaml"
    grants = cloudformation.load(template, ResolveContext(), Notices())
    [publish] = grants.roles["AppRole"].resource_grants
    assert publish.actions == ("sns:Publish",) and publish.principal is None
    assert publish.conditions == {"Bool": {"aws:SecureTransport": ("true",)}}
    # "anyone but", and anyone at all, name no template role
    assert grants.roles["OtherRole"].resource_grants == ()


def test_everyone_but_the_roles_a_not_principal_names_names_none_of_them() -> None:
    [statement] = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "NotPrincipal": {"AWS": APP}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*"}]}, name="bucket policy").statements
    assert role_grants(statement, ROLES) == []
    assert named_elsewhere(statement, (), ACCOUNT) == []


def test_anyone_of_an_account_names_that_account_s_roles() -> None:
    other = "arn:aws:iam::999999999999:role/app-api"
    statement = _statement("*", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                                 "Bool": {"aws:SecureTransport": "true"}})
    granted = role_grants(statement, {APP, WORKER, other, "aws_iam_role.anon"})
    assert [key for key, _ in granted] == [APP, WORKER]
    assert granted[0][1].conditions == {"Bool": {"aws:SecureTransport": ("true",)}}
    # granted as one of the account's principals: its Principal stays anyone
    assert {s.principal for _, s in granted} == {"*"}
    # a role named by Principal and of another account than the condition's is refused
    assert role_grants(_statement({"AWS": other}, {"StringEquals": {
        "aws:PrincipalAccount": ACCOUNT}}), {other}) == []


def test_a_terraform_event_bus_policy_naming_a_role_by_its_arn(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("""\
resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = "{}"
}

resource "aws_cloudwatch_event_bus_policy" "orders" {
  event_bus_name = "orders"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = aws_iam_role.app.arn }
      Action    = "events:PutEvents"
      Resource  = "arn:aws:events:us-east-1:123456789012:event-bus/orders"
    }]
  })
}
""")
    grants = terraform.load(tmp_path / "main.tf", ResolveContext(), Notices())
    assert grants_of(grants.roles[f"arn:aws:iam::{ACCOUNT}:role/app"]) == [
        ("event bus policy", ("events:PutEvents",),
         (f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders",), 10)]  # its statement


def _with_app_role(tmp_path: Path, resources: str) -> GrantSet:
    """A template of the role AppRole and ``resources`` (YAML under ``Resources``)."""
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  AppRole:\n    Type: AWS::IAM::Role\n"
        "    Properties:\n      AssumeRolePolicyDocument: {}\n" + resources)
    return cloudformation.load(tmp_path / "template.yaml", ResolveContext(), Notices())


def test_a_template_s_deny_for_anyone_may_refuse_every_role(tmp_path: Path) -> None:
    """A bucket policy's Deny for anyone, or for the account, is kept for every role the
    files declare, and one naming a role for that role: why a call the role's policies
    allow was refused. One for another account's principals is nobody's here."""
    grants = _with_app_role(tmp_path, """\
  Uploads:
    Type: AWS::S3::Bucket
    Properties: {BucketName: uploads}
  UploadsPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Uploads
      PolicyDocument:
        Statement:
          - Sid: AdminsWrite
            Effect: Deny
            Principal: "*"
            Action: s3:PutObject
            Resource: !Sub "${Uploads.Arn}/*"
            Condition: {StringNotLike: {aws:PrincipalArn: "arn:aws:iam::*:role/admin-*"}}
          - Sid: NotTheApp
            Effect: Deny
            Principal: {AWS: !GetAtt AppRole.Arn}
            Action: s3:DeleteObject
            Resource: !Sub "${Uploads.Arn}/*"
          - Sid: NoOneHere
            Effect: Deny
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: s3:PutObjectAcl
            Resource: !Sub "${Uploads.Arn}/*"
          - Sid: NotThem
            Effect: Deny
            Principal: {AWS: "arn:aws:iam::999999999999:root"}
            Action: s3:GetObject
            Resource: !Sub "${Uploads.Arn}/*"
          - Sid: OnlyTheApp
            Effect: Deny
            NotPrincipal: {AWS: [!Sub "arn:aws:iam::${AWS::AccountId}:role/app",
                                 !Ref AWS::AccountId]}
            Action: s3:PutObjectTagging
            Resource: !Sub "${Uploads.Arn}/*"
          - Sid: OnlyAnUnnamedRole
            Effect: Deny
            NotPrincipal: {AWS: !GetAtt AppRole.Arn}
            Action: s3:PutObjectAcl
            Resource: !Sub "${Uploads.Arn}/*"
          - Sid: NoOneBut
            Effect: Deny
            NotPrincipal: {AWS: "*"}
            Action: s3:GetObjectTagging
            Resource: !Sub "${Uploads.Arn}/*"
""")
    attached, _ = grants.with_attached()
    [role] = attached.roles.values()
    assert sorted((s.sid, s.effect, s.resources, s.origin.logical_id)
                  for s in role.resource_grants) == [
        (sid, "Deny", ("arn:aws:s3:::uploads/*",), "UploadsPolicy")
        for sid in ("AdminsWrite", "NoOneHere", "NotTheApp", "OnlyTheApp")]
    # everyone but a NotPrincipal's list, resolved: each role is decided when judged;
    # a list whose role has no name offline excepts no one the scan knows: left out
    [only] = [s for s in role.resource_grants if s.sid == "OnlyTheApp"]
    assert (only.principal, only.not_principal) == (
        None, {"AWS": ["arn:aws:iam::123456789012:role/app", "123456789012"]})


def test_a_policy_file_s_denies_reach_the_roles_they_may_refuse() -> None:
    """Terraform, plans, Serverless and JSON files read statements one way: a Deny for
    anyone or the account goes to every role, one naming a role by its ARN to that role
    (by key, or by name for another file's), another account's to none."""
    granted = ResourceGrants.empty()
    origin = Origin(file="bucket.json", line=1)
    for principal in ("*", {"AWS": ACCOUNT}, {"AWS": APP},
                      {"AWS": f"arn:aws:iam::{ACCOUNT}:role/reporting"},
                      {"AWS": "arn:aws:iam::999999999999:root"}):
        [deny] = parse_policy({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": principal, "Action": "s3:DeleteObject",
            "Resource": "*"}]}, name="bucket policy").statements
        granted.add(deny, {APP}, ACCOUNT, "arn:aws:s3:::b/*", origin)
    assert [name for name, _ in granted.by_name] == [EVERY_ROLE, EVERY_ROLE, "reporting"]
    assert [s.resources for s in granted.by_key[APP]] == [("arn:aws:s3:::b/*",)]
    assert granted.public == []
    # everyone but a list: kept for every role, each decided when judged (refuses);
    # everyone but anyone refuses no one
    for not_principal in ({"AWS": [APP, ACCOUNT]}, {"AWS": "*"}):
        [deny] = parse_policy({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "NotPrincipal": not_principal, "Action": "s3:DeleteObject",
            "Resource": "*"}]}, name="bucket policy").statements
        granted.add(deny, {APP}, ACCOUNT, "arn:aws:s3:::b/*", origin)
    [*_, (name, everyone_but)] = granted.by_name
    assert (name, everyone_but.not_principal) == (EVERY_ROLE, {"AWS": [APP, ACCOUNT]})
    assert len(granted.by_name) == 4
    # the role's ARN excepts none of its sessions; a session of it may be the one
    assert refuses(everyone_but, APP) and refuses(everyone_but, WORKER)
    session = replace(everyone_but, not_principal={"AWS": [
        f"arn:aws:sts::{ACCOUNT}:assumed-role/app-api/s", APP]})
    assert not refuses(session, APP) and refuses(session, APP, bounded=True)
    assert may_refuse(session, APP) and refuses(session, WORKER)


def test_a_template_s_event_bus_policy_is_one_statement(tmp_path: Path) -> None:
    grants = _with_app_role(tmp_path, """\
  Orders:
    Type: AWS::Events::EventBus
    Properties:
      Name: orders
  OrdersPolicy:
    Type: AWS::Events::EventBusPolicy
    Properties:
      EventBusName: !Ref Orders
      StatementId: AppPuts
      Statement:
        Effect: Allow
        Principal: {AWS: !GetAtt AppRole.Arn}
        Action: events:PutEvents
        Resource: !GetAtt Orders.Arn
""")
    assert grants_of(grants.roles["AppRole"]) == [
        ("event bus policy", ("events:PutEvents",),
         (f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders",), 16)]


def test_the_resources_a_file_s_policies_name_are_those_it_declares_policies_of(
    data_dir: Path, tmp_path: Path
) -> None:
    """Every statement counts, whatever its effect and principal (a policy naming no
    role still replaces the account's); a resource not known offline names none."""
    bucket = "arn:aws:s3:::uploads-bucket"
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    deployed = {"Key": StackResource("Key", "AWS::KMS::Key", KEY_ID)}
    template = data_dir / "grants/cfn/resource-policies.yaml"
    assert cloudformation.load(template, ResolveContext(), Notices()).policy_resources == {
        f"{bucket}/*", queue}  # the key's ARN is made at deployment
    assert cloudformation.load(template, ResolveContext(deployed=deployed), Notices()
                               ).policy_resources == {f"{bucket}/*", queue, key}
    plan = data_dir / "grants/terraform/plan/resource-policies.tfplan.json"
    assert terraform_plan.load(plan, ResolveContext(), Notices()).policy_resources == {
        f"{bucket}/*", queue, key}
    (tmp_path / "logs.yaml").write_text("""\
Resources:
  LogsPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: logs-bucket
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: logging.s3.amazonaws.com}
            Action: s3:PutObject
            Resource: [arn:aws:s3:::logs-bucket/*, !Sub "${Made.Arn}/*"]
          - Effect: Deny
            Principal: "*"
            Action: s3:*
            Resource: arn:aws:s3:::logs-bucket
""")
    logs = cloudformation.load(tmp_path / "logs.yaml", ResolveContext(), Notices())
    assert logs.policy_resources == {"arn:aws:s3:::logs-bucket/*", "arn:aws:s3:::logs-bucket"}
    folder = data_dir / "grants/terraform/resource-policies"
    assert terraform.load(folder / "main.tf", ResolveContext(), Notices()).policy_resources == {
        f"{bucket}/*", queue}


def test_conditions_on_the_principal_s_organization_are_taken_as_held() -> None:
    written = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    org = {"StringEquals": {"aws:PrincipalOrgID": ("o-a1b2c3d4e5",)}}
    # anyone in the organization: every role known by ARN, the rest of the condition kept
    statement = _statement("*", {**written, "Bool": {"aws:SecureTransport": "true"}})
    granted = role_grants(statement, ROLES)
    assert [key for key, _ in granted] == [APP, WORKER]
    assert all(s.assumed == org and s.conditions == {"Bool": {"aws:SecureTransport": (
        "true",)}} for _, s in granted)
    # with the ARN's condition too, only the role it names; a named role likewise
    both = _statement("*", {"ArnEquals": {"aws:PrincipalArn": APP},
                            "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a/r-b/*"}})
    [(key, only)] = role_grants(both, ROLES)
    assert (key, only.conditions, list(only.assumed)) == (APP, {}, ["ForAnyValue:StringLike"])
    [(_, named)] = role_grants(_statement({"AWS": WORKER}, written), ROLES)
    assert (named.conditions, named.assumed) == ({}, org)
    # a role another file declares, named by ARN, likewise
    [(name, elsewhere)] = named_elsewhere(_statement({"AWS": WORKER}, written), (), ACCOUNT)
    assert (name, elsewhere.conditions, elsewhere.assumed) == ("worker", {}, org)
    # named by the ARN's condition for anyone: the role it names is its Principal
    [(name, by_arn)] = named_elsewhere(_statement("*", {"ArnEquals": {
        "aws:PrincipalArn": WORKER}}), (), ACCOUNT)
    assert (name, by_arn.principal, by_arn.conditions) == ("worker", {"AWS": WORKER}, {})
    # no other condition on the principal makes a public statement name a role
    assert role_grants(_statement("*", {"StringEquals": {"aws:PrincipalTag/team": "a"}}),
                       ROLES) == []


def test_anyone_in_the_account_or_its_organization_is_every_role_of_the_account() -> None:
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    every = for_every_role(_statement("*", {**org, **tls}), ACCOUNT)
    assert every is not None
    assert every.assumed == {"StringEquals": {"aws:PrincipalOrgID": ("o-a1b2c3d4e5",)}}
    assert every.conditions == {"Bool": {"aws:SecureTransport": ("true",)}}
    # the account's own principals: decided here, and no longer held
    mine = for_every_role(_statement("*", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                                           **tls}), ACCOUNT)
    assert mine is not None and mine.assumed == {}
    assert mine.conditions == {"Bool": {"aws:SecureTransport": ("true",)}}
    # another account's; anyone at all; a condition on the ARN (all but one); a Deny
    assert for_every_role(_statement("*", {"StringEquals": {
        "aws:PrincipalAccount": "999999999999"}}), ACCOUNT) is None
    assert for_every_role(_statement("*", tls), ACCOUNT) is None
    assert for_every_role(_statement("*", {**org, "ArnNotEquals": {
        "aws:PrincipalArn": WORKER}}), ACCOUNT) is None
    [deny] = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": org}]}, name="bucket policy").statements
    assert for_every_role(deny, ACCOUNT) is None


def test_a_key_policy_for_the_account_s_callers_through_a_service_is_no_public_one() -> None:
    """AWS managed keys' policies (and many a customer's) let in anyone whose
    kms:CallerAccount is the account, through one service (kms:ViaService): every
    principal of the account, under the service's condition, not anyone at all."""
    through_s3 = {"StringEquals": {"kms:CallerAccount": ACCOUNT,
                                   "kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    statement = _statement({"AWS": "*"}, through_s3)
    assert not is_public(statement)
    every = for_every_role(statement, ACCOUNT)
    assert every is not None and every.conditions == {"StringEquals": {
        "kms:ViaService": ("s3.us-east-1.amazonaws.com",)}}
    assert [key for key, _ in role_grants(statement, ROLES)] == [APP, WORKER]
    # another account's callers are not the account's roles
    theirs = {"StringEquals": {"kms:CallerAccount": "999999999999"}}
    assert for_every_role(_statement("*", theirs), ACCOUNT) is None
    assert role_grants(_statement("*", theirs), ROLES) == []


def test_a_template_s_policy_naming_a_role_in_an_organization(tmp_path: Path) -> None:
    grants = _with_app_role(tmp_path, """\
  Jobs:
    Type: AWS::SQS::Queue
  JobsPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Jobs]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {AWS: !GetAtt AppRole.Arn}
            Action: sqs:SendMessage
            Resource: !GetAtt Jobs.Arn
            Condition: {StringEquals: {aws:PrincipalOrgID: o-a1b2c3d4e5}}
""")
    [send] = grants.roles["AppRole"].resource_grants
    assert (send.conditions, send.assumed) == (
        {}, {"StringEquals": {"aws:PrincipalOrgID": ("o-a1b2c3d4e5",)}})


def test_a_public_statement_opens_to_anyone_unless_it_needs_a_service_s_call() -> None:
    """aws:SourceArn, aws:SourceAccount, … are set only when a service calls for a
    resource: a role's own call lacks them, so a condition requiring them rules it out.
    SNS's default topic policy (AWS:SourceOwner) ties the caller to its account. A
    bucket policy delegating to access points (s3:DataAccessPointAccount) lets in only
    requests through one, which are on the access point's ARN, not the bucket's; one
    for AWS services only lets in no role."""
    from leastpriv_ci.grants.resource_policies import opens_to_anyone

    ruled_out = [{"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                 {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::uploads"}},
                 {"StringEquals": {"AWS:SourceOwner": ACCOUNT}},
                 {"StringEquals": {"s3:DataAccessPointAccount": ACCOUNT}},
                 {"ArnLike": {"s3:DataAccessPointArn": f"arn:aws:s3:us-east-1:{ACCOUNT}:"
                                                      "accesspoint/*"}},
                 {"StringEquals": {"s3:AccessPointNetworkOrigin": "VPC"}},
                 # for AWS services only: a role's call is no service principal's
                 {"Bool": {"aws:PrincipalIsAWSService": "true"}},
                 {"StringEquals": {"aws:PrincipalServiceName": "cloudfront.amazonaws.com"}}]
    for condition in ruled_out:
        assert not opens_to_anyone(_statement("*", condition)), condition
    kept = [None, {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}},
            {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}},
            {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
            {"Bool": {"aws:PrincipalIsAWSService": "false"}}]
    for condition in kept:
        assert opens_to_anyone(_statement("*", condition)), condition


def test_a_public_statement_is_one_for_anyone_with_no_condition_on_the_principal() -> None:
    assert is_public(_statement("*"))
    assert is_public(_statement({"AWS": "*"}, {"StringEquals": {"aws:SourceVpce": "v"}}))
    # the principal's ARN, account or organization decide whom it names
    for key, value in (("aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/other-*"),
                       ("aws:PrincipalAccount", ACCOUNT), ("aws:PrincipalOrgID", "o-a1")):
        assert not is_public(_statement("*", {"StringLike": {key: value}})), key
    assert not is_public(_statement({"AWS": APP}))
    [deny] = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]},
        name="bucket policy").statements
    assert not is_public(deny)


LAMBDA = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function"


def test_a_template_s_lambda_permissions_are_its_function_policy(data_dir: Path) -> None:
    """Lambda writes one Allow statement per AWS::Lambda::Permission: the role it names
    by ARN gets it, on the function its FunctionName names (a name, a name with an alias,
    a partial ARN or the function's ARN); anyone in the organization means every role; a
    service, or the account, no role. Each function is one whose policy the files
    declare."""
    grants = cloudformation.load(data_dir / "grants/permissions/template.yaml",
                                 ResolveContext(), Notices())
    assert grants_of(grants.roles["AppRole"]) == [
        ("function policy", ("lambda:InvokeFunction",), (f"{LAMBDA}:orders-api",), 14),
        ("function policy", ("lambda:InvokeFunction",), (f"{LAMBDA}:orders-api:live",), 20),
        ("function policy", ("lambda:GetFunction",), (f"{LAMBDA}:orders-report",), 26),
    ]
    [(name, every)] = grants.granted_by_name
    assert (name, every.actions, every.resources, every.assumed) == (
        "*", ("lambda:InvokeFunction",), (f"{LAMBDA}:orders-worker",),
        {"StringEquals": {"aws:PrincipalOrgID": ("o-a1b2c3d4e5",)}})
    assert grants.policy_resources == {f"{LAMBDA}:orders-api", f"{LAMBDA}:orders-api:live",
                                       f"{LAMBDA}:orders-report", f"{LAMBDA}:orders-worker"}


def test_a_terraform_lambda_permission_with_a_qualifier(data_dir: Path) -> None:
    grants = terraform.load(data_dir / "grants/permissions/main.tf", ResolveContext(), Notices())
    assert grants_of(grants.roles[f"arn:aws:iam::{ACCOUNT}:role/app"]) == [
        ("function policy", ("lambda:InvokeFunction",), (f"{LAMBDA}:orders-api:live",), 11)]
    assert grants.policy_resources == {f"{LAMBDA}:orders-api:live", f"{LAMBDA}:orders-api"}


def test_a_terraform_plan_s_lambda_permission_and_public_policy(tmp_path: Path) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    plan = {"format_version": "1.2", "planned_values": {"root_module": {"resources": [
        {"address": "aws_iam_role.app", "mode": "managed", "type": "aws_iam_role",
         "name": "app", "values": {"name": "app", "path": "/", "assume_role_policy": "{}"}},
        {"address": "aws_lambda_permission.app", "mode": "managed",
         "type": "aws_lambda_permission", "name": "app", "values": {
             "action": "lambda:InvokeFunction", "function_name": "orders-api",
             "principal": role, "qualifier": None, "source_arn": None,
             "principal_org_id": None}},
        {"address": "aws_s3_bucket_policy.site", "mode": "managed",
         "type": "aws_s3_bucket_policy", "name": "site", "values": {
             "bucket": "site", "policy": json.dumps({"Version": "2012-10-17", "Statement": [{
                 "Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::site/*"}]})}}]}}}
    (tmp_path / "plan.tfplan.json").write_text(json.dumps(plan))
    notices = Notices()
    grants = terraform_plan.load(tmp_path / "plan.tfplan.json", ResolveContext(), notices)
    [invoke] = grants.roles[role].resource_grants
    assert (invoke.actions, invoke.resources, invoke.origin.logical_id) == (
        ("lambda:InvokeFunction",), (f"{LAMBDA}:orders-api",), "aws_lambda_permission.app")
    assert notices.items() == []
    # a statement for anyone names no role: kept apart
    [public] = grants.public_statements
    assert (public.sid, public.resources, public.origin.logical_id) == (
        "Public", ("arn:aws:s3:::site/*",), "aws_s3_bucket_policy.site")
