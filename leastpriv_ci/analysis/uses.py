"""A role's usage: distinct (action, resource) pairs merged over its principals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from leastpriv_ci.catalog import Catalog
from leastpriv_ci.records import Access

MAX_FINDING_TRACES = 10


@dataclass(frozen=True)
class Use:
    """One action on one resource, as used by any principal running as a role."""

    action: str  # the catalog's spelling when the catalog knows it
    resource: str  # with resource_known false: `*`, or the bound the trace gave (bucket/*)
    resource_known: bool
    denied: bool
    count: int
    principals: tuple[str, ...]
    trace_ids: tuple[str, ...]
    access_level: str | None
    resource_level: bool  # the action can be scoped to a resource type
    regions: tuple[str, ...] = ()  # the calls' recorded regions (Access.regions)
    region_known: bool = False
    refused_by: tuple[str, ...] = ()  # denied: what refused the calls (Access.refused_by)

    @property
    def key(self) -> str:
        return self.action.lower()


def collect_uses(accesses: Iterable[Access], catalog: Catalog) -> list[Use]:
    """Merge accesses by (action, resource, denied, resource known), sorted."""
    merged: dict[tuple[str, str, bool, bool], list[Access]] = {}
    levels: dict[str, bool] = {}
    for access in accesses:
        name = access.action.lower()
        if name not in levels:
            info = catalog.action(name)
            levels[name] = info.resource_level if info else True
        # `*` is the right resource for an action that takes none; for any other it
        # means the trace did not name the resource. An unknown resource other than `*`
        # is the bound the trace did give (`arn:aws:s3:::BUCKET/*`: the key is unknown),
        # and is kept so that grants on other buckets are not taken to cover it.
        known = access.resource_known and not (access.resource == "*" and levels[name])
        key = (access.action.lower(), access.resource, access.denied, known)
        merged.setdefault(key, []).append(access)
    uses = []
    for (_, resource, denied, known), group in merged.items():
        info = catalog.action(group[0].action)
        uses.append(Use(
            action=info.full_name if info else group[0].action,
            resource=resource,
            resource_known=known,
            denied=denied,
            count=sum(a.count for a in group),
            principals=tuple(sorted({a.principal for a in group})),
            trace_ids=traces_of(a.trace_ids for a in group),
            access_level=info.access_level if info else None,
            resource_level=info.resource_level if info else True,
            regions=group[0].regions if len(group) == 1
            else tuple(sorted({r for a in group for r in a.regions})),
            region_known=all(a.region_known for a in group),
            refused_by=group[0].refused_by if len(group) == 1
            else tuple(sorted({r for a in group for r in a.refused_by})),
        ))
    return sorted(uses, key=lambda u: (u.key, u.resource, u.denied))


def traces_of(samples: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Sample trace IDs, first seen first, capped for a finding."""
    found: dict[str, None] = {}
    for group in samples:
        for trace_id in group:
            found.setdefault(trace_id)
            if len(found) >= MAX_FINDING_TRACES:
                return tuple(found)
    return tuple(found)
