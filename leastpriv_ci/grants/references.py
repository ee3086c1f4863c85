"""Names of declared things that several sources spell the same way."""

from __future__ import annotations

from leastpriv_ci.grants.model import ResolveContext


def role_arn(context: ResolveContext, name: str, path: str = "/") -> str:
    """The ARN of role ``name`` in the scanned account (``path`` like ``/service/``)."""
    path = path if path.startswith("/") else "/" + path
    path = path if path.endswith("/") else path + "/"
    return f"arn:{context.partition}:iam::{context.account}:role{path}{name}"
