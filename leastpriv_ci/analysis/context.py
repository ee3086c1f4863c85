"""The request context of traced calls: the keys every call is known to have
(``request_context.yaml``), and ``aws:RequestedRegion``, decided per use from the regions
its calls were sent to. The condition keys a scan decides instead of leaving open."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import orjson

from leastpriv_ci.analysis.regions import arn_region, requested_regions
from leastpriv_ci.bundled import load
from leastpriv_ci.policy.evaluate import Decision, Evaluation, PolicyIndex, every
from leastpriv_ci.policy.model import Statement
from leastpriv_ci.usage.resources import known_regions

REQUESTED_REGION = "aws:RequestedRegion"
_MEMO_LIMIT = 65_536


def traced_context() -> dict[str, object]:
    """Condition key → value for every call in a trace (a fresh copy)."""
    return dict(load("request_context.yaml"))


class Sent(Protocol):
    """Calls whose regions are known in part: an access, or a role's use."""

    @property
    def regions(self) -> tuple[str, ...]: ...

    @property
    def region_known(self) -> bool: ...


class CallIndex:
    """:class:`PolicyIndex` for traced calls: ``aws:RequestedRegion`` is each call's
    region where that is certain (:func:`requested_regions`), so a region guardrail (a
    Deny under ``StringNotEquals`` on the key) refuses for certain the calls sent
    elsewhere, and none of the others.

    One index per requested region, built only when a statement names the key (in a
    condition or a policy variable) and the context does not set it, and only for the
    regions botocore's data lists: what a trace names cannot make more of them.
    """

    __slots__ = ("_any_only", "_boundary", "_by_calls", "_context", "_indexes", "_regional",
                 "_statements", "any")

    def __init__(self, statements: Iterable[Statement], *,
                 context: Mapping[str, object] | None = None,
                 boundary: Iterable[Statement] | None = None) -> None:
        self._statements = tuple(statements)
        self._boundary = tuple(boundary) if boundary is not None else None
        self._context = dict(context or {})
        # the index for calls whose region is not known (the key undecided)
        self.any = PolicyIndex(self._statements, context=context, boundary=self._boundary)
        self._any_only = (self.any,)
        self._regional = (
            REQUESTED_REGION.lower() not in {k.lower() for k in self._context}
            and _names_key([*self._statements, *(self._boundary or ())], REQUESTED_REGION))
        self._indexes: dict[str, PolicyIndex] = {}
        # (action, the ARN's region, regions, region known) -> the indexes deciding its calls
        self._by_calls: dict[tuple[str, str | None, tuple[str, ...], bool],
                             tuple[PolicyIndex, ...]] = {}

    def evaluate(self, action: str, resource: str, calls: Sent | None = None) -> Evaluation:
        """Decide ``action`` on ``resource`` for ``calls`` (None: calls sent anywhere).

        Calls sent to several regions are several requests: refused when one is, and then
        implicitly when one lacks an Allow (granting it is the first fix; a guardrail's
        refusal elsewhere shows once it is), else by the Denies that refuse some.
        """
        indexes = self._indexes_for(action, resource, calls)
        if len(indexes) == 1:
            return indexes[0].evaluate(action, resource)
        return _all_calls(tuple(index.evaluate(action, resource) for index in indexes))

    def each(self, action: str, resource: str, calls: Sent | None = None
             ) -> tuple[Evaluation, ...]:
        """The decision for each requested region of ``calls`` (one when it is not known)."""
        return tuple(index.evaluate(action, resource)
                     for index in self._indexes_for(action, resource, calls))

    def _indexes_for(self, action: str, resource: str, calls: Sent | None
                     ) -> tuple[PolicyIndex, ...]:
        if not self._regional or calls is None or not calls.regions:
            return self._any_only
        key = (action, arn_region(resource), calls.regions, calls.region_known)
        indexes = self._by_calls.get(key)
        if indexes is None:
            if len(self._by_calls) >= _MEMO_LIMIT:
                self._by_calls.clear()
            indexes = self._by_calls[key] = tuple(dict.fromkeys(
                self._index(region) for region in requested_regions(*key)))
        return indexes

    def _index(self, region: str | None) -> PolicyIndex:
        if region is None or region not in known_regions():
            return self.any
        found = self._indexes.get(region)
        if found is None:
            found = self._indexes[region] = PolicyIndex(
                self._statements, context={**self._context, REQUESTED_REGION: region},
                boundary=self._boundary)
        return found


def _all_calls(found: tuple[Evaluation, ...]) -> Evaluation:
    """One use's calls to several regions: see :meth:`CallIndex.evaluate`."""
    decisions = [e.decision for e in found]
    if Decision.IMPLICIT_DENY in decisions:
        return next(e for e in found if e.decision is Decision.IMPLICIT_DENY)
    return every(*found)


def _names_key(statements: Sequence[Statement], key: str) -> bool:
    """Whether a statement names the condition key anywhere (conditions, variables)."""
    wanted = key.lower().encode()
    return any(wanted in orjson.dumps(s.to_json()).lower() for s in statements)
