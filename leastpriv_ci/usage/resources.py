"""Resource ARNs from the fields a call recorded (``resource_fields.yaml`` + the catalog)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, NamedTuple

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import Catalog, get_catalog
from leastpriv_ci.partitions import partition_data
from leastpriv_ci.usage.fields import Fields

_VAR = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}\Z")
_DICT_KEYS = re.compile(r"""['"]([^'"]+)['"]""")
S3_ACCESS_POINT = re.compile(r"arn:[a-z-]+:s3:[a-z0-9-]+:\d{12}:accesspoint/[A-Za-z0-9-]+\Z")


class Where(NamedTuple):
    """Region and account to complete an ARN that the identifier alone does not give.

    A named tuple, not a dataclass: it is part of a cache key hashed for every new call
    shape, and a tuple hashes in C.
    """

    region: str | None
    account: str | None

    @property
    def partition(self) -> str:
        return partition(self.region)


@lru_cache(maxsize=256)
def partition(region: str | None) -> str:
    """The ARN partition of a region, by botocore's partition data (``aws`` when the
    region is unknown or absent)."""
    if not region:
        return "aws"
    for name, regions, pattern in partitions():
        if region in regions or pattern.match(region):
            return name
    return "aws"


@cache
def partitions() -> tuple[tuple[str, frozenset[str], re.Pattern[str]], ...]:
    """(name, regions, region pattern) of each partition AWS has."""
    return tuple((p["outputs"]["name"], frozenset(p.get("regions", {})),
                  re.compile(p["regionRegex"])) for p in partition_data())


@cache
def known_regions() -> frozenset[str]:
    """Every region botocore's partition data lists (a bounded set, unlike the region
    patterns, which a hostile trace could fill with names), less the names that stand for
    a partition's global endpoint (``aws-global``), which match no region pattern."""
    return frozenset(region for _, regions, pattern in partitions() for region in regions
                     if pattern.match(region))


def recorded_region(region: object) -> str | None:
    """A call subsegment's ``region``, when it is a region AWS has."""
    return region if type(region) is str and region in known_regions() else None


Value = str | list[str] | None
Parser = Callable[[str, Where], Value]


def _queue_url(value: str, where: Where) -> Value:
    # https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (or a local endpoint's /ACCOUNT/NAME)
    if value.startswith("arn:"):
        return value
    rest = value.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2:
        return None
    account, name = parts[-2], parts[-1]
    # The URL's region is the queue's (a Java v1 client even sends the call there); else
    # the subsegment's, else the principal's
    region = _queue_region(host) or where.region
    if region is None:
        return None
    return f"arn:{partition(region)}:sqs:{region}:{account}:{name}"


def _queue_region(authority: str) -> str | None:
    """The region a queue URL's host names: ``sqs.R.amazonaws.com``, ``R.queue.…``,
    ``sqs-fips.R.…``, a VPC endpoint's ``….sqs.R.vpce.…``, any partition's domain; the
    legacy ``queue.amazonaws.com`` is us-east-1's. A region newer than botocore's data
    counts where the host's shape says it is one (after ``sqs``, before ``queue``). None
    for a host naming no region (a local endpoint)."""
    host = authority.rpartition("@")[2]  # no userinfo
    host = (host.partition("]")[0] + "]" if host.startswith("[")
            else host.partition(":")[0]).rstrip(".").lower()  # no port
    if host == "queue.amazonaws.com":
        return "us-east-1"
    labels = host.split(".")
    known = next((label for label in labels if label in known_regions()), None)
    if known is not None:
        return known
    shaped = [label for before, label, after in zip(["", *labels[:-1]], labels,
                                                    [*labels[1:], ""], strict=True)
              if before in ("sqs", "sqs-fips") or after == "queue"]
    return next((label for label in shaped
                 if any(pattern.match(label) for _, _, pattern in partitions())), None)


def _function(value: str, where: Where) -> Value:
    # name, name:qualifier, ACCOUNT:function:name[:qualifier], or a full ARN. A version or
    # alias qualifier stays: IAM authorizes invoking an alias or version on its own ARN
    # (function:NAME:QUALIFIER), which a grant on the unqualified ARN does not match.
    # $LATEST is what the unqualified ARN invokes: it is dropped.
    parts = value.removesuffix(":$LATEST").split(":")
    if value.startswith("arn:"):
        return ":".join(parts[:8]) if len(parts) >= 7 else None
    if len(parts) >= 3 and parts[1] == "function":
        if where.region is None:
            return None
        name = ":".join(parts[2:4])
        return f"arn:{partition(where.region)}:lambda:{where.region}:{parts[0]}:function:{name}"
    return ":".join(parts[:2]) if parts[0] else None


def _noslash(value: str, where: Where) -> Value:
    return value if value.startswith("arn:") else value.removeprefix("/")


def _secret(value: str, where: Where) -> Value:
    # A secret's ARN ends in "-" and six random characters, and IAM authorizes on that
    # ARN however the call named the secret: by name, or by a partial ARN (one without
    # the suffix, which Secrets Manager tells apart the same way), "NAME-??????".
    if value.startswith("arn:"):
        return value if _SECRET_SUFFIX.search(value.rpartition(":")[2]) else f"{value}-??????"
    return f"{value}-??????"


def _kms_key(value: str, where: Where) -> Value:
    # An alias names no key: the key it points to is not in the trace.
    if value.startswith("alias/") or ":alias/" in value:
        return None
    return value


def _email(value: str, where: Where) -> Value:
    # "Display Name <sender@example.com>": the identity is the address alone
    if value.startswith("arn:"):
        return value
    start = value.rfind("<")
    end = value.find(">", start + 1)
    if start >= 0 and end > start:
        return value[start + 1 : end].strip() or None
    return value.strip() or None


def _lower(value: str, where: Where) -> Value:
    # SageMaker writes names into its ARNs in lower case, and IAM matches those ARNs.
    return value if value.startswith("arn:") else value.lower()


def _bucket(value: str, where: Where) -> Value:
    # The S3 SDKs take an access point's (or an Outpost's, an Object Lambda's) ARN where a
    # bucket name goes: none of them is a bucket
    return None if value.startswith("arn:") else value


def _access_point(value: str, where: Where) -> Value:
    return value if S3_ACCESS_POINT.match(value) else None


def _arn_only(value: str, where: Where) -> Value:
    # OpenTelemetry's messaging.destination.name for SNS is the topic's or target's ARN,
    # or a placeholder ("phone_number:**" for an SMS, "unknown"): never a plain name
    return value if value.startswith("arn:") else None


def _names(value: Any, where: Where) -> Value:
    if isinstance(value, tuple | list):
        return [v for v in value if isinstance(v, str) and v] or None
    if isinstance(value, dict):
        return [k for k in value if k] or None
    if isinstance(value, str):
        # the Python SDK serialises dict.keys() with str(): "dict_keys(['a', 'b'])"
        if value.startswith("dict_keys("):
            return _DICT_KEYS.findall(value) or None
        return value
    return None


PARSERS: Mapping[str, Parser] = {
    "queue_url": _queue_url,
    "function": _function,
    "noslash": _noslash,
    "secret": _secret,
    "kms_key": _kms_key,
    "names": _names,
    "lower": _lower,
    "email": _email,
    "arn": _arn_only,
    "bucket": _bucket,
    "access_point": _access_point,
}
# Parsers given any JSON value (a list of names); the others only text.
TAKES_ANY_VALUE = frozenset({"names"})


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str
    parser: str | None


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """How to build one resource type's ARN from a call's fields."""

    service: str
    type: str  # the catalog's name, lower case
    parts: tuple[tuple[bool, str], ...]  # the ARN format: (is_variable, text)
    vars: tuple[tuple[str, tuple[FieldRef, ...]], ...]  # first = the identifier

    def build(self, fields: Fields, where: Where) -> list[str]:
        """The ARNs this call names for this type ([] when a field is missing)."""
        values: dict[str, str | list[str]] = {}
        for var, refs in self.vars:
            value = _first(fields, refs, where)
            if value is None:
                return []
            values[var] = value
        ident_var = self.vars[0][0]
        idents = values[ident_var]
        result = []
        for ident in idents if isinstance(idents, list) else [idents]:
            values[ident_var] = ident
            arn = self._render(values, where, ident.startswith("arn:"))
            if arn is not None:
                result.append(arn)
        return result

    def _render(self, values: Mapping[str, Any], where: Where, from_arn: bool) -> str | None:
        ident_var = self.vars[0][0]
        out: list[str] = []
        started = not from_arn
        for is_var, text in self.parts:
            if not started:
                if is_var and text == ident_var:
                    started = True
                    out.append(values[text])
                continue
            if not is_var:
                out.append(text)
                continue
            if text == "Partition":
                out.append(where.partition)
            elif text == "Region":
                if where.region is None:
                    return None
                out.append(where.region)
            elif text == "Account":
                if where.account is None:
                    return None
                out.append(where.account)
            else:
                value = values.get(text)
                if not isinstance(value, str):
                    # An ARN identifier that already ends in this part (an execution ARN)
                    return values[ident_var] if from_arn else None
                out.append(value)
        return "".join(out)


def _first(fields: Fields, refs: tuple[FieldRef, ...], where: Where) -> str | list[str] | None:
    for ref in refs:
        raw = fields.get(ref.name)
        if raw is None or raw == "":
            continue
        if not isinstance(raw, str) and ref.parser not in TAKES_ANY_VALUE:
            continue  # a hostile trace may hold anything; these fields are text
        value = PARSERS[ref.parser](raw, where) if ref.parser is not None else raw
        if value:
            return value
    return None


def _parts(arn_format: str) -> tuple[tuple[bool, str], ...]:
    parts: list[tuple[bool, str]] = []
    pos = 0
    for match in _VAR.finditer(arn_format):
        if match.start() > pos:
            parts.append((False, arn_format[pos : match.start()]))
        parts.append((True, match.group(1)))
        pos = match.end()
    if pos < len(arn_format):
        parts.append((False, arn_format[pos:]))
    return tuple(parts)


class ResourceFields:
    """The resource specs of every service, indexed by prefix."""

    def __init__(self, raw: Mapping[str, Any], catalog: Catalog) -> None:
        self.by_service: dict[str, tuple[ResourceSpec, ...]] = {}
        for service, types in raw.items():
            specs = []
            for entry in types:
                rtype = catalog.resource_type(service, entry["type"])
                if rtype is None:
                    raise ValueError(f"resource_fields.yaml: {service} has no type {entry['type']}")
                refs = tuple(
                    (var, tuple(_ref(f) for f in names)) for var, names in entry["vars"].items()
                )
                specs.append(ResourceSpec(service, rtype.name.lower(), _parts(rtype.arn_format),
                                          refs))
            self.by_service[service] = tuple(specs)

    def specs(self, service: str) -> tuple[ResourceSpec, ...]:
        return self.by_service.get(service, ())


def _ref(text: str) -> FieldRef:
    name, _, parser = text.partition("|")
    if parser and parser not in PARSERS:
        raise ValueError(f"resource_fields.yaml: unknown parser {parser!r}")
    return FieldRef(name, parser or None)


@cache
def resource_fields() -> ResourceFields:
    """The process-wide table."""
    return ResourceFields(load("resource_fields.yaml"), get_catalog())
