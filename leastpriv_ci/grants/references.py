"""Small shared pieces of declared grants: role ARNs and managed policies named by ARN."""

from __future__ import annotations

from dataclasses import replace

from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.policy.model import ALLOW, Policy, Statement, unresolved
from leastpriv_ci.records import Origin


def role_arn(context: ResolveContext, name: str, path: str = "/") -> str:
    """The ARN of role ``name`` in the scanned account (``path`` like ``/service/``)."""
    path = path if path.startswith("/") else "/" + path
    path = path if path.endswith("/") else path + "/"
    return f"arn:{context.partition}:iam::{context.account}:role{path}{name}"


def managed_policy(arn: str, origin: Origin) -> Policy:
    """A managed policy named by ARN, whose document is not in the repository.

    Its content is stood in for by one statement whose action is *unresolved*, so the
    policy is never silently dropped; ``origin.policy_arn`` lets a later stage (the IAM
    API or the bundled AWS-managed set) put the real document in its place.
    """
    here = replace(origin, policy_arn=arn, policy_name=arn.rsplit("/", 1)[-1])
    statement = Statement(
        effect=ALLOW,
        actions=(unresolved(f"managed policy {arn}"),),
        resources=("*",),
        origin=here,
    )
    return Policy(name=arn.rsplit("/", 1)[-1], statements=(statement,), origin=here)
