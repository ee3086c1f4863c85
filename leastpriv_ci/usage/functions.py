"""Lambda: the version or alias a call names in its own ``Qualifier`` parameter."""

from __future__ import annotations

import re

from leastpriv_ci.usage import generic
from leastpriv_ci.usage.extract import Call, Target

QUALIFIER_FIELDS = ("qualifier",)
# A version number or an alias name (Lambda's Qualifier pattern, less $LATEST)
_QUALIFIER = re.compile(r"[A-Za-z0-9_-]{1,128}")


def targets(call: Call) -> list[Target]:
    """The data-driven targets, with a function named without a qualifier qualified by the
    call's ``Qualifier``: IAM authorizes a call on a version or alias on that one's ARN
    (``function:NAME:QUALIFIER``), as when the qualifier is part of the function's name.
    ``$LATEST`` is what the unqualified ARN stands for."""
    found = generic.targets(call)
    qualifier = _qualifier(call)
    if qualifier is None:
        return found
    return [t._replace(resource=f"{t.resource}:{qualifier}") if _unqualified(t.resource) else t
            for t in found]


def _qualifier(call: Call) -> str | None:
    for name in QUALIFIER_FIELDS:
        value = call.fields.text(name)
        if value is not None and _QUALIFIER.fullmatch(value):
            return value
    return None


def _unqualified(resource: str) -> bool:
    """A function ARN without a version or alias: ``arn:P:lambda:R:A:function:NAME``."""
    parts = resource.split(":")
    return len(parts) == 7 and parts[2] == "lambda" and parts[5] == "function"
