"""The compute resources that run as a role (data/compute_roles.yaml), for every source."""

from __future__ import annotations

from importlib import resources

import botocore.session
import yaml

from leastpriv_ci.analysis.platform import platform_groups
from leastpriv_ci.grants.compute import (
    cloudformation_profile_users,
    cloudformation_types,
    profile_name_of,
    terraform_profile_users,
    terraform_types,
    traced_kinds,
)

DATA = resources.files("leastpriv_ci.data")


def test_each_kind_names_its_role_by_a_member_of_the_call_that_hands_it_over() -> None:
    data = yaml.safe_load(DATA.joinpath("compute_roles.yaml").read_text())
    session = botocore.session.get_session()
    entries = {**data["kinds"], **data["profile_users"], **data["launch_users"]}
    for kind, entry in entries.items():
        api = entry["api"]
        operation = session.get_service_model(api["service"]).operation_model(api["operation"])
        assert api["member"] in operation.input_shape.members, kind
        assert set(entry) - {"traced_as", "service_role"} == {
            "api", "cloudformation", "terraform"}, kind
        if service := entry.get("service_role"):
            for source in ("cloudformation", "terraform"):
                assert service[source] != entry[source]["role"], kind
            # what the service does with it is a platform group of that compute
            assert entry["traced_as"] in platform_groups()[service["platform"]].compute, kind


def test_a_traced_kind_is_named_by_the_service_in_its_principals_arns() -> None:
    # the ARN's service is the endpoint prefix (stepfunctions' is "states")
    data = yaml.safe_load(DATA.joinpath("compute_roles.yaml").read_text())
    session = botocore.session.get_session()
    kinds = traced_kinds()
    assert set(kinds.values()) == {"lambda-function", "ecs-task-definition", "state-machine"}
    for service, kind in kinds.items():
        model = session.get_service_model(data["kinds"][kind]["api"]["service"])
        assert model.endpoint_prefix == service, kind


def test_both_sources_read_every_kind_and_never_an_execution_role() -> None:
    cloudformation, terraform = cloudformation_types(), terraform_types()
    assert len(cloudformation) == len(terraform) == 4
    assert all(t.startswith("AWS::") for t in cloudformation)
    assert all(t.startswith("aws_") for t in terraform)
    assert {c.kind for c in cloudformation.values()} == {c.kind for c in terraform.values()}
    assert cloudformation["AWS::ECS::TaskDefinition"].role == "TaskRoleArn"
    assert terraform["aws_ecs_task_definition"].role == "task_role_arn"
    assert terraform["aws_ecs_task_definition"].names == ("family",)
    assert {u.kind for u in cloudformation_profile_users().values()} == {
        u.kind for u in terraform_profile_users().values()} == {
        "ec2-instance", "launch-template", "launch-configuration"}


def test_profile_names_come_from_names_and_arns() -> None:
    assert profile_name_of("web") == "web"
    assert profile_name_of("arn:aws:iam::1:instance-profile/ops/web") == "web"
    assert profile_name_of("arn:aws:iam::1:role/web") == ""
