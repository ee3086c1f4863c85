"""The region a traced call's request named: the value of ``aws:RequestedRegion``.

An SDK sends a call to its client's region, which the call's subsegment records (see
``Access.regions``), unless the service is global: IAM, Route 53, CloudFront,
Organizations and the like are served from one endpoint per partition, and IAM sees
their requests as made to that endpoint's region (``us-east-1`` in ``aws``). Which
services are global is botocore's endpoint data, read as its partition data is
(``usage.resources.partitions``).

A service whose requests may go either way (STS's global and regional endpoints, by
SDK setting) leaves the key undecided, as does a call that recorded no region.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from leastpriv_ci.usage.resources import known_regions, partition

# What a service is in one partition: the region its requests name whatever the client's
# (global), or None when that depends on the SDK's settings (undecided). A service the
# data does not name is regional.
Kind = str | None


@cache
def _global_services() -> dict[tuple[str, str], Kind]:
    """(partition, endpoint prefix) → :data:`Kind`, for the services that are not plainly
    regional."""
    data = json.loads((files("botocore") / "data" / "endpoints.json").read_text("utf-8"))
    found: dict[tuple[str, str], Kind] = {}
    for part in data["partitions"]:
        for name, service in part["services"].items():
            regionalized = service.get("isRegionalized")
            endpoint = service.get("partitionEndpoint")
            if regionalized is True or (regionalized is None and endpoint is None):
                continue
            scope = service.get("endpoints", {}).get(endpoint, {}).get("credentialScope", {})
            region = scope.get("region")
            # global only when the data says it is not regionalized and names the region
            found[(part["partition"], name)] = (
                region if regionalized is False and region in known_regions() else None)
    return found


def requested_regions(action: str, regions: Sequence[str], region_known: bool
                      ) -> tuple[str | None, ...]:
    """The ``aws:RequestedRegion`` of a use's calls, each once: None for calls whose
    region is not known (none recorded, or a service that may be served either way)."""
    service = action.partition(":")[0].lower()
    found: dict[str | None, None] = {}
    for region in regions:
        kind = _global_services().get((partition(region), service), region)
        found[kind] = None
    if not region_known:
        found[None] = None
    return tuple(found)
