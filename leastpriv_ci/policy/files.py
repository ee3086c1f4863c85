"""Policy files named on the command line: a bare policy document, or a role with its
policies (the shape of ``aws iam get-role`` plus inline/managed policy documents).

Accepted shapes (JSON or YAML):

* ``{"Version": ..., "Statement": ...}`` — one policy;
* ``{"RoleName": ..., "Policies": [{"PolicyName": ..., "PolicyDocument": {...}}, ...]}``
  (``PermissionsBoundary`` in any shape :mod:`leastpriv_ci.grants.boundary` reads: a
  policy ARN, ``{PermissionsBoundaryArn}``, a policy document or
  ``{PolicyName, PolicyDocument}``);
* ``{"PolicyName": ..., "PolicyDocument": {...}}`` — one named policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.boundary import parse_boundary
from leastpriv_ci.loaders import LoadError, line_of, load_file
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Policy
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin


@dataclass(frozen=True)
class PolicyFile:
    """The policies one file declares, and the boundary it names (if any)."""

    policies: tuple[Policy, ...]
    boundary: Policy | None = None


def load_document(path: Path) -> Mapping[str, Any]:
    """The JSON/YAML object in a policy file named on the command line; errors name the
    file and line."""
    shown = str(path)
    try:
        document = load_file(path)
    except LoadError as exc:
        where = f"{shown}:{exc.line}" if exc.line else shown
        raise UserError(f"cannot parse policy file: {exc}; fix the JSON/YAML syntax",
                        where=where) from None
    except OSError as exc:
        raise UserError(f"cannot read policy file: {exc.strerror or exc}", where=shown) from None
    if not isinstance(document, Mapping):
        raise UserError("a policy file must hold a JSON/YAML object (a policy document or a "
                        "role with Policies)", where=shown)
    return document


def load_policy_file(path: Path, *, notices: Notices | None = None) -> PolicyFile:
    """Load and validate the policies in one file; errors name the file and line."""
    shown = str(path)
    document = load_document(path)
    origin = Origin(file=shown)
    if "Statement" in document:
        return PolicyFile((parse_policy(document, name=path.name, origin=origin,
                                        notices=notices),))
    if "PolicyDocument" in document and "Policies" not in document:
        return PolicyFile((_named(document, 0, path, notices),))
    if "Policies" in document:
        raw = document["Policies"]
        if not isinstance(raw, list):
            raise UserError("Policies must be a list of {PolicyName, PolicyDocument}",
                            where=_at(shown, document))
        policies = tuple(_named(item, i, path, notices) for i, item in enumerate(raw))
        boundary = parse_boundary(document.get("PermissionsBoundary"),
                                  Origin(file=shown, line=line_of(document)), notices)
        return PolicyFile(policies, boundary)
    raise UserError("not a policy: expected a Statement key, or a role with Policies "
                    "[{PolicyName, PolicyDocument}]", where=_at(shown, document))


def _named(item: object, index: int, path: Path, notices: Notices | None) -> Policy:
    shown = str(path)
    if not isinstance(item, Mapping) or not isinstance(item.get("PolicyDocument"), Mapping):
        raise UserError(f"policy {index + 1} must be an object with a PolicyDocument object",
                        where=_at(shown, item))
    name = item.get("PolicyName") or f"{path.name}#{index + 1}"
    if not isinstance(name, str):
        raise UserError(f"policy {index + 1}: PolicyName must be a string",
                        where=_at(shown, item))
    return parse_policy(item["PolicyDocument"], name=name,
                        origin=Origin(file=shown, policy_name=name), notices=notices)


def _at(shown: str, value: object) -> str:
    line = line_of(value)
    return f"{shown}:{line}" if line else shown
