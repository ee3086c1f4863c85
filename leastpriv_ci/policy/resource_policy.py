"""A resource's own policy (a bucket's, queue's, key's …) weighed for one principal,
as IAM does: ``explain --resource-policy``.

Within one account, a request is judged on the principal's identity policies and the
resource's policy together: an Allow in either grants (a role's permissions boundary
still bounds a policy naming the role's ARN), and a Deny in either refuses. For a
resource of another account, both must allow.

A statement of the resource's policy takes part when its ``Principal`` names the
principal's ARN or anyone (``*``); a Deny naming the principal's account (its root, or
the account ID) takes part too. An Allow naming the account grants nothing by itself:
it hands the decision to the account's identity policies. Conditions on
``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType`` and
``aws:PrincipalIsAWSService`` (and a KMS request's ``kms:CallerAccount``) are decided by
the principal's ARN.

A ``NotPrincipal`` statement takes part for everyone it does not except. IAM excepts a
role's session only when the list names that session (its role and account too, or it
may deny them), and a user only with its account; a role's ARN does not give its
session names. So a Deny whose list names no session of the role (the user, for a
user) takes part for certain, as does an Allow whose list names nothing of the
principal's account; one that names the user and its account does not. The others are
not weighed, with a warning (:data:`NOT_PRINCIPAL`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.account_policies import policy_readers
from leastpriv_ci.grants.managed import decode_document
from leastpriv_ci.grants.resource_policies import names_anyone, principal_roles
from leastpriv_ci.loaders import value_at
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.evaluate import Decision, Evaluation
from leastpriv_ci.policy.files import load_document
from leastpriv_ci.policy.model import Statement
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

_PRINCIPAL = re.compile(r"arn:[\w-]+:iam::(?P<account>\d{12}):(?:role|user)/[\w+=,.@/-]+")
NOT_PRINCIPAL = "not-principal-unread"


def principal_account(principal: str) -> str:
    """The account of ``principal``, the ARN of an IAM role or user (else an input
    error saying what is expected)."""
    matched = _PRINCIPAL.fullmatch(principal)
    if matched is None:
        raise UserError(f"--principal {principal!r} must be the ARN of the IAM role or user "
                        "making the request, e.g. arn:aws:iam::123456789012:role/app")
    return matched["account"]


def principal_context(principal: str, action: str = "") -> dict[str, object]:
    """The request context the principal alone decides, for a request of ``action``
    (a KMS request's has ``kms:CallerAccount`` too): a role's request is made with a
    session of it (an assumed role), a user's as the user, neither by an AWS service."""
    account = principal_account(principal)
    kind = principal.split(":", 5)[5].split("/")[0]
    context: dict[str, object] = {
        "aws:PrincipalArn": principal, "aws:PrincipalAccount": account,
        "aws:PrincipalType": "AssumedRole" if kind == "role" else "User",
        "aws:PrincipalIsAWSService": False}
    if action.lower().startswith("kms:"):
        context["kms:CallerAccount"] = account
    return context


def load_resource_policy(path: Path, principal: str, notices: Notices) -> list[Statement]:
    """The statements of the resource policy in ``path`` that take part for
    ``principal``, without their Principal."""
    document = _unwrapped(load_document(path), path)
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise UserError("not a resource-based policy: expected a Statement key (or the AWS "
                        "CLI's answer that holds one as text, such as get-bucket-policy's)",
                        where=str(path))
    policy = parse_policy(document, name=path.name, origin=Origin(file=str(path)))
    raw = document["Statement"]
    items: list[Any] = [raw] if isinstance(raw, Mapping) else list(raw)
    account = principal_account(principal)
    taking_part = []
    for item, statement in zip(items, policy.statements, strict=True):
        if "NotPrincipal" in item:
            applies = not_principal_applies(item["NotPrincipal"], statement.is_allow,
                                            principal)
            if applies is None:
                notices.add(NOT_PRINCIPAL, NOT_PRINCIPAL_TEXT,
                            f"{path}:{statement.origin.line or ''}".rstrip(":"))
                continue
        else:
            applies = names(statement, principal, account)
        if applies:
            taking_part.append(replace(statement, principal=None))
    return taking_part


NOT_PRINCIPAL_TEXT = (
    "resource policy statements with a NotPrincipal whose list may or may not except the "
    "principal are not weighed: it names a session of the role (the role's ARN does not "
    "give its session names), the user but not its account, or, in an Allow, something "
    "of the principal's account")


def not_principal_applies(not_principal: Any, allow: bool, principal: str) -> bool | None:
    """Whether a statement of ``NotPrincipal`` (an Allow if ``allow``) takes part for
    ``principal``, a role's or user's ARN: True when its list certainly does not except
    the principal, False when it certainly does, None when that depends on what the ARN
    does not give (a role's session name) or on what IAM leaves open (a user named
    without its account, anything of the account in an Allow, a list IAM would refuse)."""
    if names_anyone(not_principal):
        return False
    if not isinstance(not_principal, Mapping):
        return None
    account = principal_account(principal)
    listed = {str(item) for item in principal_roles(not_principal)}
    of_account = {item for item in listed if item == account
                  or item.split(":")[4:5] == [account]}
    if allow:
        return True if not of_account else None
    partition = principal.split(":")[1]
    kind, *_, name = principal.split(":", 5)[5].split("/")
    if kind == "role":
        session = f"arn:{partition}:sts::{account}:assumed-role/{name}/"
        return None if any(item.startswith(session) for item in listed) else True
    if principal not in listed:
        return True
    return False if listed & {account, f"arn:{partition}:iam::{account}:root"} else None


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


def names(statement: Statement, principal: str, account: str) -> bool:
    """Whether a resource policy statement's Principal takes in ``principal``."""
    if names_anyone(statement.principal):
        return True
    listed = {str(item) for item in principal_roles(statement.principal)}
    if principal in listed:
        return True
    partition = principal.split(":")[1]
    return not statement.is_allow and bool(
        listed & {account, f"arn:{partition}:iam::{account}:root"})


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
