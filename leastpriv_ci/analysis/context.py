"""The request context every traced call is known to have: the keys of
``request_context.yaml``, and ``aws:RequestedRegion``, the call's own region. The
condition keys a scan decides instead of leaving open."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from leastpriv_ci.bundled import load
from leastpriv_ci.policy.evaluate import Evaluation, PolicyIndex
from leastpriv_ci.policy.model import Statement
from leastpriv_ci.policy.wildcards import has_wildcard

REQUESTED_REGION = "aws:RequestedRegion"


def traced_context() -> dict[str, object]:
    """Condition key → value for every call in a trace (a fresh copy)."""
    return dict(load("request_context.yaml"))


class CallIndex(PolicyIndex):
    """A role's policies for traced calls: their request context, plus
    ``aws:RequestedRegion``, the region of the call's resource ARN where it names one. An
    SDK call goes to one region's endpoint, and a regional service's resources are
    reached only through their own region's, so that is the region the request named. A
    resource naming no region (an S3 object, an IAM role, ``*``) leaves it undecided; a
    context that sets the key itself keeps its value."""

    def __init__(self, statements: Iterable[Statement], *, context: Mapping[str, object],
                 boundary: Iterable[Statement] | None = None) -> None:
        self._rules = tuple(statements)
        self._limits = tuple(boundary) if boundary is not None else None
        self._context = dict(context)
        super().__init__(self._rules, context=self._context, boundary=self._limits)
        self._regional: dict[str, PolicyIndex] = {}
        self._fixed = any(k.lower() == REQUESTED_REGION.lower() for k in self._context)

    def evaluate(self, action: str, resource: str) -> Evaluation:
        region = None if self._fixed else _region(resource)
        if region is None:
            return super().evaluate(action, resource)
        index = self._regional.get(region)
        if index is None:
            index = self._regional[region] = PolicyIndex(
                self._rules, context={**self._context, REQUESTED_REGION: region},
                boundary=self._limits)
        return index.evaluate(action, resource)


def call_index(statements: Iterable[Statement], context: Mapping[str, object] | None,
               boundary: Iterable[Statement] | None = None) -> PolicyIndex:
    """The index to judge traced calls with: a :class:`CallIndex` under a request context,
    else a plain one (every condition undecided)."""
    if context is None:
        return PolicyIndex(statements, boundary=boundary)
    return CallIndex(statements, context=context, boundary=boundary)


def _region(resource: str) -> str | None:
    if not resource.startswith("arn:"):
        return None
    parts = resource.split(":", 4)
    if len(parts) < 5 or not parts[3] or has_wildcard(parts[3]) or "${" in parts[3]:
        return None
    return parts[3]
