"""A role's ``PermissionsBoundary`` in the shapes role files write it.

One parser for ``scan`` (plain role files, account exports) and ``explain``, so both
see the same boundary:

* a policy ARN, or ``{"PermissionsBoundaryArn": ARN, ...}`` (``aws iam get-role``): the
  managed policy (bundled, read from the same file, or an unresolved placeholder);
* a policy document ``{"Version", "Statement"}``;
* a named policy ``{"PolicyName", "PolicyDocument"}`` (the document may be JSON text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.managed import decode_document, managed_policy
from leastpriv_ci.loaders import line_of
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Policy
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

NAME = "PermissionsBoundary"
_SHAPES = ("a policy ARN, {PermissionsBoundaryArn: ARN}, a policy document "
           "{Version, Statement} or {PolicyName, PolicyDocument}")


def parse_boundary(
    value: object,
    origin: Origin,
    notices: Notices | None = None,
    *,
    resolve_arn: Callable[[str], Policy] | None = None,
) -> Policy | None:
    """The boundary policy ``value`` declares; ``None`` when it declares none.

    ``origin`` is where the role is declared. An ARN becomes ``resolve_arn(arn)``
    (default: the bundled managed policy or a placeholder). A value of any other shape
    is a :class:`UserError` naming the file and line.
    """
    if value is None:
        return None
    where = _where(origin, value)
    if isinstance(value, Mapping) and "PermissionsBoundaryArn" in value:
        value = value["PermissionsBoundaryArn"]
        if not isinstance(value, str):
            raise UserError(f"{NAME}: PermissionsBoundaryArn must be a policy ARN string",
                            where=where)
    if isinstance(value, str):
        if not value.startswith("arn:"):
            raise UserError(f"{NAME} {value!r} is not a policy ARN; give {_SHAPES}",
                            where=where)
        return resolve_arn(value) if resolve_arn else managed_policy(value, origin, notices)
    if isinstance(value, Mapping) and "Statement" in value:
        here = replace(origin, line=line_of(value) or origin.line, policy_name=NAME)
        return parse_policy(value, name=NAME, origin=here, notices=notices)
    if isinstance(value, Mapping) and "PolicyDocument" in value:
        name = value.get("PolicyName", NAME)
        if not isinstance(name, str):
            raise UserError(f"{NAME}: PolicyName must be a string", where=where)
        document = decode_document(value["PolicyDocument"], f"{where} ({name})")
        here = replace(origin, line=line_of(value) or origin.line, policy_name=name)
        return parse_policy(document, name=name, origin=here, notices=notices)
    raise UserError(f"{NAME} must be {_SHAPES}", where=where)


def _where(origin: Origin, value: object) -> str:
    line = line_of(value) or origin.line
    file = origin.file or "<role>"
    return f"{file}:{line}" if line else file
