"""Policy documents (as loaded JSON/YAML) → validated :class:`Policy` records.

Errors name the file, the line, the statement and the key, and say what IAM expects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from leastpriv_ci.errors import UserError, excerpt
from leastpriv_ci.loaders import line_of
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import (
    ALLOW,
    DENY,
    VERSION_2008,
    VERSION_2012,
    Conditions,
    Policy,
    Statement,
    iam_sid,
    is_unresolved,
)
from leastpriv_ci.records import Origin

MAX_STATEMENTS = 10_000
STATEMENT_KEYS = {
    "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition",
    "Principal", "NotPrincipal",
}
# A full ARN, or a shorter one whose last segment ends in a wildcard (``arn:aws:logs:*``),
# which IAM accepts because that ``*`` runs across the remaining segments.
_ARN = re.compile(r"^arn:(?:[^:]*:[^:]*:[^:]*:[^:]*:.+|(?:[^:]*:){0,3}[^:]*\*)$", re.DOTALL)


def parse_policy(
    document: object,
    *,
    name: str,
    origin: Origin | None = None,
    notices: Notices | None = None,
) -> Policy:
    """Validate and normalise one IAM policy document.

    ``origin`` names the file (and, for a whole-file policy, the line); each statement's
    origin gets the line of its own mapping when the loader recorded it.
    """
    origin = origin or Origin()
    where = _where(origin, line_of(document))
    if not isinstance(document, Mapping):
        raise UserError(f"policy {name!r} must be a JSON object with a Statement list", where=where)
    version = document.get("Version", VERSION_2008)
    if isinstance(version, date) and not isinstance(version, datetime):
        # YAML 1.1 reads an unquoted `Version: 2012-10-17` as a date; IAM takes the text
        version = version.isoformat()
    if version not in (VERSION_2012, VERSION_2008):
        raise UserError(
            f"policy {name!r}: Version must be {VERSION_2012!r} or {VERSION_2008!r}, "
            f"got {excerpt(version)}",
            where=where,
        )
    raw = document.get("Statement")
    if raw is None:
        raise UserError(f"policy {name!r} has no Statement", where=where)
    raw_statements = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(raw_statements, list):
        raise UserError(f"policy {name!r}: Statement must be an object or a list", where=where)
    if len(raw_statements) > MAX_STATEMENTS:
        raise UserError(
            f"policy {name!r} has {len(raw_statements)} statements, over the limit of "
            f"{MAX_STATEMENTS}",
            where=where,
        )
    statements = tuple(
        parse_statement(item, index=i, policy_name=name, version=str(version),
                        origin=origin, notices=notices)
        for i, item in enumerate(raw_statements)
    )
    return Policy(name=name, statements=statements, version=str(version), origin=origin)


def parse_statement(
    raw: object,
    *,
    index: int,
    policy_name: str,
    version: str = VERSION_2012,
    origin: Origin | None = None,
    notices: Notices | None = None,
) -> Statement:
    """Validate and normalise one statement (``index`` is its 0-based position)."""
    line = line_of(raw) or (origin.line if origin else None)
    here = replace(origin or Origin(), line=line, policy_name=(origin and origin.policy_name)
                   or policy_name)
    sid = raw.get("Sid") if isinstance(raw, Mapping) else None
    label = f"policy {policy_name!r} statement {index + 1}" + (f" ({sid})" if sid else "")
    where = _where(here, line)
    if not isinstance(raw, Mapping):
        raise UserError(f"{label} must be an object", where=where)
    unknown = sorted(set(raw) - STATEMENT_KEYS)
    if unknown:
        raise UserError(f"{label}: unknown key(s) {', '.join(map(str, unknown))}", where=where)
    if sid is not None and not isinstance(sid, str):
        raise UserError(f"{label}: Sid must be a string", where=where)
    if notices is not None and sid and not iam_sid(sid):
        notices.add("sid-not-alphanumeric",
                    "an identity policy's Sid holds characters other than A-Z, a-z and 0-9, "
                    "which IAM refuses (MalformedPolicyDocument: deploying it fails); the "
                    "proposal leaves it out", f"{where}: {label}")
    effect = raw.get("Effect")
    if effect not in (ALLOW, DENY):
        raise UserError(f"{label}: Effect must be 'Allow' or 'Deny', got {excerpt(effect)}",
                        where=where)
    if notices is not None and ("Principal" in raw or "NotPrincipal" in raw):
        # Every policy parsed here is read as an identity policy (a role's, managed, a
        # boundary, explain's); a file of resource or trust policy statements only is
        # not read as a role's (grants/sources/policy_json.py)
        notices.add("principal-in-identity-policy",
                    "an identity policy names a Principal, which IAM refuses in one "
                    "(MalformedPolicyDocument: deploying it fails); remove it. The statement "
                    "is judged without it", f"{where}: {label}")
    actions, not_actions = _either(raw, "Action", "NotAction", label, where)
    resources, not_resources = _either(raw, "Resource", "NotResource", label, where)
    for action in actions:
        _check_action(action, label, where, notices)
    for resource in resources:
        if resource != "*" and not is_unresolved(resource) and not _ARN.match(resource):
            key = "NotResource" if not_resources else "Resource"
            raise UserError(
                f"{label}: {key} {resource!r} is not an ARN (arn:partition:service:region:"
                "account:resource) or '*'",
                where=where,
            )
    return Statement(
        effect=str(effect),
        actions=actions,
        resources=resources,
        not_actions=not_actions,
        not_resources=not_resources,
        conditions=_conditions(raw.get("Condition"), label, where),
        sid=sid,
        # everyone but a NotPrincipal's principals is no principal named
        principal=raw.get("Principal"),
        not_principal=raw.get("NotPrincipal"),
        version=version,
        origin=here,
    )


def _either(
    raw: Mapping[str, Any], key: str, not_key: str, label: str, where: str
) -> tuple[tuple[str, ...], bool]:
    if key in raw and not_key in raw:
        raise UserError(f"{label} has both {key} and {not_key}; use one", where=where)
    if key not in raw and not_key not in raw:
        raise UserError(f"{label} needs {key} or {not_key}", where=where)
    negated = not_key in raw
    used = not_key if negated else key
    return _strings(raw[used], f"{label}: {used}", where), negated


def _strings(value: object, label: str, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise UserError(f"{label} must be a string or a non-empty list of strings", where=where)
    for item in values:
        if not isinstance(item, str):
            raise UserError(f"{label} holds {excerpt(item)}; expected strings", where=where)
    return tuple(values)


def _check_action(action: str, label: str, where: str, notices: Notices | None) -> None:
    if action == "*" or is_unresolved(action):
        return
    if ":" not in action:
        raise UserError(f"{label}: action {action!r} must look like 'service:Action'", where=where)
    if notices is None:
        return
    from leastpriv_ci.catalog import get_catalog

    catalog = get_catalog()
    if not catalog.covers_any(action):
        from leastpriv_ci.usage.operations import operations

        instead = operations().authorized_as(action)
        if instead:
            notices.add(
                "operation-name-not-action",
                "policy names an API operation that IAM authorizes as another action; the "
                "name grants nothing (SAM's SQSPollerPolicy template writes such names)",
                f"{where}: {action} (authorized as {', '.join(instead)})",
            )
            return
        notices.add(
            "unknown-action",
            "policy names actions that IAM does not know (typo or retired action?)",
            f"{where}: {action}",
        )


def _conditions(value: object, label: str, where: str) -> Conditions:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UserError(f"{label}: Condition must be an object", where=where)
    block: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, keys in value.items():
        if not isinstance(keys, Mapping):
            raise UserError(f"{label}: Condition {operator!r} must map keys to values", where=where)
        block[str(operator)] = {}
        for key, values in keys.items():
            items = values if isinstance(values, list) else [values]
            if not all(isinstance(v, str | bool | int | float) for v in items):
                raise UserError(
                    f"{label}: Condition {operator}/{key} values must be strings, numbers or "
                    "booleans",
                    where=where,
                )
            block[str(operator)][str(key)] = tuple(
                str(v).lower() if isinstance(v, bool) else str(v) for v in items
            )
    return block


def _where(origin: Origin, line: int | None) -> str:
    if origin.file:
        return f"{origin.file}:{line}" if line else origin.file
    return origin.policy_arn or origin.policy_name or "<policy>"
