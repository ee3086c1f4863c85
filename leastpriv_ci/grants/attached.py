"""Roles as attached in the account, read through the IAM API.

Inline policies (``ListRolePolicies`` + ``GetRolePolicy``), attached managed policies
(``ListAttachedRolePolicies`` + ``GetPolicy`` + ``GetPolicyVersion`` of the default
version, AWS-managed included) and the permissions boundary. Paginated through boto3's
paginators; retries are botocore's. A denied call is a :class:`ServiceError` naming the
exact ``iam:`` permission the scanning role lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from leastpriv_ci.errors import ServiceError
from leastpriv_ci.grants.managed import decode_document, fetch_document, placeholder
from leastpriv_ci.grants.model import GrantSet
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Policy, Role
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


class _NoSuchRole(Exception):
    pass


def load_attached(session: Any, role_names_or_arns: Iterable[str], notices: Notices) -> GrantSet:
    """The roles named (by name or ARN) as attached now; unknown roles are warned about."""
    iam = session.client("iam")
    roles: dict[str, Role] = {}
    for wanted in dict.fromkeys(role_names_or_arns):
        name = wanted.rsplit("/", 1)[-1] if wanted.startswith("arn:") else wanted
        try:
            role = _load_role(iam, name, notices)
        except _NoSuchRole:
            notices.add("role-not-found", "a role named by a principal or the configuration "
                        "does not exist in the account", wanted)
            continue
        roles[role.key] = role
    return GrantSet(roles=roles)


def _load_role(iam: Any, name: str, notices: Notices) -> Role:
    raw = _call(iam.get_role, RoleName=name)["Role"]
    arn = raw["Arn"]
    policies: list[Policy] = []
    for page in _pages(iam, "list_role_policies", RoleName=name):
        for policy_name in page.get("PolicyNames", []):
            document = _call(iam.get_role_policy, RoleName=name,
                             PolicyName=policy_name)["PolicyDocument"]
            origin = Origin(logical_id=name, policy_arn=arn, policy_name=policy_name)
            document = decode_document(document, f"IAM role {name} policy {policy_name}")
            policies.append(parse_policy(document, name=policy_name,
                                         origin=origin, notices=notices))
    for page in _pages(iam, "list_attached_role_policies", RoleName=name):
        for attached in page.get("AttachedPolicies", []):
            policies.append(_managed(iam, attached["PolicyArn"], name, notices))
    boundary = None
    boundary_arn = (raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary_arn:
        boundary = _managed(iam, boundary_arn, name, notices)
    return Role(key=arn, name=raw.get("RoleName", name), policies=tuple(policies),
                boundary=boundary, origin=Origin(logical_id=name, policy_arn=arn),
                source="attached")


def _managed(iam: Any, arn: str, role_name: str, notices: Notices) -> Policy:
    origin = Origin(logical_id=role_name, policy_arn=arn, policy_name=arn.rsplit("/", 1)[-1])
    document = fetch_document(iam, arn)
    if document is None:
        notices.add("managed-policy-missing", "an attached managed policy could not be read "
                    "(deleted meanwhile?); its grants stay unresolved", arn)
        return placeholder(arn, origin)
    return parse_policy(document, name=origin.policy_name or arn, origin=origin, notices=notices)


def _pages(iam: Any, operation: str, **kwargs: Any) -> Iterable[dict[str, Any]]:
    paginator = iam.get_paginator(operation)
    iterator = iter(paginator.paginate(**kwargs))
    while True:
        try:
            page = _call(lambda: next(iterator), _operation=operation)
        except StopIteration:
            return
        yield page


def _call(function: Callable[..., Any], _operation: str | None = None, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return function(**kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchEntity" and exc.operation_name == "GetRole":
            raise _NoSuchRole from None
        if code in _DENIED:
            raise ServiceError(
                f"IAM denied {exc.operation_name}: the scanning role needs "
                f"iam:{exc.operation_name} (see docs/grants.md for the full list)"
            ) from None
        message = exc.response.get("Error", {}).get("Message", "")
        raise ServiceError(f"IAM {exc.operation_name} failed: {code}: {message}") from None
    except BotoCoreError as exc:
        raise ServiceError(f"IAM call failed: {exc}") from None
