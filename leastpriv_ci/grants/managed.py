"""Managed policies a template names: bundled copies offline, the IAM API with credentials.

Infrastructure code attaches managed policies by ARN or (SAM) by name. Offline, the
common Lambda execution policies come from ``data/managed_policies/`` (AWS's published
documents); any other stays an explicit unresolved placeholder. With a boto3 session,
:func:`resolve_managed` reads them through ``iam:GetPolicy`` + ``iam:GetPolicyVersion``.
Statements keep the origin of the line that attaches the policy, plus its ARN.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

from leastpriv_ci.errors import ServiceError, UserError
from leastpriv_ci.grants.model import GrantSet
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Policy, Role, Statement, is_unresolved, unresolved
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

_PLACEHOLDER = "managed policy "


@cache
def bundled_policies() -> Mapping[str, Mapping[str, Any]]:
    """Bundled AWS managed policies by name (``PolicyName``, ``Path``, ``PolicyDocument``)."""
    folder = resources.files("leastpriv_ci").joinpath("data/managed_policies")
    found: dict[str, Mapping[str, Any]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text())
            found[data["PolicyName"]] = data
    return found


@cache
def _sam_policy_map(partition: str) -> Mapping[str, str]:
    try:
        from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
    except ImportError:  # pragma: no cover - aws-sam-translator is a core dependency
        return {}
    return get_bundled_managed_policy_map(partition) or {}


def managed_arn(name_or_arn: str, partition: str = "aws") -> str:
    """The ARN of an AWS managed policy given by name (ARNs pass through unchanged)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    known = bundled_policies().get(name_or_arn)
    if known is not None:
        return f"arn:{partition}:iam::aws:policy{known['Path']}{name_or_arn}"
    return _sam_policy_map(partition).get(name_or_arn) or (
        f"arn:{partition}:iam::aws:policy/{name_or_arn}"
    )


def is_aws_managed(arn: str) -> bool:
    return arn.startswith("arn:") and ":iam::aws:policy/" in arn


def managed_policy(arn: str, origin: Origin, notices: Notices | None = None) -> Policy:
    """The policy behind ``arn``: a bundled copy, else an unresolved placeholder.

    ``origin`` is where the policy is attached (file, line, logical ID); the ARN and name
    are added to it.
    """
    name = arn.rsplit("/", 1)[-1]
    here = replace(origin, policy_arn=arn, policy_name=name)
    known = bundled_policies().get(name) if is_aws_managed(arn) else None
    if known is not None:
        return parse_policy(known["PolicyDocument"], name=name, origin=here, notices=notices)
    return placeholder(arn, here)


def placeholder(arn: str, origin: Origin) -> Policy:
    """A policy whose content is unknown: one statement of unresolved actions/resources."""
    marker = unresolved(f"{_PLACEHOLDER}{arn}")
    return Policy(name=arn.rsplit("/", 1)[-1], statements=(Statement.unknown(marker, origin),),
                  origin=origin)


def is_placeholder(policy: Policy) -> bool:
    """Whether ``policy`` stands for a managed policy whose document was not read."""
    return (
        len(policy.statements) == 1
        and len(policy.statements[0].actions) == 1
        and is_unresolved(policy.statements[0].actions[0])
        and policy.statements[0].actions[0].startswith(unresolved(_PLACEHOLDER)[:-1])
    )


def fetch_document(iam: Any, arn: str) -> Mapping[str, Any] | None:
    """The default version's document of managed policy ``arn`` (``None``: no such policy)."""
    from botocore.exceptions import ClientError

    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        raw = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchEntity":
            return None
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            action = f"iam:{exc.operation_name}"
            raise ServiceError(
                f"reading managed policy {arn} needs {action}; grant it to the scanning role"
            ) from None
        raise ServiceError(f"IAM {exc.operation_name} failed for {arn}: {code}") from None
    return decode_document(raw, f"IAM policy {arn}")


def decode_document(raw: Any, where: str) -> Mapping[str, Any]:
    """A policy document given as text, decoded (IAM returns URL-encoded JSON: boto3
    decodes it, moto and exports may not). Text that is not JSON is a :class:`UserError`
    naming ``where``; a value that is not an object is left to the policy parser."""
    if isinstance(raw, Mapping):
        return raw
    text = str(raw)
    if text.lstrip().startswith("%7B") or text.lstrip().startswith("%7b"):
        text = urllib.parse.unquote(text)
    try:
        document: Mapping[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"the policy document is not JSON ({exc.msg} at character {exc.pos})",
                        where=where) from None
    return document


def resolve_managed(
    grants: GrantSet,
    session: Any,
    notices: Notices,
    *,
    partition: str = "aws",
) -> GrantSet:
    """Read every managed policy the grants name through IAM when ``session`` is given.

    Without a session, placeholders stay and each is warned about once per ARN.
    """
    iam = session.client("iam") if session is not None else None
    documents: dict[str, Mapping[str, Any] | None] = {}

    def resolve(policy: Policy | None) -> Policy | None:
        if policy is None or not policy.origin.policy_arn:
            return policy
        arn = policy.origin.policy_arn
        if iam is not None and (is_placeholder(policy) or is_aws_managed(arn)):
            if arn not in documents:
                documents[arn] = fetch_document(iam, arn)
            document = documents[arn]
            if document is not None:
                return parse_policy(document, name=policy.name, origin=policy.origin,
                                    notices=notices)
        if is_placeholder(policy):
            notices.add(
                "managed-policy-unresolved",
                "a managed policy's document is unknown offline (not bundled); its grants stay "
                "unresolved — run with AWS credentials to read it",
                f"{policy.origin}: {arn}",
            )
        return policy

    def role(r: Role) -> Role:
        policies = tuple(p for p in (resolve(p) for p in r.policies) if p is not None)
        return replace(r, policies=policies, boundary=resolve(r.boundary))

    del partition  # reserved: the ARN already carries it
    return replace(grants, roles={key: role(r) for key, r in grants.roles.items()})
