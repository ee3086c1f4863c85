"""S3 operations whose IAM actions differ from their names, with and without versions."""

from __future__ import annotations

import json

from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import accesses

FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:f"


def _observe(*calls: dict[str, object]) -> set[tuple[str, str]]:
    segment = {"id": "s1", "name": "f", "origin": "AWS::Lambda::Function",
               "start_time": 1.0, "end_time": 2.0, "aws": {"function_arn": FUNCTION},
               "subsegments": [
                   {"id": f"c{i}", "name": "s3", "namespace": "aws", "start_time": 1.5,
                    "aws": {"region": "us-east-1", **call}}
                   for i, call in enumerate(calls)]}
    found = accesses(observe([RawTrace("1-a", (json.dumps(segment),), "t.json#1")]))
    return {(action, resource) for action, resource, *_ in found[FUNCTION]}


def test_get_object_attributes_needs_the_attributes_action_too() -> None:
    # S3 API reference, GetObjectAttributes: s3:GetObject and s3:GetObjectAttributes;
    # with a version ID, s3:GetObjectVersion and s3:GetObjectVersionAttributes.
    assert _observe(
        {"operation": "GetObjectAttributes", "bucket_name": "b", "key": "k"},
        {"operation": "GetObjectAttributes", "bucket_name": "b", "key": "v", "version_id": "3"},
    ) == {
        ("s3:GetObject", "arn:aws:s3:::b/k"),
        ("s3:GetObjectAttributes", "arn:aws:s3:::b/k"),
        ("s3:GetObjectVersion", "arn:aws:s3:::b/v"),
        ("s3:GetObjectVersionAttributes", "arn:aws:s3:::b/v"),
    }
