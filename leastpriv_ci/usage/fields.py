"""Reading a call's fields: the subsegment's ``aws`` object first, then ADOT's extras."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leastpriv_ci.usage.documents import EMPTY_AWS, Aws

EMPTY: Mapping[str, Any] = {}


class Fields:
    """The named values one AWS-call subsegment carries.

    The SDKs write them into ``aws`` (``table_name``, ``queue_url``, ...); ADOT leaves
    OpenTelemetry attributes it does not map in ``metadata.default`` or ``annotations``
    (where annotation keys have ``_`` for ``.``).
    """

    __slots__ = ("aws", "extra")

    def __init__(self, aws: Aws | None, metadata: Any = None, annotations: Any = None) -> None:
        """From the subsegment's ``aws`` record and its ``metadata`` and ``annotations``."""
        self.aws = aws if aws is not None else EMPTY_AWS
        self.extra: Mapping[str, Any] = _extras(metadata, annotations)

    def get(self, name: str) -> Any:
        """The value of ``name``, or None when the call did not record it.

        Plain names are the SDKs' ``aws`` fields; dotted names are OpenTelemetry
        attributes, which only ADOT's metadata/annotations carry.
        """
        if "." in name:
            return self.extra.get(name) if self.extra else None
        return getattr(self.aws, name, None)  # every name the data reads is a field

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return value if isinstance(value, str) and value else None


def _extras(metadata: Any, annotations: Any) -> Mapping[str, Any]:
    if not metadata and not annotations:
        return EMPTY
    merged: dict[str, Any] = {}
    if isinstance(annotations, dict):
        # X-Ray annotation keys allow no dots: "aws.s3.bucket" arrives as "aws_s3_bucket"
        merged.update((str(k).replace("_", "."), v) for k, v in annotations.items())
        merged.update(annotations)
    if isinstance(metadata, dict):
        default = metadata.get("default")
        if isinstance(default, dict):
            merged.update(default)
    return merged
