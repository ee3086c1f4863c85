"""AWS partitions as botocore's endpoint data describes them."""

from __future__ import annotations

from functools import cache


@cache
def dns_suffix(partition: str) -> str:
    """The partition's DNS suffix (``AWS::URLSuffix``: ``amazonaws.com.cn`` in ``aws-cn``),
    from botocore's endpoint data; ``amazonaws.com`` for a partition it does not know."""
    import botocore.session

    data = botocore.session.get_session().get_data("endpoints")
    for entry in data.get("partitions", ()):
        if entry.get("partition") == partition and isinstance(entry.get("dnsSuffix"), str):
            return str(entry["dnsSuffix"])
    return "amazonaws.com"
