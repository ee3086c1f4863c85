"""Policies attached only under a template condition that cannot be decided offline.

Such a policy is attached where each branch of the condition attaches it, its
statements holding only under that branch's value: a stand-in Condition block whose
operator is no IAM operator, so no request decides it. The analysis then reads them as
*conditional*, like a statement whose Condition it cannot decide (a use only they grant
"may be missing", their unused grants are excess only with that caveat), and the
proposal does not copy the stand-in (its operator is an unresolved value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from leastpriv_ci.policy.model import Policy, Statement, unresolved

TEMPLATE_CONDITION = unresolved("template condition")  # the stand-in block's operator


def under(policy: Policy, conditions: Mapping[str, bool]) -> Policy:
    """``policy`` holding only when the template's ``conditions`` (name or expression →
    the value this branch takes) hold; ``policy`` itself when there are none."""
    if not conditions:
        return policy
    return replace(policy, statements=tuple(
        statement_under(s, conditions) for s in policy.statements))


def statement_under(statement: Statement, conditions: Mapping[str, bool]) -> Statement:
    """``statement`` holding only when ``conditions`` hold (see :func:`under`)."""
    if not conditions:
        return statement
    block = {name: ("true" if value else "false",) for name, value in conditions.items()}
    return replace(statement, conditions={**statement.conditions, TEMPLATE_CONDITION: block})
