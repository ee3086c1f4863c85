"""The region a traced call's request named: the value of ``aws:RequestedRegion``.

An SDK sends a call to the endpoint its client's region resolves to, by the service's
endpoint rule set (the same rules in every AWS SDK), and signs it for that endpoint's
region: the client's for a regional service, ``us-east-1`` for IAM, Route 53 and the
other global services served there, ``us-west-2`` for a few. The client's region is what
the call's subsegment records (``Access.regions``), so the requested region is the
signing region botocore's rule set gives for it.

It stays undecided (None) where that is not certain:

- the services of ``requested_region.yaml`` (S3 follows a bucket's region by redirect,
  STS's endpoint is the SDK's choice), a rule set that signs for many regions (SigV4a)
  or gives no endpoint, and a service with no rule set under its IAM prefix or an SDK
  name for it;
- a call whose ARN names another region than its client's (a function, key or queue
  elsewhere), and a call that recorded no region. The observation records no region for
  what a call needs of another service (``iam:PassRole``, KMS behind S3): that request's
  region is not the client's.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from leastpriv_ci.bundled import load
from leastpriv_ci.policy.wildcards import has_wildcard
from leastpriv_ci.usage.resources import known_regions


@cache
def _undecided() -> frozenset[str]:
    return frozenset(str(s).lower() for s in load("requested_region.yaml")["undecided"])


@cache
def _loader() -> Any:
    from botocore.loaders import create_loader

    return create_loader()


@cache
def _names(prefix: str) -> tuple[str, ...]:
    """botocore's names to try for an IAM prefix: the prefix, then the SDK spellings of
    ``sdk_services.yaml`` (``stepfunctions`` for ``states``)."""
    aliases = load("sdk_services.yaml")["services"].get(prefix, ())
    return tuple(dict.fromkeys([prefix, *(str(a) for a in aliases)]))


@cache
def _provider(prefix: str) -> Any | None:
    """The endpoint rule set of the service with this IAM prefix, or None."""
    from botocore.endpoint_provider import EndpointProvider
    from botocore.exceptions import DataNotFoundError

    loader = _loader()
    for name in _names(prefix):
        try:
            ruleset = loader.load_service_model(name, "endpoint-rule-set-1")
        except DataNotFoundError:
            continue
        return EndpointProvider(ruleset, loader.load_data("partitions"))
    return None


@lru_cache(maxsize=1024)
def signing_region(prefix: str, region: str) -> str | None:
    """The region a call to service ``prefix`` from a client in ``region`` is signed for
    (None: not certain)."""
    if prefix in _undecided() or region not in known_regions():
        return None
    provider = _provider(prefix)
    if provider is None:
        return None
    from botocore.exceptions import BotoCoreError

    try:
        endpoint = provider.resolve_endpoint(Region=region, UseFIPS=False, UseDualStack=False)
    except (BotoCoreError, ValueError, KeyError, TypeError):
        return None
    schemes = endpoint.properties.get("authSchemes") or ()
    if not schemes:
        return region  # SigV4 for the client's region
    scheme = schemes[0]
    if "signingRegionSet" in scheme:  # SigV4a: signed for many regions
        return None
    signed = scheme.get("signingRegion") or region
    return signed if signed in known_regions() else None


def arn_region(resource: str) -> str | None:
    """The region an ARN names (None: not an ARN, or it names none, or a pattern of any:
    a declared ``arn:aws:sqs:*:…`` says nothing of where a call went)."""
    if not resource.startswith("arn:"):
        return None
    parts = resource.split(":", 4)
    region = parts[3] if len(parts) > 4 else ""
    return None if not region or has_wildcard(region) else region


def requested_regions(action: str, resource_region: str | None, regions: tuple[str, ...],
                      region_known: bool) -> tuple[str | None, ...]:
    """The ``aws:RequestedRegion`` of a use's calls, each once: None for calls whose
    requested region is not certain (``resource_region``: the region its resource's ARN
    names, or None)."""
    prefix = action.partition(":")[0].lower()
    found: dict[str | None, None] = {}
    for region in regions:
        agrees = resource_region is None or resource_region == region
        found[signing_region(prefix, region) if agrees else None] = None
    if not region_known:
        found[None] = None
    return tuple(found)
