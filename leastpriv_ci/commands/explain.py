"""``leastpriv-ci explain``: is this action on this resource allowed, and by which
statements? The user's "why is this allowed?" tool."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.errors import UserError
from leastpriv_ci.loaders import MAX_FILE_BYTES, LoadError, loads_json, read_text
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.evaluate import Decision, Evaluation, evaluate
from leastpriv_ci.policy.files import load_policy_file
from leastpriv_ci.policy.model import Statement, is_unresolved
from leastpriv_ci.policy.resource_policy import (
    both_allow,
    load_resource_policy,
    other_account,
    principal_context,
)
from leastpriv_ci.report.escape import console

NAME = "explain"
HELP = "evaluate one action on one resource against IAM policy files and say why"
DESCRIPTION = """Evaluate one request (action + resource) against identity policies, an
optional permissions boundary and an optional resource-based policy, the way IAM does:
explicit Deny beats Allow beats the implicit deny. A statement whose condition the context
cannot decide makes the answer "conditional". Prints the decision and the statements that
made it, with file:line."""

BOUNDARY = "boundary"
RESOURCE = "resource policy"
IDENTITY = "identity policies"
_VERDICTS = {
    Decision.ALLOW: "allowed",
    Decision.IMPLICIT_DENY: "denied (implicitly: no statement allows it)",
    Decision.EXPLICIT_DENY: "denied (explicitly, by a Deny statement)",
    Decision.CONDITIONAL: "conditional (depends on values the context does not give)",
}
_REFUSED_BY = {
    BOUNDARY: "denied (implicitly: the permissions boundary does not allow it)",
    RESOURCE: "denied (implicitly: the resource is another account's, and its policy does "
              "not allow it)",
    IDENTITY: "denied (implicitly: the resource is another account's, and the identity "
              "policies do not allow it)",
}
_UNRESOLVED = ("conditional (a deciding statement holds a value not known offline, such "
               "as a managed policy that is not bundled or a template value)")
_SCALARS = (str, int, float, bool)
_NOTHING_ALLOWS = {
    BOUNDARY: "no permissions boundary statement allows it",
    RESOURCE: "no statement of the resource policy allows it",
    IDENTITY: "no identity policy statement allows it",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", action="append", required=True, metavar="FILE",
                        help="identity policy file, JSON or YAML (a policy document or a "
                        "role with Policies); repeat for several")
    parser.add_argument("--boundary", action="append", default=[], metavar="FILE",
                        help="permissions boundary policy file")
    parser.add_argument("--resource-policy", action="append", default=[], metavar="FILE",
                        help="the resource's own policy (a bucket's, queue's, key's ...), "
                        "JSON or YAML; its statements naming --principal or anyone take "
                        "part (needs --principal)")
    parser.add_argument("--principal", metavar="ARN",
                        help="the ARN of the IAM role or user making the request (or of "
                        "a role's session, as access-denied messages name it); decides "
                        "aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType and "
                        "aws:PrincipalIsAWSService (kms:CallerAccount for a KMS action)")
    parser.add_argument("--action", required=True, help="IAM action, e.g. s3:GetObject")
    parser.add_argument("--resource", default="*",
                        help="resource ARN (default '*', for actions without resource types)")
    parser.add_argument("--context", metavar="JSON|@FILE",
                        help="request context as a JSON object of condition keys, e.g. "
                        "'{\"aws:username\": \"bob\"}', or @file.json")
    parser.add_argument("--complete-context", action="store_true",
                        help="the context is the request's whole context: a condition key "
                        "or policy variable it lacks is absent (IAM's rules) instead of "
                        "undecided")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    """Evaluate and print; the exit code is 0 whatever the decision."""
    notices = Notices()
    identity: list[Statement] = []
    boundary: list[Statement] = []
    for name in args.policy:
        loaded = load_policy_file(Path(name), notices=notices)
        identity.extend(s for p in loaded.policies for s in p.statements)
        if loaded.boundary is not None:
            boundary.extend(loaded.boundary.statements)
    for name in args.boundary:
        loaded = load_policy_file(Path(name), notices=notices)
        boundary.extend(s for p in loaded.policies for s in p.statements)
    if args.resource_policy and args.principal is None:
        raise UserError("--resource-policy needs --principal: the ARN of the role or user "
                        "making the request, whom its statements name")
    has_boundary = bool(args.boundary) or bool(boundary)
    taking_part = [load_resource_policy(Path(name), args.principal, notices,
                                        bounded=has_boundary)
                   for name in args.resource_policy]
    granted = [s for part in taking_part for s in part.statements]
    # naming the user or session itself: not limited by the boundary's implicit deny
    direct = [s for part in taking_part for s in part.statements
              if id(s) in part.direct and s.is_allow]
    context = parse_context(args.context) if args.context is not None else None
    if args.principal is not None:  # what the user's context says wins
        context = {**principal_context(args.principal, args.action), **(context or {})}
    action, resource = _request(args.action, args.resource, notices)

    def judged(statements: list[Statement], *, bounded: bool) -> Evaluation:
        return evaluate(statements, action, resource, context=context,
                        boundary=boundary if bounded and has_boundary else None,
                        complete_context=args.complete_context)

    def by_boundary(statements: list[Statement]) -> bool:
        """An implicit deny is the boundary's doing when the policies alone (may) allow."""
        return has_boundary and judged(statements, bounded=False).decision \
            is not Decision.IMPLICIT_DENY

    refused_by: str | None = None
    if args.resource_policy and other_account(resource, args.principal):
        own = judged(identity, bounded=True)
        result = both_allow(own, judged(granted, bounded=False))
        if result.decision is Decision.IMPLICIT_DENY:
            refused_by = (RESOURCE if own.decision is not Decision.IMPLICIT_DENY
                          else BOUNDARY if by_boundary(identity) else IDENTITY)
    else:
        result = judged(identity + granted, bounded=True)
        if direct and has_boundary and result.decision in (Decision.IMPLICIT_DENY,
                                                           Decision.CONDITIONAL):
            # what the user or session is granted itself, bar an explicit Deny anywhere
            denies = [s for s in (*identity, *granted, *boundary) if not s.is_allow]
            unbounded = judged(direct + denies, bounded=False)
            if unbounded.decision is Decision.ALLOW or (
                    unbounded.decision is Decision.CONDITIONAL
                    and result.decision is Decision.IMPLICIT_DENY):
                result = unbounded
        if result.decision is Decision.IMPLICIT_DENY and by_boundary(identity + granted):
            refused_by = BOUNDARY
    for notice in notices.items():
        print(f"leastpriv-ci: warning: {console(str(notice))}", file=sys.stderr)
    boundary_ids = {id(s) for s in boundary}
    granted_ids = {id(s) for s in granted}
    if args.format == "json":
        print(json.dumps(to_json(result, boundary_ids, granted_ids), indent=2))
    else:
        print(to_text(result, action, resource, boundary_ids, granted_ids,
                      refused_by=refused_by))
    return 0


def _request(action: str, resource: str, notices: Notices) -> tuple[str, str]:
    if ":" not in action:
        raise UserError(f"--action {action!r} must look like 'service:Action'")
    if "*" in action or "?" in action:
        raise UserError(f"--action {action!r}: name one action (a request has no wildcards); "
                        "to see what a pattern covers, explain its actions one by one")
    info = get_catalog().action(action)
    if info is None:
        notices.add("unknown-action", "the action is not in the IAM catalog (typo or "
                    "retired action?); evaluated as given", action)
        return action, resource
    if not info.resource_level and resource != "*":
        notices.add("no-resource-type", f"{info.full_name} supports no resource type, so IAM "
                    "evaluates it against '*'; --resource ignored", resource)
        resource = "*"
    return info.full_name, resource


def parse_context(text: str) -> dict[str, object]:
    """The ``--context`` value: inline JSON, or ``@path`` to a JSON file."""
    where = "--context"
    if text.startswith("@"):
        path = Path(text[1:])
        where = str(path)
        try:
            text = read_text(path, MAX_FILE_BYTES)
        except (OSError, LoadError) as exc:
            raise UserError(f"cannot read the context file: {exc}", where=where) from None
    try:
        value = loads_json(text)
    except LoadError as exc:
        at = f"{where}:{exc.line}" if exc.line and where != "--context" else where
        raise UserError(f"context is not valid JSON: {exc}", where=at) from None
    if not isinstance(value, Mapping):
        raise UserError('context must be a JSON object like {"aws:username": "bob"}',
                        where=where)
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(v, _SCALARS) for v in items):
            raise UserError(f"context key {key!r} must be a string, number, boolean or a list "
                            "of them", where=where)
    return dict(value)


def to_json(result: Evaluation, boundary_ids: set[int] | None = None,
            granted_ids: set[int] | None = None) -> dict[str, object]:
    """The machine-readable contract: ``{"decision", "statements": [...]}``."""
    boundary_ids = boundary_ids or set()
    granted_ids = granted_ids or set()
    return {
        "decision": result.decision.value,
        "statements": [
            {
                "file": s.origin.file,
                "line": s.origin.line,
                "sid": s.sid,
                "effect": s.effect,
                "policy": s.origin.policy_name,
                "boundary": id(s) in boundary_ids,
                "resource_policy": id(s) in granted_ids,
                "statement": s.to_json(),
            }
            for s in result.statements
        ],
    }


def to_text(result: Evaluation, action: str, resource: str,
            boundary_ids: set[int] | None = None, granted_ids: set[int] | None = None, *,
            refused_by: str | None = None) -> str:
    """A short human explanation: the decision, then one line per deciding statement.

    ``refused_by``: what an implicit deny comes from, when the other policies allow the
    request (or may): the permissions boundary (``BOUNDARY``); for another account's
    resource, its policy (``RESOURCE``) or the identity policies (``IDENTITY``).
    """
    boundary_ids = boundary_ids or set()
    granted_ids = granted_ids or set()
    verdict = _REFUSED_BY[refused_by] if refused_by else _VERDICTS[result.decision]
    unknown = [s for s in result.statements if _holds_unresolved(s)]
    if result.decision is Decision.CONDITIONAL and unknown and all(
            not s.conditions for s in result.statements):
        verdict = _UNRESOLVED
    lines = [f"{result.decision.value}: {console(action)} on {console(resource)} is {verdict}"]
    if result.statements:
        heading = "undecided statements" if result.decision is Decision.CONDITIONAL \
            else "decided by"
        lines.append(f"{heading}:")
    for s in result.statements:
        place = f"{s.origin.file}:{s.origin.line}" if s.origin.line else (s.origin.file or "?")
        label = f" {s.sid}" if s.sid else ""
        policy = f" (policy {s.origin.policy_name})" if s.origin.policy_name else ""
        place, label, policy = console(place), console(label), console(policy)
        kind = (" [boundary]" if id(s) in boundary_ids
                else " [resource policy]" if id(s) in granted_ids else "")
        lines.append(f"  {place}  {s.effect}{label}{policy}{kind}")
        if s.conditions and result.decision is Decision.CONDITIONAL:
            lines.append(f"    condition: {json.dumps(s.to_json().get('Condition'))}")
        if result.decision is Decision.CONDITIONAL and _holds_unresolved(s):
            values = list(dict.fromkeys(v for v in (*s.actions, *s.resources) if is_unresolved(v)))
            lines.append(f"    not known offline: {console(', '.join(values))}")
    if refused_by:
        lines.append(_NOTHING_ALLOWS[refused_by])
    elif result.decision is Decision.IMPLICIT_DENY:
        lines.append("no statement allows it")
    return "\n".join(lines)


def _holds_unresolved(statement: Statement) -> bool:
    """Whether an action or resource of the statement is a value not known offline."""
    return any(is_unresolved(v) for v in (*statement.actions, *statement.resources))
