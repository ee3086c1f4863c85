from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.sources import policy_json
from leastpriv_ci.notices import Notices


def test_policy_document_is_a_role_keyed_by_its_file(data_dir: Path) -> None:
    path = data_dir / "grants/iam/orders-api.json"
    assert policy_json.detect(path)
    grants = policy_json.load(path, ResolveContext(), Notices())
    role = grants.roles[str(path)]
    assert [(s.to_json(), s.origin.line, s.origin.policy_name) for s in role.statements] == [
        ({"Sid": "ReadOrders", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
          "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/orders"}, 4, "orders-api"),
        ({"Effect": "Deny", "NotAction": "s3:GetObject",
          "Resource": "arn:aws:s3:::orders-private/*"}, 10, "orders-api"),
    ]


def test_role_file_with_inline_managed_and_boundary(data_dir: Path) -> None:
    path = data_dir / "grants/iam/reporting-role.json"
    grants = policy_json.load(path, ResolveContext(), Notices())
    role = grants.roles["arn:aws:iam::123456789012:role/service/reporting"]
    assert role.name == "reporting"
    assert [(p.name, s.to_json(), s.origin.line) for p in role.policies for s in p.statements] == [
        ("read-reports", {"Effect": "Allow", "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::reports/*"}, 14),
        ("AWSLambdaBasicExecutionRole", {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*"}, 1),
    ]
    assert role.boundary is not None
    assert role.boundary.origin.policy_arn == "arn:aws:iam::123456789012:policy/boundary"
    assert role.boundary.statements[0].actions == (
        "<unresolved:managed policy arn:aws:iam::123456789012:policy/boundary>",)


def test_account_authorization_details_use_default_versions(data_dir: Path) -> None:
    path = data_dir / "grants/iam/authorization-details.json"
    grants = policy_json.load(path, ResolveContext(), Notices())
    role = grants.roles["arn:aws:iam::123456789012:role/billing"]
    assert [(p.name, s.to_json()) for p in role.policies for s in p.statements] == [
        ("queue", {"Effect": "Allow", "Action": "sqs:SendMessage",
                   "Resource": "arn:aws:sqs:us-east-1:123456789012:billing"}),
        ("billing-read", {"Effect": "Allow", "Action": "dynamodb:GetItem",
                          "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/invoices"}),
    ]


def test_policy_document_text_that_is_not_json_names_file_line_and_policy(
    tmp_path: Path,
) -> None:
    export = tmp_path / "authorization-details.json"
    export.write_text(
        '{"RoleDetailList": [],\n "Policies": [{"Arn": "arn:aws:iam::1:policy/p",\n'
        '  "PolicyVersionList": [\n   {"IsDefaultVersion": true, "Document": "{oops"}]}]}\n')
    with pytest.raises(UserError, match=r"authorization-details\.json:4 "
                       r"\(arn:aws:iam::1:policy/p\): the policy document is not JSON"):
        policy_json.load(export, ResolveContext(), Notices())
    role = tmp_path / "role.json"
    role.write_text('{"RoleName": "r",\n "Policies": [\n  {"PolicyName": "inline", '
                    '"PolicyDocument": "%7B%22Statement"}]}\n')
    with pytest.raises(UserError, match=r"role\.json:3 \(inline\): the policy document"):
        policy_json.load(role, ResolveContext(), Notices())


def test_yaml_policy_and_errors_with_lines(tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text("Version: 2012-10-17\nStatement:\n  - Effect: Allow\n    Action: s3:*\n"
                    "    Resource: '*'\n")
    assert policy_json.detect(good)
    role = policy_json.load(good, ResolveContext(), Notices()).roles[str(good)]
    assert [(s.actions, s.origin.line) for s in role.statements] == [(("s3:*",), 3)]
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "Statement": [\n    {"Effect": "Allow",, }\n  ]\n}\n')
    with pytest.raises(UserError, match=r"bad\.json:3"):
        policy_json.load(bad, ResolveContext(), Notices())


def test_terraform_plans_and_templates_are_not_policy_files(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"format_version": "1.2", "terraform_version": "1.9.0", '
                    '"planned_values": {"x": "{\\"Statement\\": []}"}}')
    assert not policy_json.detect(plan)
    package = tmp_path / "package.json"
    package.write_text('{"name": "app", "version": "1.0.0"}')
    assert not policy_json.detect(package)


def test_export_values_of_the_wrong_type_are_skipped_not_a_crash(tmp_path: Path) -> None:
    export = tmp_path / "authorization-details.json"
    export.write_text(json.dumps({
        "Policies": 1.5,
        "RoleDetailList": [{"RoleName": "r", "AttachedManagedPolicies": 7,
                            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": {
                                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                               "Resource": "*"}]}}]}]}))
    role = policy_json.load(export, ResolveContext(), Notices()).roles[
        "arn:aws:iam::123456789012:role/r"]
    assert [p.name for p in role.policies] == ["p"]


@pytest.mark.parametrize("document", [
    {"Version": "2012-10-17", "Statement": [{   # a bucket policy
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*"}]},
    {"Version": "2012-10-17", "Statement": {   # a role's trust policy: no Resource
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}},
])
def test_a_resource_or_trust_policy_found_among_policy_files_is_skipped_and_named(
    tmp_path: Path, document: dict[str, object]
) -> None:
    path = tmp_path / "iam" / "other.json"
    path.parent.mkdir()
    path.write_text(json.dumps(document))
    assert policy_json.detect(path)
    notices = Notices()
    assert policy_json.load(path, ResolveContext(), notices).roles == {}
    (notice,) = notices.items()
    assert notice.code == "not-identity-policy" and notice.examples == (str(path),)
    assert "principal-in-identity-policy" not in {n.code for n in notices.items()}
