"""Terraform plan JSON source: planned values, configuration references, child modules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.model import GrantSet, ResolveContext
from leastpriv_ci.grants.sources import terraform_plan
from leastpriv_ci.notices import Notices

PLAN = Path(__file__).parent / "data" / "grants" / "terraform" / "plan" / "plan.json"
ACCOUNT = "210987654321"


def _load(path: Path = PLAN) -> tuple[GrantSet, Notices]:
    notices = Notices()
    context = ResolveContext(region="eu-west-1", account=ACCOUNT)
    return terraform_plan.load(path, context, notices), notices


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def test_detects_plans_not_other_json(tmp_path: Path) -> None:
    assert terraform_plan.detect(PLAN)
    other = tmp_path / "policy.json"
    other.write_text('{"Version": "2012-10-17", "Statement": []}')
    assert not terraform_plan.detect(other)


def test_planned_inline_managed_and_data_document_policies() -> None:
    grants, _ = _load()
    api = grants.roles[_role_arn("billing-prod-api")]
    assert [p.name for p in api.policies] == ["invoices", "AWSLambdaBasicExecutionRole", "s3"]
    assert [(s.origin.logical_id, s.origin.line, s.to_json()) for s in api.statements] == [
        ("aws_iam_role.api", None,
         {"Sid": "Invoices", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
          "Resource": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/invoices"}),
        ("aws_iam_role.api", None,
         {"Effect": "Allow",
          "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
          "Resource": "*"}),
        # policy unknown at plan time → configuration → data.aws_iam_policy_document (read
        # during the plan, in prior_state).
        ("aws_iam_role_policy.api_s3", None,
         {"Sid": "Receipts", "Effect": "Allow", "Action": "s3:PutObject",
          "Resource": "arn:aws:s3:::billing-prod-receipts/*"}),
    ]
    assert api.statements[0].origin.file == str(PLAN)


def test_attachment_with_unknown_arn_follows_the_reference_to_the_policy() -> None:
    grants, _ = _load()
    worker = grants.roles[_role_arn("billing-prod-worker")]
    assert [(s.origin.logical_id, s.to_json()) for s in worker.statements] == [
        ("aws_iam_policy.worker",
         {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
          "Resource": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:billing-jobs"}),
        ("aws_iam_policy.worker", {"Effect": "Deny", "Action": "sqs:PurgeQueue", "Resource": "*"}),
    ]
    assert worker.boundary is not None
    assert worker.boundary.origin.policy_arn == f"arn:aws:iam::{ACCOUNT}:policy/billing-boundary"


def test_child_module_policy_without_a_value_stays_unresolved() -> None:
    grants, notices = _load()
    reports = grants.roles[_role_arn("billing-prod-reports")]
    assert reports.origin.logical_id == "module.reports.aws_iam_role.this"
    (statement,) = reports.statements
    assert statement.actions == (
        "<unresolved:policy module.reports.aws_iam_role_policy.this.policy "
        "(module.reports.var.reports_bucket_arn)>",)
    assert notices.count("terraform-plan-unknown-policy") == 1


def test_bindings_resolve_unknown_role_arns_through_configuration() -> None:
    grants, _ = _load()
    assert [(b.function, b.role, b.names) for b in grants.bindings] == [
        ("billing-prod-api", _role_arn("billing-prod-api"), ("aws_lambda_function.api",)),
        ("billing-prod-worker", _role_arn("billing-prod-worker"),
         ("aws_lambda_function.worker",)),
        ("billing-prod-reports", _role_arn("billing-prod-reports"),
         ("module.reports.aws_lambda_function.this",)),
    ]


def test_state_json_is_not_a_plan(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format_version": "1.0", "terraform_version": "1.9.5",
                                 "values": {"root_module": {}}}))
    grants, notices = _load(state)
    assert grants.roles == {}
    assert notices.count("terraform-plan-without-planned-values") == 1


def test_malformed_plan_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"format_version": "1.2",\n "planned_values": {\n')
    with pytest.raises(UserError) as info:
        _load(bad)
    assert str(info.value).startswith(f"{bad}:3:")


def test_values_of_the_wrong_type_are_skipped_not_a_crash(tmp_path: Path) -> None:
    # A plan.json committed to the pull request may hold anything where Terraform writes
    # lists, maps and strings; what is not of the expected type is left out.
    role = {"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role",
            "values": {"name": "r", "inline_policy": [{"name": "x", "policy": ["not text"]}],
                       "managed_policy_arns": 7}}
    attachment = {"address": "aws_iam_policy_attachment.a", "mode": "managed",
                  "type": "aws_iam_policy_attachment", "values": {"roles": {"r": 1}}}
    plan = {"format_version": "1.2", "planned_values": {"root_module": {
                "resources": [role, attachment], "child_modules": ["nope", 3]}},
            "configuration": {"root_module": {
                "resources": [{"address": "aws_iam_policy_attachment.a",
                               "expressions": {"policy_arn": {"references": [5, None]}}}],
                "module_calls": ["not", "a", "map"]}}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    grants, notices = _load(path)
    assert grants.roles[_role_arn("r")].policies == ()
    assert notices.count("terraform-plan-unknown-policy") == 0  # the attachment names no role


def test_a_planned_task_definition_runs_as_its_task_role_never_its_execution_role() -> None:
    # The roles are new: both role ARNs are unknown at plan time and found through the
    # configuration's references; the batch task's task_role_arn is unset (null)
    grants, notices = _load(PLAN.parent / "ecs.tfplan.json")
    assert [(b.function, b.role, b.names) for b in grants.bindings] == [
        ("orders", _role_arn("orders-task"), ("aws_ecs_task_definition.orders",))]
    assert not notices.count("terraform-plan-unknown-role")
    assert grants.service_roles == grants.untraceable() == {_role_arn("orders-execution")}


def test_a_planned_execution_role_named_by_its_name_is_the_services_own(
        tmp_path: Path) -> None:
    # ECS takes a role's name as well as its ARN for the execution role
    def resource(address: str, values: dict[str, object]) -> dict[str, object]:
        kind, name = address.split(".")
        return {"address": address, "mode": "managed", "type": kind, "name": name,
                "values": values}

    plan = {"format_version": "1.2", "planned_values": {"root_module": {"resources": [
        resource("aws_iam_role.task", {"name": "orders-task"}),
        resource("aws_iam_role.execution", {"name": "orders-execution"}),
        resource("aws_ecs_task_definition.orders", {
            "family": "orders", "task_role_arn": _role_arn("orders-task"),
            "execution_role_arn": "orders-execution"})]}}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    grants, _ = _load(path)
    assert [(b.function, b.role) for b in grants.bindings] == [
        ("orders", _role_arn("orders-task"))]
    assert grants.untraceable() == {_role_arn("orders-execution")}


def test_a_planned_instance_profile_binds_its_role_and_the_instances_using_it() -> None:
    # the launch template's profile ARN is unknown at plan time: found by its reference
    grants, _ = _load(PLAN.parent / "ec2.tfplan.json")
    assert [(b.function, b.role, b.names, b.kind) for b in grants.bindings] == [
        ("web-profile", _role_arn("web-role"),
         ("aws_iam_instance_profile.web", "aws_instance.web", "aws_launch_template.web",
          # an Auto Scaling group: its launch template's ID unknown, found by reference
          "aws_autoscaling_group.web"),
         "instance-profile"),
        ("batch-profile", _role_arn("jobs/batch-role"),
         ("aws_iam_instance_profile.batch", "aws_launch_configuration.batch",
          "aws_autoscaling_group.batch"),  # by the configuration's name, known
         "instance-profile"),
    ]
