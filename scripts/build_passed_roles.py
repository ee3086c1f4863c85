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
            also=dict(raw["also"]),
        )


def _loader() -> Any:
    from botocore.loaders import Loader

    # botocore's own models only: one under ~/.aws/models must not change the data
    return Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH],
                  include_default_search_paths=False)


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


def scan(rules: Rules) -> Iterator[tuple[str, str, list[str]]]:
    """(IAM action, botocore service, the role members) for every call found, and
    (service.operation, "", members) for one with no IAM action."""
    from botocore.model import ServiceModel

    loader = _loader()
    for service in loader.list_available_services("service-2"):
        model = ServiceModel(loader.load_service_model(service, "service-2"), service)
        for operation in model.operation_names:
            if rules.skipped_operations.match(operation):
                continue
            shape = model.operation_model(operation).input_shape
            members = role_members(rules, shape) if shape is not None else []
            if not members:
                continue
            prefix = _prefix(model.metadata, service, operation)
            if prefix is None:
                yield f"{service}.{operation}", "", members
                continue
            if prefix in rules.skipped_services:
                continue
            for step in operations().steps(prefix, operation) or ():
                yield step.action, service, members


def build(rules: Rules) -> tuple[dict[str, Any], list[str]]:
    """The document to write, and the operations found that have no IAM action."""
    actions: dict[str, set[str]] = {}
    unmapped: list[str] = []
    for action, service, members in scan(rules):
        if not service:
            unmapped.append(action)
            continue
        actions.setdefault(action, set()).update(members)
    for action in rules.also:
        actions.setdefault(action, set()).add(ALSO)
    document = {
        "schema": 1,
        "botocore": botocore.__version__,
        "actions": {action: sorted(actions[action]) for action in sorted(actions)},
    }
    return document, unmapped


def main() -> int:
    document, unmapped = build(Rules.load())
    OUTPUT.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {OUTPUT}: {len(document['actions'])} calls, botocore {botocore.__version__}")
    if unmapped:
        print(f"{len(unmapped)} operations naming a role have no IAM action: "
              + ", ".join(unmapped), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
