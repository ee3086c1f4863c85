"""Plain IAM documents: a policy file, a role with its policies, or an account export.

Three shapes are read, as JSON or YAML:

* a policy document (``{"Version", "Statement"}``): one role keyed by the file path;
* a role (``{"RoleName"|"Arn", "AssumeRolePolicyDocument", "Policies",
  "AttachedManagedPolicies"|"ManagedPolicyArns", "PermissionsBoundary"}``, or the
  ``aws iam get-role`` output ``{"Role": {...}}``);
* ``aws iam get-account-authorization-details`` (``RoleDetailList`` with the managed
  policies of ``Policies`` resolved from the same file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.boundary import parse_boundary
from leastpriv_ci.grants.cfn_yaml import loads_cfn_yaml
from leastpriv_ci.grants.managed import decode_document, managed_policy, placeholder
from leastpriv_ci.grants.model import GrantSet, ResolveContext
from leastpriv_ci.grants.resource_policies import ResourceGrants
from leastpriv_ci.grants.sources import sniff
from leastpriv_ci.loaders import LoadError, line_of, list_of, loads_json, read_text
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Policy, Role, unresolved
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

NAME = "policy-json"
PRIORITY = 90  # the most generic shape: asked after every infrastructure format
SUFFIXES = (".json", ".yaml", ".yml")
_MARKERS = re.compile(r'"?(Statement|RoleDetailList|AssumeRolePolicyDocument)"?\s*:')
_NOT_POLICY = ('"terraform_version"', '"format_version"', "AWSTemplateFormatVersion")


def detect(path: Path) -> bool:
    """A JSON/YAML file that holds a policy document, a role, or an account export."""
    if path.suffix.lower() not in SUFFIXES:
        return False
    text = sniff(path)
    return bool(_MARKERS.search(text)) and not any(marker in text for marker in _NOT_POLICY)


def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    """The role(s) a policy file declares (nothing, if it is not a policy file after all)."""
    try:
        text = read_text(path)
        # The CloudFormation loader keeps ``Version: 2012-10-17`` a string.
        data = loads_json(text) if path.suffix.lower() == ".json" else loads_cfn_yaml(text)
    except LoadError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise UserError(f"cannot parse policy file: {exc}; fix the syntax", where=where) from None
    file = str(path)
    if not isinstance(data, Mapping):
        return GrantSet()
    if isinstance(data.get("RoleDetailList"), list):
        return _account_export(data, file, context, notices)
    nested = data.get("Role")
    role: Mapping[str, Any] = nested if isinstance(nested, Mapping) else data
    if any(key in role for key in ("RoleName", "AssumeRolePolicyDocument", "RolePolicyList")):
        found = _role(role, file, context, notices, {})
        return GrantSet(roles={found.key: found}, files=(file,))
    if "Statement" in data:
        if _names_principals(data["Statement"]):
            return _resource_policy(data, path, context, notices)
        origin = Origin(file=file, line=line_of(data), policy_name=path.stem)
        policy = parse_policy(data, name=path.stem, origin=origin, notices=notices)
        return GrantSet(roles={file: Role(key=file, name=None, policies=(policy,), origin=origin)},
                        files=(file,))
    return GrantSet()


def _resource_policy(data: Mapping[str, Any], path: Path, context: ResolveContext,
                     notices: Notices) -> GrantSet:
    """A resource-based (or trust) policy: no role's own. Its Allow statements naming a
    role of the account by ARN explain that role's uses, when another file declares it,
    and those for anyone in the account or its organization every role's; those for
    anyone at all are kept as public. The file does not say which resource it is
    attached to, so a ``*`` Resource decides nothing."""
    file = str(path)
    origin = Origin(file=file, line=line_of(data), policy_name=path.stem)
    star = unresolved(f"the Resource * of {path.name}")
    try:  # a trust policy has no Resource: it does not parse as a policy, and grants none
        policy: Policy | None = parse_policy(data, name=path.stem, origin=origin)
    except UserError:
        policy = None
    granted = ResourceGrants.empty()
    for statement in policy.statements if policy else ():
        granted.add(statement, (), context.account, star, statement.origin)
    if not granted.by_name and not granted.public:
        notices.add("not-identity-policy", "policy files whose statements name a Principal "
                    "are resource-based or trust policies, not a role's policies: read only "
                    "for the roles of the account they grant (named by ARN, or anyone in the "
                    "account or its organization) and for anyone at all, and these name "
                    "none of them", file)
        return GrantSet()
    return granted.onto(GrantSet(files=(file,)))


def _names_principals(statements: object) -> bool:
    """Whether a policy's statements all name a principal: a bucket, key or queue policy,
    or a role's trust policy, which IAM never attaches to a role as its own."""
    listed = [statements] if isinstance(statements, Mapping) else statements
    return (isinstance(listed, list) and bool(listed)
            and all(isinstance(s, Mapping) and ("Principal" in s or "NotPrincipal" in s)
                    for s in listed))


def _role(
    raw: Mapping[str, Any],
    file: str,
    context: ResolveContext,
    notices: Notices,
    managed_documents: Mapping[str, Mapping[str, Any]],
) -> Role:
    name = raw.get("RoleName") if isinstance(raw.get("RoleName"), str) else None
    arn = raw.get("Arn") if isinstance(raw.get("Arn"), str) else None
    if arn is None and name is not None:
        path = raw.get("Path") if isinstance(raw.get("Path"), str) else "/"
        arn = f"arn:{context.partition}:iam::{context.account}:role{path}{name}"
    key = arn or file
    origin = Origin(file=file, line=line_of(raw), logical_id=name)
    policies: list[Policy] = []
    inline = raw.get("Policies", raw.get("RolePolicyList", []))
    for i, entry in enumerate(inline if isinstance(inline, list) else []):
        if not isinstance(entry, Mapping):
            raise UserError(f"inline policy {i + 1} must be an object with PolicyName and "
                            "PolicyDocument", where=f"{file}:{line_of(raw)}")
        policy_name = str(entry.get("PolicyName", f"policy{i + 1}"))
        here = Origin(file=file, line=line_of(entry), logical_id=name, policy_name=policy_name)
        document = entry.get("PolicyDocument")
        if isinstance(document, str):
            document = decode_document(document, f"{file}:{line_of(entry)} ({policy_name})")
        policies.append(parse_policy(document, name=policy_name, origin=here, notices=notices))
    attached = [
        entry.get("PolicyArn") if isinstance(entry, Mapping) else entry
        for entry in list_of(raw.get("AttachedManagedPolicies", raw.get("ManagedPolicyArns")))
    ]
    for policy_arn in attached:
        if isinstance(policy_arn, str):
            policies.append(_managed(policy_arn, origin, notices, managed_documents))
    boundary = parse_boundary(
        raw.get("PermissionsBoundary"), origin, notices,
        resolve_arn=lambda arn: _managed(arn, origin, notices, managed_documents))
    return Role(key=key, name=name, policies=tuple(policies), boundary=boundary, origin=origin)


def _managed(
    arn: str,
    origin: Origin,
    notices: Notices,
    documents: Mapping[str, Mapping[str, Any]],
) -> Policy:
    if arn in documents:
        here = Origin(file=origin.file, line=line_of(documents[arn]) or origin.line,
                      logical_id=origin.logical_id, policy_arn=arn,
                      policy_name=arn.rsplit("/", 1)[-1])
        return parse_policy(documents[arn], name=here.policy_name or arn, origin=here,
                            notices=notices)
    if arn.startswith("arn:"):
        return managed_policy(arn, origin, notices)
    return placeholder(arn, origin)


def _account_export(
    data: Mapping[str, Any], file: str, context: ResolveContext, notices: Notices
) -> GrantSet:
    documents: dict[str, Mapping[str, Any]] = {}
    for policy in list_of(data.get("Policies")):
        if not isinstance(policy, Mapping) or not isinstance(policy.get("Arn"), str):
            continue
        for version in list_of(policy.get("PolicyVersionList")):
            if isinstance(version, Mapping) and version.get("IsDefaultVersion"):
                document = version.get("Document")
                documents[policy["Arn"]] = decode_document(
                    document, f"{file}:{line_of(version)} ({policy['Arn']})")
    roles = {}
    for raw in data["RoleDetailList"]:
        if isinstance(raw, Mapping):
            role = _role(raw, file, context, notices, documents)
            roles[role.key] = role
    return GrantSet(roles=roles, files=(file,))
