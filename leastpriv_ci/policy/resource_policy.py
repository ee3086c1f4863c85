"""A resource's own policy (a bucket's, queue's, key's …) weighed for one principal,
as IAM does: ``explain --resource-policy``.

Within one account, a request is judged on the principal's identity policies and the
resource's policy together: an Allow in either grants (a role's permissions boundary
still bounds a policy naming the role's ARN), and a Deny in either refuses. For a
resource of another account, both must allow.

A statement of the resource's policy takes part when its ``Principal`` names the
principal's ARN or anyone (``*``); a Deny naming the principal's account (its root, or
the account ID) takes part too. An Allow naming the account grants nothing by itself:
it hands the decision to the account's identity policies. The principal may be a role
(the request is a session of it), a user, or a role's session by its ARN
(``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``, as access-denied messages name
it), which a statement naming its role takes in too. Conditions on
``aws:PrincipalArn`` (for a session, the role's ARN, whose path its ARN does not give:
left to ``--context``), ``aws:PrincipalAccount``, ``aws:PrincipalType`` and
``aws:PrincipalIsAWSService`` (and a KMS request's ``kms:CallerAccount``) are decided by
the principal's ARN.

In the account, what a statement naming a user or a role's session itself grants is
not limited by an implicit deny in its permissions boundary; what one naming the role's
ARN grants is (:class:`TakingPart`).

A ``NotPrincipal`` statement takes part for everyone it does not except. IAM excepts a
role's session only when the list names that session (its role and account too, or it
may deny them), and a user only with its account; a role's ARN does not give its
session names. So a Deny whose list names no session of the role (not the session, or
the user, given one) takes part for certain, as does an Allow whose list names nothing
of the principal's account; one that names the session with its role and account, or
the user with its account, does not. A Deny with a ``NotPrincipal`` always refuses a
principal with a permissions boundary, whatever its list names. The others are not
weighed, with a warning (:data:`NOT_PRINCIPAL`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.account_policies import policy_readers
from leastpriv_ci.grants.managed import decode_document
from leastpriv_ci.grants.resource_policies import (
    names_anyone,
    names_session_of,
    principal_roles,
)
from leastpriv_ci.loaders import value_at
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.evaluate import Decision, Evaluation
from leastpriv_ci.policy.files import load_document
from leastpriv_ci.policy.model import Statement
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

_PRINCIPAL = re.compile(
    r"arn:(?P<partition>[\w-]+):(?:iam::(?P<account>\d{12}):(?P<kind>role|user)/"
    r"(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)|sts::(?P<session_account>\d{12}):"
    r"assumed-role/(?P<role>[\w+=,.@-]+)/(?P<session>[\w+=,.@-]+))")
NOT_PRINCIPAL = "not-principal-unread"


class Requester(NamedTuple):
    """Who makes the request: a role (a session of it), a user, or a role's session named
    by its ARN (``kind`` "session", of the role ``name``)."""

    arn: str
    partition: str
    account: str
    kind: str
    name: str

    @property
    def root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:root"

    def is_role(self, arn: str) -> bool:
        """Whether ``arn`` is the ARN of the requester's role (for a session, its role's,
        whatever path it is under)."""
        if self.kind == "role":
            return arn == self.arn
        matched = _PRINCIPAL.fullmatch(arn) if self.kind == "session" else None
        return matched is not None and (matched["account"], matched["kind"],
                                        matched["name"]) == (self.account, "role", self.name)


def requester(principal: str) -> Requester:
    """``principal`` (``--principal``): the ARN of an IAM role or user, or of a role's
    session (else an input error saying what is expected)."""
    matched = _PRINCIPAL.fullmatch(principal)
    if matched is None:
        raise UserError(f"--principal {principal!r} must be the ARN of the IAM role or user "
                        "making the request, e.g. arn:aws:iam::123456789012:role/app (or of "
                        "a role's session: arn:aws:sts::123456789012:assumed-role/app/NAME)")
    if matched["session"] is not None:
        return Requester(principal, matched["partition"], matched["session_account"],
                         "session", matched["role"])
    return Requester(principal, matched["partition"], matched["account"], matched["kind"],
                     matched["name"])


def principal_account(principal: str) -> str:
    """The account of ``principal`` (:func:`requester`)."""
    return requester(principal).account


def principal_context(principal: str, action: str = "") -> dict[str, object]:
    """The request context the principal alone decides, for a request of ``action``
    (a KMS request's has ``kms:CallerAccount`` too): a role's request is made with a
    session of it (an assumed role), a user's as the user, neither by an AWS service. A
    session's ``aws:PrincipalArn`` is its role's, whose path the session's ARN does not
    give: left undecided."""
    who = requester(principal)
    account = who.account
    context: dict[str, object] = {
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": "User" if who.kind == "user" else "AssumedRole",
        "aws:PrincipalIsAWSService": False}
    if who.kind != "session":
        context["aws:PrincipalArn"] = principal
    if action.lower().startswith("kms:"):
        context["kms:CallerAccount"] = account
    return context


class TakingPart(NamedTuple):
    """The statements of a resource policy that take part for a principal, without their
    Principal; ``direct`` (their ids) those naming the principal itself, a user or a
    role's session by its ARN: within the account, an implicit deny in its permissions
    boundary does not limit what they grant (one naming a role's ARN it does)."""

    statements: list[Statement]
    direct: frozenset[int]


def load_resource_policy(path: Path, principal: str, notices: Notices,
                         bounded: bool = False) -> TakingPart:
    """The statements of the resource policy in ``path`` that take part for
    ``principal`` (``bounded``: one with a permissions boundary, whom IAM's Deny with a
    ``NotPrincipal`` always refuses, whatever its list names)."""
    document = _unwrapped(load_document(path), path)
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise UserError("not a resource-based policy: expected a Statement key (or the AWS "
                        "CLI's answer that holds one as text, such as get-bucket-policy's)",
                        where=str(path))
    policy = parse_policy(document, name=path.name, origin=Origin(file=str(path)))
    raw = document["Statement"]
    items: list[Any] = [raw] if isinstance(raw, Mapping) else list(raw)
    who = requester(principal)
    taking_part: list[Statement] = []
    direct: set[int] = set()
    for item, statement in zip(items, policy.statements, strict=True):
        if "NotPrincipal" in item:
            applies = True if bounded and not statement.is_allow else not_principal_applies(
                item["NotPrincipal"], statement.is_allow, who)
            if applies is None:
                notices.add(NOT_PRINCIPAL, NOT_PRINCIPAL_TEXT,
                            f"{path}:{statement.origin.line or ''}".rstrip(":"))
                continue
        else:
            applies = names(statement, who)
            if not applies and names_a_session(statement.principal, who):
                notices.add(SESSION_PRINCIPAL, SESSION_PRINCIPAL_TEXT,
                            f"{path}:{statement.origin.line or ''}".rstrip(":"))
        if applies:
            taking_part.append(replace(statement, principal=None, not_principal=None))
            if who.kind != "role" and who.arn in map(str, principal_roles(statement.principal)):
                direct.add(id(taking_part[-1]))
    return TakingPart(taking_part, frozenset(direct))


SESSION_PRINCIPAL = "session-principal-unread"
SESSION_PRINCIPAL_TEXT = (
    "resource policy statements naming a session of the role are not weighed: whether it "
    "is the request's depends on its session name, which the role's ARN does not give; "
    "give the session's ARN as --principal (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)")


def names_a_session(principal: Any, who: Requester) -> bool:
    """Whether a ``Principal`` (or ``NotPrincipal``) names a session of ``who``, a role
    given by its ARN, whose session names that ARN does not give."""
    return who.kind == "role" and names_session_of(principal, who.arn)


NOT_PRINCIPAL_TEXT = (
    "resource policy statements with a NotPrincipal whose list may or may not except the "
    "principal are not weighed: it names a session of the role (the role's ARN does not "
    "give its session names), the user or session without its role or account, or, in an "
    "Allow, something of the principal's account")


def not_principal_applies(not_principal: Any, allow: bool, who: Requester) -> bool | None:
    """Whether a statement of ``NotPrincipal`` (an Allow if ``allow``) takes part for
    ``who``: True when its list certainly does not except the principal, False when it
    certainly does, None when that depends on what the ARN does not give (a role's
    session name) or on what IAM leaves open (a principal named without its role or
    account, anything of the account in an Allow, a list IAM would refuse)."""
    if names_anyone(not_principal):
        return False
    if not isinstance(not_principal, Mapping):
        return None
    account = who.account
    listed = {str(item) for item in principal_roles(not_principal)}
    of_account = {item for item in listed if item == account
                  or item.split(":")[4:5] == [account]}
    if allow:
        return True if not of_account else None
    if who.kind == "role":
        return None if names_a_session(not_principal, who) else True
    if who.arn not in listed:
        return True
    with_account = bool(listed & {account, who.root})
    if who.kind == "session":
        with_account = with_account and any(who.is_role(item) for item in listed)
    return False if with_account else None


def _unwrapped(document: Mapping[str, Any], path: Path) -> Any:
    """The policy in ``document``, or in the AWS CLI's answer that ``document`` is: the
    policy text in the member the account's reader takes it from (``Policy`` of
    get-bucket-policy, get-key-policy or Lambda's get-policy, ``Attributes.Policy`` of
    get-queue-attributes, ``ResourcePolicy`` of get-resource-policy, …)."""
    if "Statement" in document:
        return document
    for member in sorted({reader.policy for reader in policy_readers()}):
        text = value_at(document, member)
        if isinstance(text, str):
            return decode_document(text, f"{path}: {'.'.join(member)}")
    return document


def names(statement: Statement, who: Requester) -> bool:
    """Whether a resource policy statement's Principal takes in ``who``: by its ARN, a
    session by its role's too."""
    if names_anyone(statement.principal):
        return True
    listed = {str(item) for item in principal_roles(statement.principal)}
    if who.arn in listed or (who.kind == "session" and any(map(who.is_role, listed))):
        return True
    return not statement.is_allow and bool(listed & {who.account, who.root})


def other_account(resource: str, principal: str) -> bool:
    """Whether ``resource`` names an account, and not the principal's (an S3 ARN names
    none: the bucket is taken as the principal's account's)."""
    parts = resource.split(":")
    return len(parts) > 4 and parts[4] not in ("", principal_account(principal))


def both_allow(identity: Evaluation, resource: Evaluation) -> Evaluation:
    """Across accounts: the identity policies' and the resource policy's decisions
    together, each of which must allow."""
    results = (identity, resource)
    for decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY):
        if any(r.decision is decision for r in results):
            return Evaluation(decision, tuple(s for r in results if r.decision is decision
                                              for s in r.statements))
    if all(r.allowed for r in results):
        return Evaluation(Decision.ALLOW, identity.statements + resource.statements)
    return Evaluation(Decision.CONDITIONAL, tuple(
        s for r in results if r.decision is Decision.CONDITIONAL for s in r.statements))
