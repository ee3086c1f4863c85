"""A checkout whose template attaches a policy to a role it does not declare, and a trace
of the function running as that role publishing to SNS (which only the role's other
policies could allow)."""

from __future__ import annotations

import json
from pathlib import Path


def write_partial_role_case(folder: Path, account: str) -> str:
    """Write ``template.json`` and ``traces.json`` in ``folder``; the role's ARN."""
    role = f"arn:aws:iam::{account}:role/existing"
    (folder / "template.json").write_text(json.dumps({"Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "a", "Role": role, "Code": {"ZipFile": "x"}, "Handler": "h",
            "Runtime": "python3.12"}},
        "Extra": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "extra", "Roles": ["existing"], "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}}}}}))
    segment = {"id": "00000000000000a1", "name": "a", "origin": "AWS::Lambda::Function",
               "start_time": 1.0, "end_time": 2.0,
               "aws": {"function_arn": f"arn:aws:lambda:us-east-1:{account}:function:a"},
               "subsegments": [{"id": "00000000000000b1", "name": "SNS", "namespace": "aws",
                                "aws": {"operation": "Publish", "region": "us-east-1",
                                        "topic_arn": f"arn:aws:sns:us-east-1:{account}:t"}}]}
    (folder / "traces.json").write_text(json.dumps({"Traces": [{
        "Id": "1-00000000-000000000000000000000001",
        "Segments": [{"Id": segment["id"], "Document": json.dumps(segment)}]}]}))
    return role
