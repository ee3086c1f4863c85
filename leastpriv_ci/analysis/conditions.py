"""The Condition blocks a proposal keeps: a use the role grants only under conditions."""

from __future__ import annotations

from collections.abc import Sequence

from leastpriv_ci.analysis.proposal import condition_text
from leastpriv_ci.policy.match import (
    has_variables,
    resource_matches,
    sender_identities,
    statement_acts,
    statement_matches,
    widest,
)
from leastpriv_ci.policy.model import VERSION_2012, Statement, is_unresolved


def carried_conditions(undecided: Sequence[Statement], action: str,
                       resource: str) -> tuple[str, ...]:
    """The Condition blocks (:func:`condition_text`) under which the role grants
    ``action`` on ``resource``, given the statements that left the decision open.

    Only when each of them is an Allow whose action and resource certainly match, so that
    its Condition alone was undecided: granting the use under each block (IAM allows when
    any statement does) then grants what the role grants. Else ``()``: an undecided Deny,
    a resource pattern or action not known offline, or a block that does not mean the same
    in the proposal (a value not resolved from the template, a policy variable in a
    2008-10-17 statement, where it was literal text).
    """
    blocks: set[str] = set()
    # an SES send may be granted on its domain's identity (sender_identities)
    names = (resource, *sender_identities(action, resource))
    for statement in undecided:
        if (not statement.is_allow or not statement.conditions
                or statement_acts(statement, action) is not True
                or not any(statement_matches(statement, n) is True for n in names)
                or not _portable(statement)):
            return ()
        blocks.add(condition_text(statement.to_json()["Condition"]))
    return tuple(sorted(blocks))


def _portable(statement: Statement) -> bool:
    for operator, keys in statement.conditions.items():
        for key, values in keys.items():
            texts = (operator, key, *values)
            if any(is_unresolved(t) for t in texts):
                return False
            if statement.version != VERSION_2012 and any("${" in t for t in texts):
                return False
    return True


def variable_patterns(undecided: Sequence[Statement], action: str,
                      resource: str) -> tuple[str, ...]:
    """The resource patterns with a policy variable (``users/${aws:username}/*``) through
    which alone the role may grant ``action`` on ``resource``, given the statements that
    left the decision open; ``()`` when something else left it open.

    Only when each of them is an unconditioned 2012-10-17 Allow certainly acting on the
    action whose Resource list may match only through such a pattern (read with its
    variables as wildcards): a call the role allowed was then allowed by one of them, and
    repeating them grants what the role grants, for every value the variables take.
    """
    found: list[str] = []
    for statement in undecided:
        if (not statement.is_allow or statement.conditions or statement.not_resources
                or statement.version != VERSION_2012
                or statement_acts(statement, action) is not True):
            return ()
        patterns = [p for p in statement.resources if has_variables(p) and not is_unresolved(p)
                    and widest(p) != p and resource_matches(widest(p), resource) is True]
        others = [resource_matches(p, resource) for p in statement.resources
                  if p not in patterns]
        if not patterns or any(matched is not False for matched in others):
            return ()  # another of its patterns may have granted it, or did
        found.extend(p for p in patterns if p not in found)
    return tuple(found)
