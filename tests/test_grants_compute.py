"""The compute resources that run as a role (data/compute_roles.yaml), for every source."""

from __future__ import annotations

import json
from importlib import resources

import yaml

from leastpriv_ci.grants.compute import cloudformation_types, terraform_types

DATA = resources.files("leastpriv_ci.data")


def test_each_kind_names_its_role_by_the_member_aws_passes_the_role_in() -> None:
    # passed_roles.json is read from botocore's models: the role member of each call
    data = yaml.safe_load(DATA.joinpath("compute_roles.yaml").read_text())
    passed = json.loads(DATA.joinpath("passed_roles.json").read_text())["actions"]
    for kind, entry in data["kinds"].items():
        action, member = entry["api"]["action"], entry["api"]["member"]
        assert member in passed[action]["members"], kind
        # CloudFormation spells the member in PascalCase, Terraform in snake_case
        spelled = entry["cloudformation"]["role"]
        assert spelled.lower() == member.lower(), kind
        assert entry["terraform"]["role"].replace("_", "") == member.lower(), kind


def test_both_sources_read_every_kind_and_never_an_execution_role() -> None:
    cloudformation, terraform = cloudformation_types(), terraform_types()
    assert len(cloudformation) == len(terraform) == 3
    assert all(t.startswith("AWS::") for t in cloudformation)
    assert all(t.startswith("aws_") for t in terraform)
    assert {c.kind for c in cloudformation.values()} == {c.kind for c in terraform.values()}
    assert cloudformation["AWS::ECS::TaskDefinition"].role == "TaskRoleArn"
    assert terraform["aws_ecs_task_definition"].role == "task_role_arn"
    assert terraform["aws_ecs_task_definition"].names == ("family",)
