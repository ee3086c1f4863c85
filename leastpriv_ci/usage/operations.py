"""API operation → IAM action(s): the exceptions in ``operations.yaml``, else the catalog."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import Catalog, get_catalog

DEFAULT = "default"
REQUEST_DEPENDENT = "request_dependent"
NO_PERMISSION = "no_permission"
SWITCHES_ROLE = "switches_role"
RESOURCE_KINDS = (DEFAULT, "bucket", "source")


@dataclass(frozen=True, slots=True)
class Step:
    """One IAM action an operation needs, and which of the call's resources it is on."""

    action: str  # the catalog's spelling
    resource: str = DEFAULT  # one of RESOURCE_KINDS
    versioned: str | None = None  # the action instead, when the call names a version
    resource_types: tuple[str, ...] = ()  # catalog resource types, lower case; () = "*"
    # the request may involve none of them, and is then authorized on "*"
    optionally_scoped: bool = False


class Operations:
    """Resolves (service prefix, operation) to steps, with a cache."""

    def __init__(self, raw: Mapping[str, Any], catalog: Catalog) -> None:
        self._catalog = catalog
        self._exceptions: dict[tuple[str, str], tuple[Step, ...]] = {}
        self._request_dependent: dict[tuple[str, str], tuple[Step, ...]] = {
            (prefix, operation.lower()): tuple(self._step(a) for a in actions)
            for prefix, listed in (raw.get(REQUEST_DEPENDENT) or {}).items()
            for operation, actions in listed.items()
        }
        self._no_permission = frozenset(
            (prefix, operation.lower())
            for prefix, listed in (raw.get(NO_PERMISSION) or {}).items()
            for operation in listed
        )
        self._switches_role = tuple(raw.get(SWITCHES_ROLE) or ())
        self._switching = frozenset(action.lower() for action in self._switches_role)
        for prefix, operations in raw.items():
            if prefix in (REQUEST_DEPENDENT, NO_PERMISSION, SWITCHES_ROLE):
                continue
            for operation, spec in operations.items():
                steps = tuple(self._step(s) for s in (spec if isinstance(spec, list) else [spec]))
                self._exceptions[(prefix, operation.lower())] = steps
        self._cache: dict[tuple[str, str], tuple[Step, ...] | None] = {}

    def _step(self, spec: str | Mapping[str, Any]) -> Step:
        if isinstance(spec, str):
            spec = {"action": spec}
        versioned = spec.get("versioned")
        types, optional = self._scoping(spec["action"])
        return Step(
            action=self._canonical(spec["action"]),
            resource=spec.get("resource", DEFAULT),
            versioned=self._canonical(versioned) if versioned else None,
            resource_types=types,
            optionally_scoped=optional,
        )

    def _canonical(self, action: str) -> str:
        # A data error, caught by tests: keep the spelling so the test names it.
        return self._catalog.canonical(action) or action

    def _scoping(self, action: str) -> tuple[tuple[str, ...], bool]:
        """A step's ``resource_types`` and ``optionally_scoped``, from the catalog."""
        info = self._catalog.action(action)
        if info is None:
            return (), False
        return tuple(ref.name.lower() for ref in info.resource_types), info.optionally_scoped

    def steps(self, prefix: str, operation: str) -> tuple[Step, ...] | None:
        """The steps for one call, or None when IAM has no action for it."""
        key = (prefix, operation)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._exceptions.get((prefix, operation.lower()))
        if found is None:
            name = f"{prefix}:{operation}"
            canonical = self._catalog.canonical(name)
            if canonical:
                types, optional = self._scoping(canonical)
                found = (Step(canonical, resource_types=types, optionally_scoped=optional),)
        if len(self._cache) < 100_000:
            self._cache[key] = found
        return found

    def authorized_as(self, action: str) -> tuple[str, ...]:
        """For a name IAM has no action of (``sqs:DeleteMessageBatch``), the actions that
        authorize the API operation of that name (``sqs:DeleteMessage``); () otherwise."""
        prefix, _, operation = action.partition(":")
        if not operation or self._catalog.canonical(action):
            return ()
        steps = self.steps(prefix.lower(), operation) or ()
        return tuple(dict.fromkeys(s.action for s in steps if s.action.lower() != action.lower()))

    def needs_no_permission(self, prefix: str, operation: str) -> bool:
        """Whether IAM authorizes the operation without the caller's identity policies
        (``sts:GetCallerIdentity``): no grant allows or refuses it."""
        return (prefix, operation.lower()) in self._no_permission

    def switches_role(self, action: str) -> bool:
        """Whether a call of ``action`` hands the caller another role's credentials
        (``sts:AssumeRole``): calls made with them are that role's, though a trace shows
        them as the caller's."""
        return action.lower() in self._switching

    def request_dependent(self, prefix: str, operation: str) -> tuple[Step, ...]:
        """The actions an operation may need depending on its request, each on the call's
        resources (``()``: not such an operation): traces do not say which."""
        return self._request_dependent.get((prefix, operation.lower()), ())

    def request_groups(self) -> tuple[tuple[str, ...], ...]:
        """Each distinct set of actions a request-dependent operation may need, in the
        data's order. A call needs one of its set at least on each resource it names:
        every write transaction holds an item, every PartiQL call a statement."""
        found: dict[tuple[str, ...], None] = {}
        for steps in self._request_dependent.values():
            found.setdefault(tuple(step.action for step in steps))
        return tuple(found)

    def data_actions(self) -> Iterator[str]:
        """Every action the data can produce or name (for the catalog check)."""
        for steps in self._exceptions.values():
            for step in steps:
                yield step.action
                if step.versioned:
                    yield step.versioned
        for steps in self._request_dependent.values():
            yield from (step.action for step in steps)
        yield from self._switches_role

    def data_steps(self) -> Iterator[Step]:
        for steps in self._exceptions.values():
            yield from steps


@cache
def operations() -> Operations:
    """The process-wide table."""
    return Operations(load("operations.yaml"), get_catalog())
