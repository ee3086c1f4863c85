"""Was a call denied by IAM? Decided by error code or message, never by HTTP status."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, NamedTuple

from leastpriv_ci.bundled import load

# "... is not authorized to perform: s3:GetObject on resource: arn:...", and the older
# query-protocol wording SES uses: "... is not authorized to perform `ses:SendEmail' on
# resource `arn:...'"
# An exception type's path: Python and Java dots, Java's inner-class "$", Ruby's "::"
# (Aws::S3::Errors::AccessDenied)
_TYPE_PATH = re.compile(r"[.$:]+")
_NOT_AUTHORIZED = re.compile(
    r"is not authorized to perform(?:: ?| `)([A-Za-z0-9-]+:[A-Za-z0-9*]+)'?"
    r"(?: on resource(?:: ?\"?| `)(arn:[^\s,;\"'()`]+|\*))?"
)
# What refused it, as IAM's newer messages add: "... with an explicit deny in a service
# control policy", "... because no VPC endpoint policy allows the s3:GetObject action"
_REFUSED_BY = re.compile(
    r"\b(?:with an (?P<deny>explicit deny in an? [A-Za-z -]{0,40}?(?:policy|boundary))"
    r"|because (?P<none>no [A-Za-z -]{1,40}?) allows the [A-Za-z0-9-]{1,64}:[A-Za-z0-9*]{1,128}"
    r" action)(?=[.,;:\s]|$)"
)
# The policy type an identity-based refusal names: the role's own policies, which the
# scan judges itself
_IDENTITY = "identity-based"
# botocore: "An error occurred (CODE) when calling"; Java: "Error Code: CODE";
# Go v2: "api error CODE: message"; Go v1/Node/.NET: "CODE: message"
_CODES = (
    re.compile(r"An error occurred \(([^)]+)\)"),
    re.compile(r"Error Code: ([A-Za-z0-9.]+)"),
    re.compile(r"api error ([A-Za-z0-9]+):"),
    re.compile(r"^([A-Za-z0-9]+):"),
)


class Denial(NamedTuple):
    """A denied call; the action and ARN IAM named in its message, when it named them.

    ``behind``: the action refused is another service's, behind the call, on a resource
    the trace does not name (Secrets Manager's "Access to KMS is not allowed").
    ``outside``: what refused it, when the message names a policy other than the role's
    identity-based ones ("explicit deny in a service control policy", "no VPC endpoint
    policy allows it"): one the role's policies cannot override.
    """

    action: str | None
    resource: str | None
    behind: bool = False
    outside: str | None = None


@cache
def denied_codes() -> frozenset[str]:
    return frozenset(str(c).lower() for c in load("denied_errors.yaml")["codes"])


@cache
def refusals_behind() -> tuple[tuple[str, str], ...]:
    """(message text, action refused) of denials behind a call."""
    return tuple((str(r["message"]), str(r["action"]))
                 for r in load("denied_errors.yaml").get("behind", ()))


def denial(cause: Any) -> Denial | None:
    """The denial recorded in a call subsegment's ``cause`` (its ``exceptions``), or None."""
    if not isinstance(cause, dict):
        return None
    exceptions = cause.get("exceptions")
    if not isinstance(exceptions, list):
        return None
    codes = denied_codes()
    for exc in exceptions:
        if not isinstance(exc, dict):
            continue
        message = exc.get("message")
        message = message if isinstance(message, str) else ""
        matched = _NOT_AUTHORIZED.search(message)
        if matched:
            resource = matched.group(2)
            return Denial(matched.group(1), resource.rstrip(".") if resource else None,
                          outside=refused_by(message[matched.end():]))
        for text, action in refusals_behind():
            if text in message:
                return Denial(action, None, behind=True)
        exc_type = exc.get("type")
        if isinstance(exc_type, str) and _TYPE_PATH.split(exc_type)[-1].lower() in codes:
            return Denial(None, None)
        for pattern in _CODES:
            found = pattern.search(message)
            if found and found.group(1).lower() in codes:
                return Denial(None, None)
    return None


def refused_by(message: str) -> str | None:
    """The policy an access-denied ``message`` says refused the call, when it is not the
    principal's identity-based policies: "explicit deny in a service control policy",
    "no VPC endpoint policy allows it" (None: no such words, or the identity's)."""
    for found in _REFUSED_BY.finditer(message):
        deny, none = found.group("deny"), found.group("none")
        said = deny if deny is not None else f"{none} allows it"
        if _IDENTITY not in said:
            return said
    return None
