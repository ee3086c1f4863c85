"""What a traced call's request may also need on its resource, by options the trace does
not record (``request_options.yaml``: an S3 upload with a tag set needs
``s3:PutObjectTagging`` too). They are *possible* accesses for the analysis of a role's
grants and its proposal, never for a proposal from usage alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache

from leastpriv_ci.analysis.uses import Use
from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.records import Access


@cache
def _options() -> Mapping[str, tuple[str, ...]]:
    """IAM action (lower case) → the actions (the catalog's spelling) its request may add."""
    catalog = get_catalog()
    return {action.lower(): tuple(catalog.canonical(a) or a for a in extra)
            for action, extra in load("request_options.yaml")["actions"].items()}


def request_options(accesses: Iterable[Access]) -> list[Access]:
    """The possible accesses the requests of ``accesses`` may add: each extra action on the
    same resource, as often and from the same regions (the same request authorizes it).
    A denied call adds none (what it needed is what IAM named), nor one whose object the
    trace did not name: only what was uploaded is known to have been."""
    table = _options()
    return [replace(access, action=extra)
            for access in accesses if access.resource_known and not access.denied
            for extra in table.get(access.action.lower(), ())]


def use_options(uses: Iterable[Use]) -> list[Use]:
    """:func:`request_options` for a role's merged uses (cheaper than merging them anew)."""
    table = _options()
    catalog = get_catalog()
    found = []
    for use in uses:
        for extra in table.get(use.key, ()) if use.resource_known and not use.denied else ():
            info = catalog.action(extra)
            found.append(replace(use, action=extra,
                                 access_level=info.access_level if info else None,
                                 resource_level=info.resource_level if info else True))
    return found
