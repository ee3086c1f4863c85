"""Rebuild ``leastpriv_ci/data/passed_roles.json`` from botocore's service models.

Run after changing ``passed_roles.yaml`` or upgrading botocore, from the repository root:
``python -m scripts.build_passed_roles``. It lists every call whose request may name an
IAM role for the service to use (``mediaconvert:CreateJob``'s ``Role``,
``textract:StartDocumentAnalysis``'s ``NotificationChannel.RoleArn``), by the rules of
``passed_roles.yaml``, with the members that name it. ``tests/test_passed_roles_data.py``
checks the file against the installed botocore.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
import orjson

from leastpriv_ci.analysis.regions import botocore_loader
from leastpriv_ci.bundled import load
from leastpriv_ci.usage.operations import operations
from leastpriv_ci.usage.services import service_names

OUTPUT = Path(__file__).resolve().parent.parent / "leastpriv_ci" / "data" / "passed_roles.json"
ALSO = "(passed_roles.yaml)"  # the member list of a call the rules file adds itself
_DEPTH = 16  # input shapes nest a dozen deep at most; recursive ones stop at a repeat


@dataclass(frozen=True)
class Rules:
    """``passed_roles.yaml``, compiled."""

    role_member: re.Pattern[str]
    not_an_iam_role: re.Pattern[str]
    skipped_operations: re.Pattern[str]
    skipped_members: re.Pattern[str]
    skipped_services: frozenset[str]
    not_passing: Mapping[str, str]
    also: Mapping[str, str]

    @classmethod
    def load(cls) -> Rules:
        raw = load("passed_roles.yaml")
        return cls(
            role_member=re.compile(raw["role_member"]),
            not_an_iam_role=re.compile(raw["not_an_iam_role"]),
            skipped_operations=re.compile(raw["skipped_operations"]),
            skipped_members=re.compile(raw["skipped_members"]),
            skipped_services=frozenset(raw["skipped_services"]),
            not_passing=dict(raw["not_passing"]),
            also=dict(raw["also"]),
        )


def _names_a_role(rules: Rules, name: str, member: Any) -> bool:
    from botocore.model import ListShape, StringShape, StructureShape

    if not rules.role_member.search(name):
        return False
    shape = member.member if isinstance(member, ListShape) else member
    if isinstance(shape, StructureShape):  # EC2's IamInstanceProfile: {Arn, Name}
        return "instanceprofile" in name.lower()
    if not isinstance(shape, StringShape) or shape.enum:
        return False
    documentation = f"{member.documentation or ''} {shape.documentation or ''}"
    return not rules.not_an_iam_role.search(documentation)


def role_members(rules: Rules, shape: Any) -> list[str]:
    """The dotted paths of the input members (of structure ``shape``) that name a role."""
    from botocore.model import ListShape, MapShape, StructureShape

    found: list[str] = []
    stack: list[tuple[Any, tuple[str, ...], frozenset[str]]] = [(shape, (), frozenset())]
    while stack:
        current, path, seen = stack.pop()
        if len(path) > _DEPTH:
            continue
        if isinstance(current, ListShape):
            stack.append((current.member, path, seen))
        elif isinstance(current, MapShape):
            stack.append((current.value, path, seen))
        elif isinstance(current, StructureShape) and current.name not in seen:
            inner = seen | {current.name}
            for name, member in current.members.items():
                if rules.skipped_members.search(name):
                    continue
                if _names_a_role(rules, name, member):
                    found.append(".".join((*path, name)))
                stack.append((member, (*path, name), inner))
    return sorted(set(found))


def _prefix(metadata: Mapping[str, Any], service: str, operation: str) -> str | None:
    """The IAM prefix whose catalog holds the botocore service's operation."""
    names = service_names()
    for spelling in (service, metadata.get("signingName"), metadata.get("endpointPrefix"),
                     metadata.get("serviceId")):
        prefix = names.prefix(spelling) if spelling else None
        if prefix is not None and operations().steps(prefix, operation):
            return prefix
    return None


@dataclass(frozen=True)
class Operation:
    """One botocore operation: its IAM actions, and the input members naming a role."""

    service: str
    name: str
    actions: tuple[str, ...]  # () when the catalog has none for it
    members: tuple[str, ...]


def scan(rules: Rules) -> Iterator[Operation]:
    """Every operation of every botocore service, less the skipped services'."""
    from botocore.model import ServiceModel

    loader = botocore_loader()
    for service in loader.list_available_services("service-2"):
        model = ServiceModel(loader.load_service_model(service, "service-2"), service)
        for operation in model.operation_names:
            prefix = _prefix(model.metadata, service, operation)
            if prefix in rules.skipped_services:
                continue
            members: list[str] = []
            if not rules.skipped_operations.match(operation):
                shape = model.operation_model(operation).input_shape
                members = role_members(rules, shape) if shape is not None else []
            steps = operations().steps(prefix, operation) or () if prefix else ()
            yield Operation(service, operation, tuple(s.action for s in steps), tuple(members))


def build(rules: Rules) -> dict[str, Any]:
    """The document to write. It maps each IAM action to the role members of its
    operations, and to the operations authorized as the same action that name no role
    (S3's DeleteBucketReplication is ``s3:PutReplicationConfiguration``): those pass none.
    It lists the operations naming a role that have no IAM action (``no_iam_action``)."""
    found = list(scan(rules))
    members: dict[str, set[str]] = {}
    passing: dict[str, set[str]] = {}  # the operations found to name a role, per action
    unmapped: list[str] = []
    for operation in found:
        if operation.members and not operation.actions:
            unmapped.append(f"{operation.service}.{operation.name}")
        for action in operation.actions if operation.members else ():
            if action not in rules.not_passing:
                members.setdefault(action, set()).update(operation.members)
                passing.setdefault(action, set()).add(operation.name)
    for action in rules.also:
        members.setdefault(action, set()).add(ALSO)
    # An operation name that names a role in one service and none in another under the
    # same prefix (RDS's CreateDBCluster, DocumentDB's) may pass one
    others: dict[str, set[str]] = {}
    for operation in found:
        for action in operation.actions if not operation.members else ():
            if action in members and action not in rules.also \
                    and operation.name not in passing.get(action, ()):
                others.setdefault(action, set()).add(operation.name)
    return {
        "schema": 1,
        "botocore": botocore.__version__,
        "actions": {action: {"members": sorted(members[action]),
                             **({"not_by": sorted(others[action])} if action in others else {})}
                    for action in sorted(members)},
        "no_iam_action": sorted(unmapped),
    }


def main() -> int:
    document = build(Rules.load())
    unmapped = document["no_iam_action"]
    OUTPUT.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {OUTPUT}: {len(document['actions'])} calls, botocore {botocore.__version__}")
    if unmapped:
        print(f"{len(unmapped)} operations naming a role have no IAM action: "
              + ", ".join(unmapped), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
