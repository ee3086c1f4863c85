"""Role chaining: a principal that assumes another role (``sts:AssumeRole``) and calls
AWS with its credentials.

A trace does not say which credentials a call was signed with, so the calls made as the
assumed role show as the principal's own and are judged against the principal's role.
Where that role has missing or denied findings, they may be the assumed role's: the
report says so (the warning ``assumes-roles``) instead of leaving the reader to guess.
The findings stay as they are: the traces cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from leastpriv_ci.analysis.missing import by_resource_policy
from leastpriv_ci.analysis.uses import Use
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import Finding
from leastpriv_ci.usage.operations import operations

ASSUMES_ROLES = "assumes-roles"
ASSUMES_ROLES_TEXT = (
    "principals of a role with missing or denied findings assumed another role; a trace "
    "does not say which credentials a call used, so their calls made as the assumed role "
    "were judged as this role's, and those findings may be the assumed role's"
)
UNNAMED = "a role the traces do not name"


def note_assumed_roles(role_key: str, uses: Sequence[Use], findings: Sequence[Finding],
                       notices: Notices) -> None:
    """Warn when the principals of ``role_key`` assumed a role (a use that succeeded)
    and ``findings`` (the role's missing and denied ones) hold one that may be that
    role's."""
    switched = [use for use in uses if not use.denied and operations().switches_role(use.action)]
    if not switched:
        return
    doubtful = [f for f in findings if f.kind in ("missing", "denied")
                and not by_resource_policy(f)
                and not operations().switches_role(f.action)]
    if not doubtful:
        return
    assumed = sorted({use.resource if use.resource_known else UNNAMED for use in switched})
    notices.add(ASSUMES_ROLES, ASSUMES_ROLES_TEXT,
                f"{role_key} assumed {', '.join(assumed)} "
                f"({len(doubtful)} finding{'s' if len(doubtful) != 1 else ''})")
