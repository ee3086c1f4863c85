"""The calls that may pass a role (``passed_roles.json``) are found in botocore's service
models by ``scripts/build_passed_roles.py``, under the rules of ``passed_roles.yaml``."""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore
from botocore.model import ServiceModel

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from scripts.build_passed_roles import ALSO, Rules, build, role_members


@cache
def _built() -> tuple[dict[str, Any], tuple[str, ...]]:
    document, unmapped = build(Rules.load())  # every botocore model: some seconds
    return document, tuple(unmapped)


def _found() -> dict[str, list[str]]:
    return dict(_built()[0]["actions"])


def test_the_packaged_list_is_what_the_installed_botocore_gives() -> None:
    packaged = load("passed_roles.json")
    document, _ = _built()
    if packaged["botocore"] == botocore.__version__:
        assert packaged == document
    else:
        # A newer botocore within the pinned range adds services; the packaged list stays
        # good data until `python -m scripts.build_passed_roles` rebuilds it
        kept = set(packaged["actions"]) & set(document["actions"])
        assert len(kept) >= 0.95 * len(packaged["actions"])


def test_every_call_listed_is_a_catalog_action() -> None:
    catalog = get_catalog()
    named = list(load("passed_roles.json")["actions"])
    assert len(named) > 800
    assert sorted(a for a in named if catalog.canonical(a) != a) == []
    also = list(load("passed_roles.yaml")["also"])
    assert sorted(a for a in also if catalog.canonical(a) != a) == []


def test_calls_apps_make_at_run_time_that_hand_a_role_over_are_found() -> None:
    found = _found()
    assert found["mediaconvert:CreateJob"] == ["Role"]
    assert found["textract:StartDocumentAnalysis"] == ["NotificationChannel.RoleArn"]
    assert found["rekognition:StartLabelDetection"] == ["NotificationChannel.RoleArn"]
    assert "DataAccessRoleArn" in found["transcribe:StartTranscriptionJob"][0]
    assert found["codebuild:StartBuild"] == ["serviceRoleOverride"]
    assert found["ssm:SendCommand"] == ["ServiceRoleArn"]
    assert found["emr-serverless:StartJobRun"] == ["executionRoleArn"]
    assert found["ec2:RunInstances"] == ["IamInstanceProfile"]
    # S3's PutBucketReplication is IAM's s3:PutReplicationConfiguration
    assert found["s3:PutReplicationConfiguration"] == ["ReplicationConfiguration.Role"]
    assert {"overrides.taskRoleArn", "overrides.executionRoleArn", ALSO} <= set(
        found["ecs:RunTask"])
    # passed in no member: the rules file adds them
    assert found["ssm:StartAutomationExecution"] == [ALSO]
    assert found["iam:AddRoleToInstanceProfile"] == [ALSO]


def test_roles_assumed_read_removed_or_of_another_kind_are_not_passes() -> None:
    found = _found()
    for action in ("sts:AssumeRole", "iam:CreateRole", "iam:GetRole", "ecs:DescribeTasks",
                   "securityhub:BatchImportFindings", "securityhub:CreateInsight",
                   "grafana:CreateWorkspaceApiKey", "organizations:CreateAccount"):
        assert action not in found, action
    assert found["redshift:ModifyClusterIamRoles"] == ["AddIamRoles", "DefaultIamRoleArn"]
    assert not any(m.endswith("SnowflakeRole") for m in found["firehose:CreateDeliveryStream"])
    assert "ExtendedS3DestinationConfiguration.RoleARN" in found["firehose:CreateDeliveryStream"]
    assert not any("DatabaseAccessControlRole" in m
                   for m in found["quicksight:CreateDataSource"])


def test_operations_with_no_iam_action_are_few_and_named() -> None:
    _, unmapped = _built()
    assert len(unmapped) < 40
    assert all("." in name and ":" not in name for name in unmapped)


def _model(members: dict[str, Any], shapes: dict[str, Any]) -> Any:
    return ServiceModel({
        "metadata": {"protocol": "json", "serviceId": "Demo", "signingName": "demo",
                     "endpointPrefix": "demo", "apiVersion": "2020-01-01"},
        "operations": {"StartJob": {"name": "StartJob", "input": {"shape": "StartJobRequest"},
                                    "http": {"method": "POST", "requestUri": "/"}}},
        "shapes": {"StartJobRequest": {"type": "structure", "members": members}, **shapes},
    }, "demo").operation_model("StartJob").input_shape


def test_members_naming_a_role_are_found_at_any_depth_and_through_a_cycle() -> None:
    shape = _model(
        {"Job": {"shape": "Job"}, "RoleArns": {"shape": "Arns"},
         "Kind": {"shape": "Kind"}, "Filters": {"shape": "Job"},
         "RemoveRoles": {"shape": "Arns"}, "DbRole": {"shape": "DbRole"},
         "Profile": {"shape": "Profile"}, "IamInstanceProfile": {"shape": "Profile"}},
        {"Job": {"type": "structure", "members": {
            "ExecutionRole": {"shape": "Text"}, "Next": {"shape": "Job"},
            "Steps": {"shape": "Steps"}}},
         "Steps": {"type": "list", "member": {"shape": "Job"}},
         "Arns": {"type": "list", "member": {"shape": "Text"}},
         "Text": {"type": "string"},
         "Kind": {"type": "string", "enum": ["ADMIN", "AUTHOR"]},
         "DbRole": {"type": "string", "documentation": "The Snowflake role to use."},
         "Profile": {"type": "structure", "members": {"Arn": {"shape": "Text"}}}})
    # a cycle (Job.Next, Job.Steps) is walked once; an enum, a filter, a role removed, a
    # Snowflake role and a structure that is no instance profile are no IAM roles
    assert role_members(Rules.load(), shape) == [
        "IamInstanceProfile", "Job.ExecutionRole", "RoleArns"]
