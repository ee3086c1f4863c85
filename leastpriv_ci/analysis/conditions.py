"""The Condition blocks a proposal keeps: a use the role grants only under conditions."""

from __future__ import annotations

from collections.abc import Sequence

from leastpriv_ci.analysis.proposal import condition_text
from leastpriv_ci.policy.match import statement_acts, statement_matches
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
    for statement in undecided:
        if (not statement.is_allow or not statement.conditions
                or statement_acts(statement, action) is not True
                or statement_matches(statement, resource) is not True
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
