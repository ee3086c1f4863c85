"""The request context of traced calls: the keys every call is known to have
(``request_context.yaml``); ``aws:RequestedRegion``, decided per use from the regions
its calls were sent to; and ``aws:ResourceAccount``, from the account its resource's ARN
names. The condition keys a scan decides instead of leaving open."""

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
RESOURCE_ACCOUNT = "aws:ResourceAccount"
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
    regions botocore's data lists: what a trace names cannot make more of them. Likewise
    ``aws:ResourceAccount`` is the account the resource's ARN names (a data perimeter's
    ``StringNotEquals`` on it), one index per account; an ARN naming none (S3's) or no
    ARN leaves it undecided.
    """

    __slots__ = ("_any_only", "_boundary", "_by_account", "_by_calls", "_context",
                 "_indexes", "_regional", "_statements", "any")

    def __init__(self, statements: Iterable[Statement], *,
                 context: Mapping[str, object] | None = None,
                 boundary: Iterable[Statement] | None = None) -> None:
        self._statements = tuple(statements)
        self._boundary = tuple(boundary) if boundary is not None else None
        self._context = dict(context or {})
        # the index for calls whose region is not known (the key undecided)
        self.any = PolicyIndex(self._statements, context=context, boundary=self._boundary)
        self._any_only = (self.any,)
        named = _named_keys([*self._statements, *(self._boundary or ())],
                            (REQUESTED_REGION, RESOURCE_ACCOUNT))
        named -= {k.lower() for k in self._context}
        self._regional = REQUESTED_REGION.lower() in named
        self._by_account = RESOURCE_ACCOUNT.lower() in named
        self._indexes: dict[tuple[str | None, str | None], PolicyIndex] = {}
        # (action, the ARN's region, regions, region known, the ARN's account) -> the
        # indexes deciding its calls
        self._by_calls: dict[tuple[str, str | None, tuple[str, ...], bool, str | None],
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
        regional = self._regional and calls is not None and bool(calls.regions)
        account = arn_account(resource) if self._by_account else None
        if not regional and account is None:
            return self._any_only
        key = (action, arn_region(resource), calls.regions if calls and regional else (),
               bool(calls and calls.region_known), account)
        indexes = self._by_calls.get(key)
        if indexes is None:
            if len(self._by_calls) >= _MEMO_LIMIT:
                self._by_calls.clear()
            regions = requested_regions(*key[:4]) if regional else (None,)
            indexes = self._by_calls[key] = tuple(dict.fromkeys(
                self._index(region, account) for region in regions))
        return indexes

    def _index(self, region: str | None, account: str | None) -> PolicyIndex:
        if region is not None and region not in known_regions():
            region = None
        if region is None and account is None:
            return self.any
        found = self._indexes.get((region, account))
        if found is None:
            decided = {key: value for key, value in ((REQUESTED_REGION, region),
                                                     (RESOURCE_ACCOUNT, account)) if value}
            found = self._indexes[(region, account)] = PolicyIndex(
                self._statements, context={**self._context, **decided},
                boundary=self._boundary)
        return found


def arn_account(resource: str) -> str | None:
    """The account an ARN names (None: not an ARN, or it names none, or a pattern)."""
    parts = resource.split(":", 5)
    account = parts[4] if len(parts) > 5 and parts[0] == "arn" else ""
    return account if len(account) == 12 and account.isdigit() else None


def _all_calls(found: tuple[Evaluation, ...]) -> Evaluation:
    """One use's calls to several regions: see :meth:`CallIndex.evaluate`."""
    decisions = [e.decision for e in found]
    if Decision.IMPLICIT_DENY in decisions:
        return next(e for e in found if e.decision is Decision.IMPLICIT_DENY)
    return every(*found)


def _named_keys(statements: Sequence[Statement], keys: Sequence[str]) -> set[str]:
    """Those of the condition ``keys`` that a statement names anywhere (conditions,
    variables), in lower case."""
    texts = [orjson.dumps(s.to_json()).lower() for s in statements]
    return {key.lower() for key in keys
            if any(key.lower().encode() in text for text in texts)}
