"""The region a traced call's request named: the value of ``aws:RequestedRegion``.

A current AWS SDK sends a call to the endpoint its client's region resolves to by the
service's endpoint rule set, and signs it for that endpoint's region: the client's for a
regional service, ``us-east-1`` for IAM, Route 53 and the other global services served
there, ``us-west-2`` for Network Manager. The client's region is what the call's subsegment
records (``Access.regions``), so the requested region is the signing region botocore's
rule set gives for it. (Older SDKs resolve from botocore's legacy endpoint table or
their own; where that table sends a decided service elsewhere, Health in the commercial
partition, it is left undecided; an isolated partition's Savings Plans is not yet.)

It stays undecided (None) where that is not certain:

- the services of ``requested_region.yaml`` (S3 follows a bucket's region by redirect,
  STS's endpoint is the SDK's choice, the Chime prefix names a global and regional
  APIs, older SDKs send Health to its global endpoint, Bedrock's inference profiles
  carry a request on), a rule set that takes a parameter which may move the request (an
  operation's control plane, a multi-region endpoint ID), signs for many regions
  (SigV4a), gives no endpoint, or signs for another region with FIPS or dual-stack
  endpoints on (the trace does not show them), a service with no botocore service under
  its IAM prefix, and one whose botocore services disagree;
- the actions of ``requested_region.yaml`` authorized in a source region too (RDS's
  cross-region copies carry a URL presigned for it);
- a call whose ARN names another region than its client's (a function, key or queue
  elsewhere), and a call that recorded no region. The observation records no region for
  what a call needs of another service (``iam:PassRole``, KMS behind S3): the trace does
  not show that request's context.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from leastpriv_ci.bundled import load
from leastpriv_ci.policy.wildcards import has_wildcard
from leastpriv_ci.usage.resources import known_regions


@cache
def _data() -> dict[str, Any]:
    return dict(load("requested_region.yaml"))


@cache
def _undecided() -> tuple[frozenset[str], frozenset[str]]:
    """The services and the actions ``requested_region.yaml`` leaves undecided."""
    return (frozenset(str(s).lower() for s in _data()["undecided"]),
            frozenset(str(a).lower() for a in _data()["undecided_actions"]))


@cache
def _aliases() -> dict[str, Any]:
    return dict(load("sdk_services.yaml")["services"])


@cache
def botocore_loader() -> Any:
    """botocore's loader over its own data only: a model under ``~/.aws/models`` must not
    decide (nor break) what the tool concludes."""
    from botocore.loaders import Loader

    return Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH],
                  include_default_search_paths=False)


@cache
def _providers(prefix: str) -> tuple[Any, ...] | None:
    """The endpoint rule sets of every botocore service that the IAM prefix or an SDK
    name for it (``sdk_services.yaml``: ``stepfunctions`` for ``states``, ``sesv2`` for
    ``ses``) names, or that ``sdk_names.json`` lists under it (``efs`` for
    ``elasticfilesystem``, Bedrock's runtimes for ``bedrock``); None when one cannot be
    read or takes a parameter that may move the request to another region (an
    operation's control plane endpoint, a multi-region endpoint ID, a bucket)."""
    from botocore.endpoint_provider import EndpointProvider
    from botocore.exceptions import DataNotFoundError

    loader = botocore_loader()
    same_region = {"Region", "UseFIPS", "UseDualStack", "Endpoint",
                   *_data()["same_region_parameters"]}
    aliases = _aliases().get(prefix, ())
    under = load("sdk_names.json")["botocore_services"].get(prefix, ())
    found = []
    for name in dict.fromkeys([prefix, *(str(a) for a in aliases), *under]):
        try:
            ruleset = loader.load_service_model(name, "endpoint-rule-set-1")
        except DataNotFoundError:
            continue  # not a botocore service name
        try:
            if set(ruleset["parameters"]) - same_region:
                return None
            found.append(EndpointProvider(ruleset, loader.load_data("partitions")))
        except Exception:  # botocore's own data, read defensively: never a traceback
            return None
    return tuple(found) or None


@lru_cache(maxsize=4096)
def signing_region(prefix: str, region: str) -> str | None:
    """The region a call to service ``prefix`` from a client in ``region`` is signed for
    (None: not certain)."""
    if prefix in _undecided()[0] or region not in known_regions():
        return None
    providers = _providers(prefix)
    if providers is None:
        return None
    # Every botocore service under the prefix, with FIPS and dual-stack endpoints on or off
    # (the trace records neither setting), must agree, where it has such an endpoint
    signed = {_signed(provider, region, fips, dual)
              for provider in providers for fips in (False, True) for dual in (False, True)}
    signed.discard(_NO_ENDPOINT)
    found = signed.pop() if len(signed) == 1 else None
    return found if found in known_regions() else None


_NO_ENDPOINT = "\x00none"  # the rule set has no endpoint for that setting: no call made


def _signed(provider: Any, region: str, fips: bool, dual: bool) -> str | None:
    try:
        endpoint = provider.resolve_endpoint(Region=region, UseFIPS=fips, UseDualStack=dual)
    except Exception:  # an error rule: no endpoint for that setting, so no call was made
        return None if not (fips or dual) else _NO_ENDPOINT
    schemes = endpoint.properties.get("authSchemes") or ()
    if not schemes:
        return region  # SigV4 for the client's region
    scheme = schemes[0]
    if "signingRegionSet" in scheme:  # SigV4a: signed for many regions
        return None
    return str(scheme.get("signingRegion") or region)


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
    if action.lower() in _undecided()[1]:
        return (None,)
    found: dict[str | None, None] = {}
    for region in regions:
        agrees = resource_region is None or resource_region == region
        found[signing_region(prefix, region) if agrees else None] = None
    if not region_known:
        found[None] = None
    return tuple(found)
