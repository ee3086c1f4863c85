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
def _built() -> dict[str, Any]:
    return build(Rules.load())  # every botocore model: some seconds


def _found() -> dict[str, list[str]]:
    return {action: entry["members"] for action, entry in _built()["actions"].items()}


def _packaged() -> dict[str, list[str]]:
    return {action: entry["members"]
            for action, entry in load("passed_roles.json")["actions"].items()}


def test_the_packaged_list_is_what_the_installed_botocore_gives() -> None:
    packaged = load("passed_roles.json")
    document = _built()
    if packaged["botocore"] == botocore.__version__:
        assert packaged == document
    else:
        # Another botocore within the pinned range adds and changes services; the packaged
        # list stays good data until `python -m scripts.build_passed_roles` rebuilds it
        changed = set(packaged["actions"]) ^ set(document["actions"])
        assert len(changed) <= 0.05 * len(packaged["actions"])


def test_every_call_listed_is_a_catalog_action() -> None:
    catalog = get_catalog()
    named = list(load("passed_roles.json")["actions"])
    assert len(named) > 800
    assert sorted(a for a in named if catalog.canonical(a) != a) == []
    rules = load("passed_roles.yaml")
    listed = [*rules["also"], *rules["not_passing"]]
    assert sorted(a for a in listed if catalog.canonical(a) != a) == []


RUN_TIME = {  # calls apps make at run time that hand a role over, and where it is
    "mediaconvert:CreateJob": "Role",
    "textract:StartDocumentAnalysis": "NotificationChannel.RoleArn",
    "rekognition:StartLabelDetection": "NotificationChannel.RoleArn",
    "transcribe:StartTranscriptionJob": "JobExecutionSettings.DataAccessRoleArn",
    "codebuild:StartBuild": "serviceRoleOverride",
    "ssm:SendCommand": "ServiceRoleArn",
    "emr-serverless:StartJobRun": "executionRoleArn",
    "ec2:RunInstances": "IamInstanceProfile",
    "s3:PutReplicationConfiguration": "ReplicationConfiguration.Role",  # PutBucketReplication
    "s3:CreateJob": "RoleArn",  # S3 Batch Operations
    "backup:StartBackupJob": "IamRoleArn",
    "bedrock:CreateModelInvocationJob": "roleArn",
    "cloudformation:DeleteStack": "RoleARN",  # a Delete that uses the role it names
    "ecs:RunTask": "overrides.taskRoleArn",
    # passed in no member: the rules file adds them
    "ssm:StartAutomationExecution": ALSO,
    "ssm:StartChangeRequestExecution": ALSO,
    "iam:AddRoleToInstanceProfile": ALSO,
    "sns:Subscribe": ALSO,
    "cognito-idp:CreateUserPool": ALSO,
}


def test_calls_apps_make_at_run_time_that_hand_a_role_over_are_found_and_shipped() -> None:
    for found in (_found(), _packaged()):
        assert {a: m for a, m in RUN_TIME.items() if m not in found.get(a, ())} == {}


def test_roles_assumed_read_removed_or_of_another_kind_are_not_passes() -> None:
    for found in (_found(), _packaged()):
        for action in ("sts:AssumeRole", "iam:CreateRole", "iam:GetRole", "ecs:DescribeTasks",
                       "securityhub:BatchImportFindings", "securityhub:CreateInsight",
                       "grafana:CreateWorkspaceApiKey", "rds:RemoveRoleFromDBCluster",
                       # found by the rules, and listed as passing none
                       "organizations:CreateAccount", "license-manager:CreateToken",
                       "ec2:CreateLaunchTemplate", "ssm:StartExecutionPreview",
                       # a role named as the resource an audit finding is about
                       "iot:CreateAuditSuppression"):
            assert action not in found, action
        assert found["redshift:ModifyClusterIamRoles"] == ["AddIamRoles", "DefaultIamRoleArn"]
        firehose = found["firehose:CreateDeliveryStream"]
        assert not any(m.endswith("SnowflakeRole") for m in firehose)
        assert "ExtendedS3DestinationConfiguration.RoleARN" in firehose
        assert not any(m.endswith("DatabaseAccessControlRole")
                       for m in found["quicksight:CreateDataSource"])
        # a role member whose documentation mentions SAML is still a role
        assert "roleArn" in found["qbusiness:CreateWebExperience"]


def test_operations_authorized_as_a_listed_action_that_name_no_role_are_named() -> None:
    # S3's DeleteBucketReplication is authorized as s3:PutReplicationConfiguration, as is
    # PutBucketReplication; only the latter passes a role. RDS's CreateDBCluster names one
    # and DocumentDB's (also rds:CreateDBCluster) none: the name may pass one
    for document in (_built(), load("passed_roles.json")):
        actions = document["actions"]
        assert actions["s3:PutReplicationConfiguration"]["not_by"] == ["DeleteBucketReplication"]
        assert "not_by" not in actions["rds:CreateDBCluster"]
        assert "not_by" not in actions["ecs:RunTask"]  # the rules file's: always


def test_operations_with_no_iam_action_are_named() -> None:
    unmapped = _built()["no_iam_action"]
    assert unmapped == sorted(unmapped)
    assert "cloudcontrol.CreateResource" not in unmapped  # Cloud Control is cloudformation:
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
