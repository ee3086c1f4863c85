"""Proposals from usage alone (``leastpriv-ci generate``): no declared policy needed.

Principals whose role is known (the usage record names it, e.g. through the principal
map) are proposed one policy per role, from the usage of every principal running as
it; the others one policy per principal. Platform groups that are ``on`` for the
principals' compute kind and marked ``generate`` in the data (logs, X-Ray writes) are
added with their data resources, unless switched off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from leastpriv_ci.analysis.platform import DECLARED, PlatformOptions, applicable_groups, arn_fields
from leastpriv_ci.analysis.proposal import (
    MANAGED_LIMIT,
    Grant,
    Proposal,
    possible_note,
    propose_policies,
)
from leastpriv_ci.catalog import Catalog, get_catalog
from leastpriv_ci.codemarks import mark
from leastpriv_ci.records import Access, Observation


def generate(
    observation: Observation,
    *,
    platform: PlatformOptions | None = None,
    limit: int = MANAGED_LIMIT,
    catalog: Catalog | None = None,
) -> dict[str, Proposal]:
    """One proposal per role (when known) or per principal, keyed by its ARN, sorted."""
    catalog = catalog or get_catalog()
    members: dict[str, list[str]] = {}
    for principal, usage in observation.principals.items():
        members.setdefault(usage.role or principal, []).append(principal)
    proposals = {}
    for key in sorted(members):
        principals = sorted(members[key])
        accesses = [a for p in principals for a in observation.principals[p].accesses]
        maybes = [a for p in principals for a in observation.principals[p].possible]
        possible = without_declared_policy(maybes)
        extra = platform_grants(key, principals, platform, catalog)
        proposal = propose_policies(accesses + possible, catalog=catalog, limit=limit,
                                    extra=extra)
        refusals: dict[tuple[str, str], set[str]] = {}
        for access in accesses:
            if access.denied:
                refusals.setdefault((access.action, access.resource), set()).update(
                    access.refused_by)
        notes = [f"{mark(action)} on {mark(resource)} was denied at runtime; included because the "
                 "code calls it" + (f", but its error says {'; '.join(sorted(by))}: that policy "
                                    "must let it through too" if by else "")
                 for (action, resource), by in sorted(refusals.items())]
        if possible:
            notes.append(possible_note(possible))
        unnamed = sorted({a.action for a in maybes if not a.resource_known}, key=str.lower)
        if unnamed:
            notes.append(unnamed_note(unnamed))
        proposals[key] = replace(proposal, notes=proposal.notes + tuple(notes))
    return proposals


def unnamed_note(actions: Sequence[str]) -> str:
    """The note on actions calls may need on resources the traces do not name, which a
    proposal from usage alone cannot grant."""
    return (f"leaves out {', '.join(mark(a) for a in actions)}: traced calls may need "
            "them on resources the traces do not name (a table their SDK did not record, "
            "the KMS key encrypting what they read or write, the role they pass to a "
            "service); add those they need")


def platform_grants(key: str, principals: Sequence[str], options: PlatformOptions | None,
                    catalog: Catalog) -> list[Grant]:
    """Grants for the platform groups switched on for these principals' compute kind."""
    grants: list[Grant] = []
    for group in applicable_groups(key, principals, (), options):
        if not group.generate:
            continue  # e.g. VPC interfaces: usage alone cannot tell the function needs them
        for permission in group.permissions:
            if permission.resource == DECLARED:
                continue  # the queue/stream/key is not known without a declared policy
            resources = {permission.resource} if "{" not in permission.resource else {
                permission.resource.format(**fields)
                for fields in (arn_fields(p) for p in principals) if fields is not None
            }
            for action in permission.actions:
                name = catalog.canonical(action) or action
                grants.extend(Grant(name, r) for r in sorted(resources))
    return grants


def documents(proposals: dict[str, Proposal]) -> dict[str, dict[str, object]]:
    """Key → policy document; a proposal split to fit IAM's limit adds ``KEY (part N)``."""
    out: dict[str, dict[str, object]] = {}
    for key, proposal in proposals.items():
        out[key] = proposal.documents[0]
        for number, doc in enumerate(proposal.documents[1:], start=2):
            out[f"{key} (part {number})"] = doc
    return out


def without_declared_policy(possible: Iterable[Access]) -> list[Access]:
    """The possible accesses a proposal made from usage alone grants: those on a resource
    the trace names. One on no known resource (a KMS key AWS may use for an encrypted S3
    object or queue) would be granted on a whole ARN format, for every caller of the
    service; with a declared policy, the role's own grant of it is kept instead.
    """
    return [a for a in possible if a.resource_known]
