from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.stub import Stubber

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.errors import ServiceError
from leastpriv_ci.grants.declared import load_declared
from leastpriv_ci.grants.managed import (
    bundled_policies,
    fetch_document,
    is_placeholder,
    managed_arn,
    managed_policy,
)
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import Origin

EXPECTED = {
    "AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AWSXRayDaemonWriteAccess",
    "AWSXrayWriteOnlyAccess", "AWSLambdaSQSQueueExecutionRole", "AWSLambdaKinesisExecutionRole",
    "AWSLambdaDynamoDBExecutionRole", "AmazonECSTaskExecutionRolePolicy",
}


def test_bundled_policies_name_only_real_actions() -> None:
    catalog = get_catalog()
    assert set(bundled_policies()) == EXPECTED
    for name, data in bundled_policies().items():
        for statement in data["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                assert catalog.exists(action), f"{name}: {action}"


def test_names_become_arns_with_their_path() -> None:
    assert managed_arn("AWSLambdaBasicExecutionRole") == (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    assert managed_arn("AmazonS3ReadOnlyAccess") == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    assert managed_arn("AWSXrayWriteOnlyAccess", "aws-cn") == (
        "arn:aws-cn:iam::aws:policy/AWSXrayWriteOnlyAccess")


def test_unknown_managed_policy_is_an_explicit_placeholder() -> None:
    origin = Origin(file="t.yaml", line=7, logical_id="Role")
    policy = managed_policy("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", origin)
    assert is_placeholder(policy)
    assert policy.origin == Origin(file="t.yaml", line=7, logical_id="Role",
                                   policy_arn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                                   policy_name="AmazonS3ReadOnlyAccess")
    bundled = managed_policy(managed_arn("AWSLambdaSQSQueueExecutionRole"), origin)
    assert not is_placeholder(bundled)
    assert bundled.statements[0].actions[0] == "sqs:ReceiveMessage"


def test_customer_managed_policy_is_read_through_iam(aws: Emulator, tmp_path: Path) -> None:
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
    arn = aws.client("iam").create_policy(
        PolicyName="decrypt", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
        f"      ManagedPolicyArns:\n        - {arn}\n"
        "        - arn:aws:iam::aws:policy/NotInTheEmulator\n"
    )
    offline = Notices()
    role = load_declared([path], ResolveContext(), offline).roles["R"]
    assert [is_placeholder(p) for p in role.policies] == [True, True]
    assert offline.count("managed-policy-unresolved") == 2
    online = Notices()
    role = load_declared([path], ResolveContext(), online, session=aws).roles["R"]
    decrypt = role.policies[0]
    assert [(s.to_json(), s.origin.line, s.origin.policy_arn) for s in decrypt.statements] == [
        ({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}, 6, arn)]
    assert is_placeholder(role.policies[1])
    assert online.count("managed-policy-unresolved") == 1


def test_denied_policy_read_names_the_permission(aws: Emulator) -> None:
    iam = aws.client("iam")
    with Stubber(iam) as stub:
        stub.add_client_error("get_policy", service_error_code="AccessDenied",
                              http_status_code=403)
        with pytest.raises(ServiceError, match="iam:GetPolicy"):
            fetch_document(iam, "arn:aws:iam::123456789012:policy/x")
