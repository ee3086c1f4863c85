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


def test_copy_of_a_source_version_needs_get_object_version_on_the_source() -> None:
    # The source's version is in the copy source, as boto3 and the API take it
    # ("bucket/key?versionId=v") or as a {"Bucket", "Key", "VersionId"} mapping.
    assert _observe(
        {"operation": "CopyObject", "bucket": "dst", "key": "a",
         "copy_source": "src/a%20b?versionId=3HL4kqtJ"},
        {"operation": "CopyObject", "bucket": "dst", "key": "b",
         "copy_source": {"Bucket": "src", "Key": "b", "VersionId": "v2"}},
        {"operation": "UploadPartCopy", "bucket": "dst", "key": "c", "copy_source": "src/c"},
    ) == {
        ("s3:GetObjectVersion", "arn:aws:s3:::src/a b"),
        ("s3:GetObjectVersion", "arn:aws:s3:::src/b"),
        ("s3:GetObject", "arn:aws:s3:::src/c"),
        ("s3:PutObject", "arn:aws:s3:::dst/a"),
        ("s3:PutObject", "arn:aws:s3:::dst/b"),
        ("s3:PutObject", "arn:aws:s3:::dst/c"),
    }


def test_a_version_of_the_copy_destination_does_not_change_the_source_action() -> None:
    # A version_id on a CopyObject call (the new object's, from the response) is not
    # the source's.
    assert _observe(
        {"operation": "CopyObject", "bucket": "dst", "key": "a", "copy_source": "src/a",
         "version_id": "new-version"},
    ) == {("s3:GetObject", "arn:aws:s3:::src/a"), ("s3:PutObject", "arn:aws:s3:::dst/a")}
