"""Names of declared things that several sources spell the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from leastpriv_ci.grants.model import ResolveContext


def role_arn(context: ResolveContext, name: str, path: str = "/") -> str:
    """The ARN of role ``name`` in the scanned account (``path`` like ``/service/``)."""
    path = path if path.startswith("/") else "/" + path
    path = path if path.endswith("/") else path + "/"
    return f"arn:{context.partition}:iam::{context.account}:role{path}{name}"


class Reference(NamedTuple):
    """What a ``Ref`` or ``Fn::GetAtt`` names: a logical ID, and the attribute (``None``
    for a ``Ref``; ``""`` for a ``GetAtt`` that is not the two parts it should be)."""

    logical: str
    attribute: str | None


def reference_of(value: Mapping[str, Any]) -> Reference | None:
    """``{"Ref": X}``, or ``{"Fn::GetAtt": [X, A]}`` / ``"X.A"`` (``!GetAtt X.A``)."""
    ref = value.get("Ref")
    if isinstance(ref, str):
        return Reference(ref, None)
    target = value.get("Fn::GetAtt")
    parts = target if isinstance(target, list) else (
        target.split(".", 1) if isinstance(target, str) else [])
    if parts and isinstance(parts[0], str):
        return Reference(parts[0], str(parts[1]) if len(parts) == 2 else "")
    return None
