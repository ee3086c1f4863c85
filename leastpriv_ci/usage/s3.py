"""S3: object versus bucket resources, object versions, and CopyObject's source."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote

from leastpriv_ci.usage.extract import UNKNOWN, Call, Target, resources_for
from leastpriv_ci.usage.operations import Step
from leastpriv_ci.usage.resources import S3_ACCESS_POINT, partition

BUCKET_FIELDS = ("bucket_name", "bucket", "aws.s3.bucket")
VERSION_FIELDS = ("version_id",)
SOURCE_FIELDS = ("copy_source",)
# A bucket-level step is on the bucket, or on the access point named in its place
BUCKET_TYPES = ("accesspoint", "bucket")


def targets(call: Call) -> list[Target]:
    """S3 actions: object actions on ``BUCKET/KEY`` (``BUCKET/*`` when only the bucket is known)."""
    result: list[Target] = []
    versioned = any(call.fields.get(f) for f in VERSION_FIELDS)
    for step in call.steps:
        if step.resource == "source":
            # The copy source names its own version ("bucket/key?versionId=v" or
            # {"VersionId"}); the call's version_id, if any, is the destination's.
            source, source_versioned = _copy_source(call)
            action = step.versioned if source_versioned and step.versioned else step.action
            result.append(_source(call, source, action))
            continue
        action = step.versioned if versioned and step.versioned else step.action
        if not step.resource_types:
            result.append(Target(action, "*"))
            continue
        types = (tuple(t for t in BUCKET_TYPES if t in step.resource_types) or ("bucket",)
                 if step.resource == "bucket" else step.resource_types)
        arns = resources_for(call, step, types)
        if arns:
            result.extend(Target(action, arn) for arn in arns)
        else:
            result.append(_partial(call, step, action))
    return result


def _partial(call: Call, step: Step, action: str) -> Target:
    bucket = _bucket(call)
    if bucket is None or "object" not in step.resource_types:
        return Target(action, UNKNOWN, known=False)
    if S3_ACCESS_POINT.match(bucket):
        return Target(action, f"{bucket}/object/*", known=False)
    if bucket.startswith("arn:"):  # an Outpost's or Object Lambda's: no object ARN known
        return Target(action, UNKNOWN, known=False)
    return Target(action, f"arn:{partition(call.where.region)}:s3:::{bucket}/*", known=False)


def _bucket(call: Call) -> str | None:
    for name in BUCKET_FIELDS:
        value = call.fields.text(name)
        if value is not None:
            return value
    return None


def _copy_source(call: Call) -> tuple[tuple[str, str | None] | None, bool]:
    """The copy source's bucket and key (None when not recorded), and whether it names a
    version."""
    for name in SOURCE_FIELDS:
        raw = call.fields.get(name)
        source = _parse_source(raw)
        if source is not None:
            return source, _names_version(raw)
    return None, False


def _source(call: Call, source: tuple[str, str | None] | None, action: str) -> Target:
    if source is None:
        return Target(action, UNKNOWN, known=False)
    arn_partition = partition(call.where.region)
    bucket, key = source
    if key:
        return Target(action, f"arn:{arn_partition}:s3:::{bucket}/{key}")
    return Target(action, f"arn:{arn_partition}:s3:::{bucket}/*", known=False)


def _names_version(raw: Any) -> bool:
    if isinstance(raw, dict):
        return bool(raw.get("VersionId"))
    if isinstance(raw, str) and "?" in raw:
        query = parse_qs(raw.split("?", 1)[1])
        return any(query.get("versionId", ()))
    return False


def _parse_source(raw: Any) -> tuple[str, str | None] | None:
    # boto3 accepts "bucket/key?versionId=v" (URL-encoded) or {"Bucket", "Key", "VersionId"}
    if isinstance(raw, dict):
        bucket = raw.get("Bucket")
        key = raw.get("Key")
        if isinstance(bucket, str) and bucket:
            return bucket, key if isinstance(key, str) and key else None
        return None
    if not isinstance(raw, str) or not raw:
        return None
    text = unquote(raw.split("?", 1)[0]).lstrip("/")
    if text.startswith("arn:"):
        return None
    bucket, _, key = text.partition("/")
    return (bucket, key or None) if bucket else None
