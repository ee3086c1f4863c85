from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from leastpriv_ci.emulator import Emulator
from leastpriv_ci.errors import ServiceError
from leastpriv_ci.grants.attached import load_attached
from leastpriv_ci.notices import Notices

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def doc(action: str, resource: str = "*") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": resource}]})


def test_inline_managed_and_boundary_are_read(aws: Emulator) -> None:
    iam = aws.client("iam")
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=doc("s3:*"))["Policy"]
    managed = iam.create_policy(PolicyName="reads", PolicyDocument=doc("s3:GetObject"))["Policy"]
    iam.create_policy_version(PolicyArn=managed["Arn"], PolicyDocument=doc("s3:ListBucket"),
                              SetAsDefault=True)
    role = iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST,
                           PermissionsBoundary=boundary["Arn"])["Role"]
    for i in range(3):
        iam.put_role_policy(RoleName="app", PolicyName=f"inline{i}",
                            PolicyDocument=doc("sqs:SendMessage",
                                               f"arn:aws:sqs:us-east-1:123456789012:q{i}"))
    iam.attach_role_policy(RoleName="app", PolicyArn=managed["Arn"])
    notices = Notices()
    grants = load_attached(aws, ["arn:aws:iam::123456789012:role/app", "missing"], notices)
    attached = grants.roles[role["Arn"]]
    assert attached.source == "attached"
    assert [(p.name, s.to_json()) for p in attached.policies for s in p.statements] == [
        *[(f"inline{i}", {"Effect": "Allow", "Action": "sqs:SendMessage",
                          "Resource": f"arn:aws:sqs:us-east-1:123456789012:q{i}"})
          for i in range(3)],
        ("reads", {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}),  # default v2
    ]
    assert attached.policies[3].origin.policy_arn == managed["Arn"]
    assert attached.boundary is not None
    assert attached.boundary.statements[0].actions == ("s3:*",)
    assert notices.count("role-not-found") == 1


@pytest.mark.parametrize(("operation", "permission"), [
    ("get_role", "iam:GetRole"),
    ("list_role_policies", "iam:ListRolePolicies"),
])
def test_denied_calls_name_the_missing_permission(
    aws: Emulator, operation: str, permission: str
) -> None:
    iam = aws.client("iam")

    class Session:
        def client(self, service: str) -> object:
            return iam

    with Stubber(iam) as stub:
        if operation != "get_role":
            stub.add_response("get_role", {"Role": {
                "Path": "/", "RoleName": "app", "RoleId": "AROAEXAMPLEEXAMPLE01",
                "Arn": "arn:aws:iam::123456789012:role/app",
                "CreateDate": "2024-01-01T00:00:00Z"}})
        stub.add_client_error(operation, service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(ServiceError, match=permission):
            load_attached(Session(), ["app"], Notices())
