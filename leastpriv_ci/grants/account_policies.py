"""Resource-based policies as attached in the account (``resource_policies.yaml``
``account``).

For a role read from the account, a use that its own policies do not allow may still be
granted by the used resource's own policy (a bucket's, queue's, topic's, key's, secret's,
table's or stream's) naming the role. Those policies are read through each service's
API, once per resource, and only for the resources of such uses: a scan whose roles
allow all they used reads none. An Allow statement naming the role (by its ARN) becomes
one of its ``resource_grants``, as a declared resource policy's does
(:mod:`leastpriv_ci.grants.resource_policies`). A policy in another account than the
role's grants nothing by itself and is not read.

A policy the scanning role may not read, or whose service fails, is a warning naming the
resource and the permission: the use then stays reported missing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from leastpriv_ci.bundled import load
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.managed import decode_document
from leastpriv_ci.grants.resource_policies import (
    UNREAD,
    UNREAD_TEXT,
    as_grant,
    is_public,
    may_refuse,
    opens_to_anyone,
    role_grants,
)
from leastpriv_ci.loaders import value_at
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.evaluate import Decision, evaluate
from leastpriv_ci.policy.model import Policy, Statement
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Finding, Origin
from leastpriv_ci.usage.denied import denied_codes

UNREADABLE = "resource-policy-unreadable"
UNREADABLE_TEXT = (
    "the resource-based policy of a resource a role used without a grant of its own (or "
    "was refused although its policies allow it) could not be read, so a use it may grant "
    "stays reported missing (and a refusal its Deny may explain is not pointed at it); "
    "grant the scanning role the permission named"
)
CAPPED = "resource-policies-capped"
# Resources whose policies one scan reads at most (one or two calls each): a run with
# thousands of distinct resources used without a grant must not spend minutes on them
MAX_POLICIES_READ = 200
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Call:
    """One API call: ``operation`` with ``parameters`` (``{value}`` placeholders)."""

    operation: str
    parameters: Mapping[str, Any]

    def run(self, client: Any, values: Mapping[str, str]) -> Any:
        from botocore import xform_name

        method = getattr(client, xform_name(self.operation))
        return method(**{key: _filled(value, values) for key, value in self.parameters.items()})


@dataclass(frozen=True)
class Lookup:
    """A call before the reading one, whose response ``member`` becomes value ``result``."""

    call: Call
    member: str
    result: str


@dataclass(frozen=True)
class PolicyReader:
    """How the policy of one kind of resource is read from the account."""

    kind: str  # "bucket policy"
    holder: re.Pattern[str]
    service: str  # the botocore client, and the IAM prefix of its permissions
    call: Call
    policy: tuple[str, ...]  # the response member path of the policy text
    absent: frozenset[str]  # error codes: no policy, or no such resource
    lookup: Lookup | None = None
    denied_also: str | None = None  # what else a refusal may mean

    def permission(self, operation: str) -> str:
        return f"{self.service}:{operation}"

    @property
    def permissions(self) -> tuple[str, ...]:
        """Every permission reading a policy of this kind takes."""
        first = (self.permission(self.lookup.call.operation),) if self.lookup else ()
        return (*first, self.permission(self.call.operation))


@dataclass(frozen=True)
class Holder:
    """A resource that keeps a policy, and the values its reader's calls take."""

    arn: str
    reader: PolicyReader
    values: Mapping[str, str]

    @property
    def region(self) -> str | None:
        return self.arn.split(":")[3] or None


@cache
def policy_readers() -> tuple[PolicyReader, ...]:
    readers = []
    for entry in load("resource_policies.yaml")["account"]:
        lookup = entry.get("lookup")
        readers.append(PolicyReader(
            kind=entry["kind"], holder=re.compile(entry["holder"]), service=entry["service"],
            call=Call(entry["operation"], entry["parameters"]),
            policy=tuple(entry["policy"].split(".")), absent=frozenset(entry["absent"]),
            lookup=Lookup(Call(lookup["operation"], lookup["parameters"]), lookup["member"],
                          lookup["result"]) if lookup else None,
            denied_also=entry.get("denied_also")))
    return tuple(readers)


def holder_of(resource: str, account: str) -> Holder | None:
    """The resource of ``account`` keeping the policy that may grant a use of
    ``resource`` (None: no kind read here, not one resource, or another account's)."""
    for reader in policy_readers():
        matched = reader.holder.match(resource)
        if matched is None:
            continue
        values = {key: value for key, value in matched.groupdict().items() if value is not None}
        if "*" in values["holder"] or values.setdefault("account", account) != account:
            return None
        return Holder(values["holder"], reader, values)
    return None


def account_resource_grants(session: Any, used: Mapping[str, Iterable[str]],
                            notices: Notices, declared: Collection[str] = (),
                            public: dict[str, list[Statement]] | None = None,
                            ) -> dict[str, tuple[Statement, ...]]:
    """Per role key (an ARN) in ``used``: the Allow statements naming it of the
    account's resource-based policies on the resources it used (``used``), and their
    Deny statements that may refuse it (:func:`refuses`), each policy read once. Roles
    no such statement names are left out. The policies of the resources ``declared``
    names (those the files' policies name) are not read: the files' policies replace
    them. ``public``, when given, is filled per role with the policies' statements for
    anyone (no condition on the principal), which grant no role: :func:`public_uses`."""
    policies: dict[str, Policy | None] = {}
    clients: dict[tuple[str, str | None], Any] = {}
    granted: dict[str, tuple[Statement, ...]] = {}
    replaced: dict[str, set[str]] = {}  # per account, the holders the files declare
    for role, resources in used.items():
        account = role.split(":")[4]
        if account not in replaced:
            replaced[account] = {h.arn for r in declared
                                 if (h := holder_of(r, account)) is not None}
        holders = {h.arn: h for r in resources if (h := holder_of(r, account)) is not None
                   and h.arn not in replaced[account]}
        statements: list[Statement] = []
        for arn, holder in sorted(holders.items()):
            if arn not in policies:
                if len(policies) >= MAX_POLICIES_READ:
                    notices.add(CAPPED, f"the resource-based policies of more than "
                                f"{MAX_POLICIES_READ} resources were asked for; the others "
                                "were not read, and their uses stay reported missing", arn)
                    continue
                policies[arn] = _read(session, holder, clients, notices)
            policy = policies[arn]
            if policy is None:
                continue
            for statement in policy.statements:
                named = role_grants(statement, {role})
                statements.extend(as_grant(granting, arn, statement.origin)
                                  for _, granting in named)
                if may_refuse(statement, role):  # why a call the role allows was refused
                    statements.append(as_grant(statement, arn, statement.origin))
                if public is not None and is_public(statement) and opens_to_anyone(statement):
                    public.setdefault(role, []).append(
                        as_grant(statement, arn, statement.origin))
        if statements:
            granted[role] = tuple(statements)
    return granted


def public_uses(findings: Iterable[Finding], public: Mapping[str, Sequence[Statement]],
                everyone: Sequence[Statement] = ()) -> list[str]:
    """The missing uses (``role: action on resource``, and the policy) that a
    statement for anyone allows, or may: of ``public`` (the account's policies, per role
    whose uses they were read for) or ``everyone`` (the files' policies): the resource's
    policy lets anyone do what the role's own policies do not."""
    found = []
    for finding in findings:
        statements = [*public.get(finding.role, ()), *everyone]
        if finding.kind != "missing" or not statements:
            continue
        evaluation = evaluate(statements, finding.action, finding.resource)
        if evaluation.decision in (Decision.ALLOW, Decision.CONDITIONAL):
            # the Allow statements that apply, or those undecided
            granting = (evaluation.statements or statements)[0]
            origin = granting.origin
            where = origin.policy_arn or str(replace(origin, policy_name=None))
            found.append(f"{finding.role}: {finding.action} on {finding.resource} "
                         f"({where} {origin.policy_name}"
                         f"{', ' + granting.sid if granting.sid else ''})")
    return found


def _read(session: Any, holder: Holder, clients: dict[tuple[str, str | None], Any],
          notices: Notices) -> Policy | None:
    """The policy ``holder`` keeps (None: it keeps none, or it could not be read)."""
    from botocore.exceptions import BotoCoreError, ClientError

    reader = holder.reader
    place = (reader.service, holder.region)
    values = dict(holder.values)
    try:
        if place not in clients:
            clients[place] = session.client(reader.service, region_name=holder.region)
        client = clients[place]
        if reader.lookup is not None:
            found = value_at(reader.lookup.call.run(client, values), (reader.lookup.member,))
            values[reader.lookup.result] = str(found)
        text = value_at(reader.call.run(client, values), reader.policy)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in reader.absent:
            return None
        if code.lower() in denied_codes():
            also = f" ({reader.denied_also})" if reader.denied_also else ""
            notices.add(UNREADABLE, UNREADABLE_TEXT,
                        f"{holder.arn}: needs {reader.permission(exc.operation_name)}{also}")
        else:
            notices.add(UNREADABLE, UNREADABLE_TEXT,
                        f"{holder.arn}: {exc.operation_name} failed ({code})")
        return None
    except BotoCoreError as exc:
        notices.add(UNREADABLE, UNREADABLE_TEXT, f"{holder.arn}: {exc}")
        return None
    if not isinstance(text, str | Mapping) or not text or text == "{}":
        return None
    origin = Origin(policy_arn=holder.arn, policy_name=reader.kind)
    try:
        document = decode_document(text, f"the {reader.kind} of {holder.arn}")
        return parse_policy(document, name=reader.kind, origin=origin)
    except UserError as exc:
        notices.add(UNREAD, UNREAD_TEXT, str(exc))
        return None


def _filled(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, list):
        return [_filled(item, values) for item in value]
    return value
