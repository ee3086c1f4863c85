"""Which role a principal runs as: explicit mapping, Lambda, CloudFormation, declared names.

Order of evidence, first match wins:

1. the explicit mapping from the configuration (principal ARN or bare name → role, or
   → an instance profile's ARN: the role of the declared profile of that name, else,
   with a session, ``iam:GetInstanceProfile``'s role);
2. Lambda ``ListTags``: ``aws:cloudformation:logical-id`` matched to a declared binding
   (and, when ``stack_name`` is set, only if ``aws:cloudformation:stack-name`` agrees,
   or names a nested stack of it whose template binds that logical ID;
   among templates binding that logical ID to different roles, the one of the
   function's stack: a CDK stack's, by its cloud assembly manifest or file name, or a
   nested stack's, by the name its parent gives it; none when none is of its stack);
3. CloudFormation ``ListStackResources`` of ``stack_name``: the function's physical ID →
   its logical ID → a declared binding;
4. the function's name matched to a binding's names (``FunctionName``, logical ID), else
   a name CloudFormation generated (``STACK-LOGICALID-SUFFIX``) to its logical ID;
5. Lambda ``GetFunctionConfiguration``: the role ARN, matched to a declared role key, else
   returned as is (the role attached in the account).

When a declared role is chosen and the account also reports the function's role ARN,
``aliases[role_arn] = declared_key`` records that both name the same role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from leastpriv_ci.deployed_stack import stack_resources
from leastpriv_ci.errors import ServiceError
from leastpriv_ci.grants.compute import INSTANCE_PROFILE, traced_kinds
from leastpriv_ci.grants.model import MIN_NESTED_ID, GrantSet, StackResource
from leastpriv_ci.notices import Notices
from leastpriv_ci.usage.principals import is_role_arn

LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
STACK_NAME_TAG = "aws:cloudformation:stack-name"
# A name CloudFormation generates: STACK-LOGICALID-SUFFIX (12 or 13 characters)
_GENERATED = re.compile(r"(.+-.+)-[A-Za-z0-9]{12,13}")
_MIN_LOGICAL = 8  # characters of a cut logical ID that must remain to match it


@dataclass(frozen=True)
class PrincipalName:
    """A compute principal's ARN split into the parts matching needs."""

    arn: str
    service: str  # "lambda", "ecs", "states", or "" when not an ARN
    name: str

    @classmethod
    def parse(cls, principal: str) -> PrincipalName:
        if not principal.startswith("arn:"):
            return cls(principal, "", principal)
        parts = principal.split(":", 6)
        service = parts[2] if len(parts) > 2 else ""
        resource = parts[5] if len(parts) > 5 else ""
        rest = parts[6] if len(parts) > 6 else ""
        if service == "lambda" and resource == "function":
            name = rest.split(":", 1)[0]  # drop a version or alias qualifier
        elif service == "ecs" and resource.startswith("task-definition/"):
            name = resource.split("/", 1)[1]
        elif service == "states" and resource == "stateMachine":
            name = rest.split(":", 1)[0]
        else:
            name = (resource + (":" + rest if rest else "")).rsplit("/", 1)[-1]
        return cls(principal, service, name)


def resolve_roles(
    principals: Iterable[str],
    grants: GrantSet,
    *,
    mapping: Mapping[str, str] | None = None,
    session: Any = None,
    stack_name: str | None = None,
    notices: Notices,
    aliases: MutableMapping[str, str] | None = None,
    identities: MutableMapping[str, frozenset[str]] | None = None,
    deployed: Sequence[StackResource] | None = None,
) -> dict[str, str | None]:
    """Principal ARN → role key (a declared role's key, or an account role ARN, or None).

    ``deployed`` is stack ``stack_name``'s resources when the caller read them already
    (:func:`~leastpriv_ci.deployed_stack.stack_resources`); else they are read here.

    ``identities`` receives, per principal, the names a declaration may know it by (its
    ARN, its name, the logical ID its tags or the stack give): :func:`untraced` reads them.
    """
    mapping = mapping or {}
    lambda_client = session.client("lambda") if session is not None else None
    profiles = _AccountProfiles(session) if session is not None else None
    if deployed is None:
        deployed = (stack_resources(session, stack_name, notices)
                    if session is not None and stack_name else ())
    stack = {resource.physical_id: resource.logical_id for resource in deployed}
    resolved: dict[str, str | None] = {}
    for principal in dict.fromkeys(principals):
        parsed = PrincipalName.parse(principal)
        explicit = mapping.get(principal, mapping.get(parsed.name))
        if identities is not None:
            identities[principal] = frozenset({principal, parsed.name})
        if explicit is not None and not _is_profile_arn(explicit):
            resolved[principal] = _declared_key(grants, explicit) or explicit
            continue
        if is_role_arn(principal):  # a segment mapped straight to a role stands for it
            resolved[principal] = _declared_key(grants, principal) or principal
            continue
        profile = explicit if explicit is not None else principal
        if _is_profile_arn(profile):  # mapped to an instance profile: runs as its role
            resolved[principal] = _mapped_profile_role(
                grants, principal, profile, profiles, stack_name, stack, notices, aliases)
            continue
        account_role: str | None = None
        logical: str | None = None
        stack_of_function = stack_name
        if lambda_client is not None and parsed.service == "lambda":
            account_role, logical, stack_of_function = _lambda_facts(
                lambda_client, principal, stack_name, notices)
        alike = _alike(grants, parsed.service)
        by_id = alike
        if stack_name and stack_of_function != stack_name:
            # Its tags put it in another stack: of the configured stack's templates, only
            # a nested stack's of that name may be the one it was deployed from
            by_id = replace(alike, bindings=tuple(
                b for b in alike.bindings
                if b.nested_in == stack_name and b.deployed_in(stack_of_function or "")))
            if not any(logical in (b.function, b.origin.logical_id) for b in by_id.bindings):
                logical = None
        if logical is None and parsed.name in stack:
            logical = stack[parsed.name]
        declared = (_by_logical_id(by_id, logical, stack_of_function, notices, principal)
                    if logical else None)
        declared = declared or _by_name(alike, parsed.name, notices)
        if declared is None and logical is None and stack_of_function == stack_name:
            # (not when its tags put the function in another stack than the configured one)
            generated = _by_generated_name(alike, parsed.name, stack_name, notices)
            if generated is not None:
                declared, logical = generated
        if identities is not None and logical is not None:
            identities[principal] |= {logical}
        if declared is None and account_role is not None:
            declared = _account_role_declared(grants, account_role, stack)
        if declared is not None:
            if account_role is not None and account_role != declared and aliases is not None:
                aliases[account_role] = declared
            resolved[principal] = declared
        elif account_role is not None:
            resolved[principal] = account_role
        else:
            notices.add("principal-unresolved", "no role found for a principal; map it in the "
                        "configuration (principal-map)", principal)
            resolved[principal] = None
    return resolved


def untraced(
    grants: GrantSet,
    mapping: Mapping[str, str],
    resolved: Mapping[str, str | None],
    identities: Mapping[str, frozenset[str]],
) -> dict[str, tuple[str, ...]]:
    """Role key → the principals declared or mapped to run as it that no traced principal
    is, for the roles some traced principal runs as.

    A declared function counts as traced when a traced principal goes by one of its names
    (its ARN or name, or its logical ID). When some of the role's traced principals match
    no declaration of it (they were mapped, or found in the account), as many unmatched
    declarations may be them: the rest are listed only when there are more of those.
    """
    known = frozenset().union(*identities.values())
    by_role: dict[str, list[str]] = {}
    by_value: dict[str, str] = {}  # a mapping value → the role a principal mapped to it has
    for principal, role in resolved.items():
        if role is not None:
            by_role.setdefault(role, []).append(principal)
            value = mapping.get(principal, mapping.get(PrincipalName.parse(principal).name))
            if value is not None:  # (an account's instance profile: known only so)
                by_value.setdefault(value, role)
    found: dict[str, tuple[str, ...]] = {}
    for role, principals in sorted(by_role.items()):
        bindings = [b for b in grants.bindings if b.role == role]
        unmatched = [b.function for b in bindings if not known & {b.function, *b.names}]
        unexplained = [p for p in principals
                       if not any(identities.get(p, frozenset()) & {b.function, *b.names}
                                  for b in bindings)]
        names = unmatched if len(unmatched) > len(unexplained) else []
        # A mapping entry names its principal for sure (a segment mapped straight to a
        # role is traced under that role's ARN: its entry is known by its value)
        names += [key for key, value in mapping.items()
                  if (by_value.get(value)
                      or (_profile_role(grants, value, None, Notices()) if _is_profile_arn(value)
                          else _declared_key(grants, value) or value)) == role
                  and key not in known and value not in resolved]
        if names:
            found[role] = tuple(sorted(dict.fromkeys(names)))
    return found


def _alike(grants: GrantSet, service: str) -> GrantSet:
    """``grants`` with only the declarations a traced principal of ``service`` can be (a
    function's name never picks a task definition's or an instance profile's role);
    all of them for a principal by a bare name (mapped EC2 and others)."""
    kind = traced_kinds().get(service)
    if kind is None:
        return grants
    return replace(grants, bindings=tuple(b for b in grants.bindings if b.kind in ("", kind)))


def _is_profile_arn(arn: str) -> bool:
    return arn.startswith("arn:") and ":iam::" in arn and ":instance-profile/" in arn


def _profile_role(grants: GrantSet, arn: str, stack_name: str | None,
                  notices: Notices) -> str | None:
    """The role of the declared instance profile ``arn`` names (profile names are unique
    in an account, whatever their path): by its name (``InstanceProfileName``, Terraform
    ``name``, or the name CloudFormation generated from its logical ID)."""
    name = arn.rsplit("/", 1)[-1]
    profiles = tuple(b for b in grants.bindings if b.kind == INSTANCE_PROFILE)
    roles = list(dict.fromkeys(b.role for b in profiles if name in (b.function, *b.names)))
    if roles:
        return roles[0] if _one(roles, name, notices) else None
    generated = _by_generated_name(replace(grants, bindings=profiles), name, stack_name,
                                   notices)
    return generated[0] if generated is not None else None


def _mapped_profile_role(
    grants: GrantSet, principal: str, profile: str, profiles: _AccountProfiles | None,
    stack_name: str | None, stack: Mapping[str, str], notices: Notices,
    aliases: MutableMapping[str, str] | None,
) -> str | None:
    """The role of the instance profile ``principal`` is mapped to: the declared profile's;
    else, with a session (``profiles``), the role the account's profile holds, as the files
    declare it if they do (the pair then in ``aliases``). Never the account's when two
    declared profiles of that name hold different roles."""
    ambiguous = Notices()
    role = _profile_role(grants, profile, stack_name, ambiguous)
    notices.extend(ambiguous)
    if role is not None or ambiguous:
        return role
    if profiles is None:
        notices.add("principal-unresolved", "no role found for a principal; the instance "
                    "profile it is mapped to is not declared in the scanned files: map it to "
                    "the profile's role ARN (principal-map)", f"{principal}: {profile}")
        return None
    account_role = profiles.role(profile, notices)
    if account_role is None:
        return None
    declared = _account_role_declared(grants, account_role, stack)
    if declared is not None and declared != account_role and aliases is not None:
        aliases[account_role] = declared
    return declared or account_role


def _account_role_declared(grants: GrantSet, account_role: str,
                           stack: Mapping[str, str]) -> str | None:
    """The declared role an account role ARN is: by its key, ARN or name, else the logical
    ID the configured stack created it from."""
    declared = _declared_key(grants, account_role)
    role_logical = stack.get(account_role.rsplit("/", 1)[-1])
    if declared is None and role_logical in grants.roles:
        declared = role_logical  # the stack created this role from that logical ID
    return declared


class _AccountProfiles:
    """The roles instance profiles hold in the session's account
    (``iam:GetInstanceProfile``, by name: names are unique whatever the path), each
    profile asked once."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._iam: Any = None
        self._roles: dict[str, str | None] = {}

    def role(self, arn: str, notices: Notices) -> str | None:
        """The ARN of the role the profile ``arn`` names holds (None: none, and why noted)."""
        if arn not in self._roles:
            if self._iam is None:
                self._iam = self._session.client("iam")
            self._roles[arn] = self._look_up(arn, notices)
        return self._roles[arn]

    def _look_up(self, arn: str, notices: Notices) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        name = arn.rsplit("/", 1)[-1]
        try:
            found = self._iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchEntity", "NoSuchEntityException"):
                notices.add("instance-profile-not-found", "a principal is mapped to an "
                            "instance profile that no scanned file declares and the account "
                            "does not have: map it to the role ARN (principal-map)", arn)
                return None
            if code in ("AccessDenied", "AccessDeniedException"):
                raise ServiceError("IAM denied GetInstanceProfile: the scanning role needs "
                                   "iam:GetInstanceProfile") from None
            message = exc.response.get("Error", {}).get("Message", "")
            raise ServiceError(f"IAM GetInstanceProfile failed for {name!r}: "
                               f"{message or code}") from None
        except BotoCoreError as exc:
            raise ServiceError(f"IAM GetInstanceProfile failed for {name!r}: {exc}") from None
        wanted, held = _account_of(arn), _account_of(str(found.get("Arn", "")))
        if wanted and held and wanted != held:  # the same name in the scanned account
            notices.add("instance-profile-other-account", "a principal is mapped to an "
                        "instance profile of another account than the one scanned: its role "
                        "is not looked up there; map it to the role ARN (principal-map)", arn)
            return None
        roles = found.get("Roles") or []
        if not roles:
            notices.add("instance-profile-without-role", "a principal is mapped to an "
                        "instance profile that holds no role in the account: it runs with no "
                        "permissions; map it to the role ARN it should have (principal-map)",
                        arn)
            return None
        return str(roles[0]["Arn"])


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _declared_key(grants: GrantSet, role: str) -> str | None:
    """The declared role a mapping value or account ARN names (by key, ARN, template
    logical ID or resource address, or name)."""
    if role in grants.roles:
        return role
    if not role.startswith("arn:"):
        # a role whose RoleName is set is keyed by its ARN, yet named by its logical ID
        logical = [key for key, declared in grants.roles.items()
                   if declared.origin.logical_id == role]
        if len(logical) == 1:
            return logical[0]
    name = role.rsplit("/", 1)[-1] if role.startswith("arn:") else role
    matches = [key for key, declared in grants.roles.items() if declared.name == name]
    return matches[0] if len(matches) == 1 else None


def _by_logical_id(grants: GrantSet, logical: str, stack: str | None,
                   notices: Notices, principal: str) -> str | None:
    """The role of the binding with that logical ID; where several stacks' templates bind
    it to different roles (one CDK class synthesized twice), the one of CDK stack
    ``stack`` (:meth:`Binding.deployed_in`: a nested stack's too). None of them, when
    none or several are of that stack: which one, if any, the function was deployed from
    is not known."""
    found = [binding for binding in grants.bindings
             if binding.function == logical or binding.origin.logical_id == logical]
    if stack is not None and len({binding.role for binding in found}) > 1:
        ours = [b for b in found if b.deployed_in(stack)]
        if len({binding.role for binding in ours}) > 1:  # nested stacks' names cut alike
            ours = []
        if not ours:
            notices.add("principal-stack-unmatched", "templates of several stacks bind a "
                        "function's logical ID to different roles, and none is of the stack "
                        "its tags name: it is not judged as any of them (its role in the "
                        "account is used, if known); map it in principal-map to choose",
                        f"{principal}: {logical} in stack {stack}")
        found = ours
    return found[0].role if found else None


def _by_name(grants: GrantSet, name: str, notices: Notices) -> str | None:
    roles = list(dict.fromkeys(
        binding.role for binding in grants.bindings
        if name == binding.function or name in binding.names
    ))
    return roles[0] if _one(roles, name, notices) else None


def _one(roles: Sequence[str], name: str, notices: Notices) -> bool:
    """Whether ``name`` matched exactly one role; several is a warning (none is not)."""
    if len(roles) > 1:
        notices.add("principal-ambiguous", "a function name matches bindings to several roles; "
                    "map it explicitly in the configuration", f"{name}: {', '.join(roles)}")
    return len(roles) == 1


def _by_generated_name(grants: GrantSet, name: str, stack_name: str | None,
                       notices: Notices) -> tuple[str, str] | None:
    """(role, logical ID) of the binding whose function CloudFormation named ``name``:
    ``STACK-LOGICALID-SUFFIX``, the stack and logical ID each maybe cut short to fit 64
    characters. A binding in a CDK stack's template wants that stack's name; one in
    another template, the configured stack's (``stack_name``), else any stack's. Where
    some binding's stack and logical ID are the name's whole parts, only those count:
    another stack whose name merely starts the same (a nested stack's) was cut to it
    only if the name was cut, and a name spelling both parts whole was not. (A binding
    of no known stack may be in any, that one too: then nothing is preferred.) A nested
    stack's binding matches only a name whose stack part goes on past its parent's name
    into its own logical ID (:data:`MIN_NESTED_ID` characters, or all of it)."""
    if (found := _GENERATED.fullmatch(name)) is None:
        return None
    named = found.group(1)  # STACK-LOGICALID, either part maybe cut
    cuts = [index for index, char in enumerate(named) if char == "-" and index]
    matches: dict[str, str] = {}
    whole: dict[str, str] = {}
    anywhere = False  # a binding of no known stack matched
    for binding in grants.bindings:
        logical = binding.origin.logical_id or binding.function
        stack = binding.cdk_stack or stack_name
        for cut in cuts:
            if not logical.startswith(named[cut + 1:]):
                continue
            if len(named) - cut - 1 < min(len(logical), _MIN_LOGICAL):
                continue  # too short a remnant to tell logical IDs apart
            if binding.nested_in is not None and cut < min(
                    len(stack or ""), len(binding.nested_in) + 1 + MIN_NESTED_ID):
                continue  # the name shows too little of the nested stack's own
            if stack is None or stack.startswith(named[:cut]):
                matches.setdefault(binding.role, logical)
                anywhere = anywhere or stack is None
                if stack == named[:cut] and logical == named[cut + 1:]:
                    whole.setdefault(binding.role, logical)
                break
    matches = matches if anywhere or not whole else whole
    return next(iter(matches.items())) if _one(list(matches), name, notices) else None


def _lambda_facts(
    client: Any, arn: str, stack_name: str | None, notices: Notices
) -> tuple[str | None, str | None, str | None]:
    """The function's role ARN, and its CloudFormation logical ID and stack (its tags)."""
    from botocore.exceptions import ClientError

    try:
        role = client.get_function_configuration(FunctionName=arn).get("Role")
        tags = client.list_tags(Resource=_unqualified(arn)).get("Tags", {})
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            notices.add("function-not-found", "a traced function no longer exists in the "
                        "account; matched by name only", arn)
            return None, None, stack_name
        if code in ("AccessDenied", "AccessDeniedException"):
            raise ServiceError(f"Lambda denied {exc.operation_name}: the scanning role needs "
                               f"lambda:{exc.operation_name}") from None
        raise ServiceError(f"Lambda {exc.operation_name} failed for {arn}: {code}") from None
    return role, tags.get(LOGICAL_ID_TAG), tags.get(STACK_NAME_TAG) or stack_name


def _unqualified(arn: str) -> str:
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn
