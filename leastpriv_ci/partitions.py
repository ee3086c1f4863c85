"""AWS partitions as botocore's partition data describes them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def partition_data() -> Sequence[Mapping[str, Any]]:
    """Each partition's entry in botocore's ``partitions.json`` (``id``, ``outputs``,
    ``regions``, ``regionRegex``)."""
    # botocore's own data file, read directly: its loader module costs 15 MB of imports
    data = json.loads((files("botocore") / "data" / "partitions.json").read_text("utf-8"))
    return tuple(data["partitions"])


@cache
def dns_suffix(partition: str) -> str:
    """The partition's DNS suffix (``AWS::URLSuffix``: ``amazonaws.com.cn`` in ``aws-cn``);
    ``amazonaws.com`` for a partition botocore does not know."""
    for entry in partition_data():
        outputs = entry.get("outputs", {})
        if outputs.get("name") == partition and isinstance(outputs.get("dnsSuffix"), str):
            return str(outputs["dnsSuffix"])
    return "amazonaws.com"
