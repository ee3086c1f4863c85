"""The normalised policy model: statements that remember where they came from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from leastpriv_ci.records import Origin

ALLOW = "Allow"
DENY = "Deny"
VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
# What IAM takes as a Sid: ASCII letters and digits (MalformedPolicyDocument otherwise)
_SID = re.compile(r"[A-Za-z0-9]+")


def iam_sid(sid: str | None) -> bool:
    """Whether ``sid`` is a Sid IAM takes in an identity policy (A-Z, a-z, 0-9)."""
    return sid is not None and _SID.fullmatch(sid) is not None

# A value the infrastructure code computes but this tool could not resolve (an import,
# an SSM parameter...). It is never silently dropped nor widened: matching treats it as
# *unknown*, which makes a decision conditional.
UNRESOLVED_PREFIX = "<unresolved:"


def unresolved(description: str) -> str:
    """Spell an unresolvable value so that it can sit in an action or resource list."""
    return f"{UNRESOLVED_PREFIX}{description}>"


def is_unresolved(value: str) -> bool:
    return value.startswith(UNRESOLVED_PREFIX)


# Condition block: operator -> condition key -> values (always a tuple of strings).
Conditions = Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Statement:
    """One normalised policy statement.

    ``actions``/``resources`` hold the patterns of ``Action``/``Resource``, or of
    ``NotAction``/``NotResource`` when ``not_actions``/``not_resources`` is set.
    """

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_actions: bool = False
    not_resources: bool = False
    conditions: Conditions = field(default_factory=dict)
    sid: str | None = None
    principal: object | None = None  # Principal as written (a resource policy's), if any
    not_principal: object | None = None  # NotPrincipal as written, likewise
    version: str = VERSION_2012
    origin: Origin = field(default_factory=Origin)
    # Conditions taken as held, which the scan cannot decide offline: a resource policy's
    # on the principal's organization, held for a use that succeeded
    assumed: Conditions = field(default_factory=dict)

    @classmethod
    def unknown(cls, marker: str, origin: Origin | None = None) -> Statement:
        """A statement standing for grants not known offline: ``marker`` (a value from
        :func:`unresolved`) as its action and its resource."""
        return cls(effect=ALLOW, actions=(marker,), resources=(marker,),
                   origin=origin if origin is not None else Origin())

    @property
    def is_allow(self) -> bool:
        return self.effect == ALLOW

    def to_json(self) -> dict[str, object]:
        """The statement as IAM JSON (without its origin)."""
        doc: dict[str, object] = {}
        if self.sid:
            doc["Sid"] = self.sid
        doc["Effect"] = self.effect
        doc["NotAction" if self.not_actions else "Action"] = _one_or_list(self.actions)
        doc["NotResource" if self.not_resources else "Resource"] = _one_or_list(self.resources)
        if self.conditions:
            doc["Condition"] = {
                op: {key: _one_or_list(values) for key, values in keys.items()}
                for op, keys in self.conditions.items()
            }
        return doc


@dataclass(frozen=True)
class Policy:
    """A named policy document: its statements and where it came from."""

    name: str
    statements: tuple[Statement, ...]
    version: str = VERSION_2012
    origin: Origin = field(default_factory=Origin)

    def to_json(self) -> dict[str, object]:
        return {"Version": self.version, "Statement": [s.to_json() for s in self.statements]}

    @classmethod
    def unknown(cls, marker: str, origin: Origin, name: str | None = None) -> Policy:
        """A policy standing for grants not known offline: one :meth:`Statement.unknown`
        of ``marker``, named ``name`` (else the marker)."""
        return cls(name=marker if name is None else name,
                   statements=(Statement.unknown(marker, origin),), origin=origin)


# A role no scanned file declares, of which files attach some policies (the rest unknown)
PARTIAL = "partial"


@dataclass(frozen=True)
class Role:
    """An IAM role as declared or attached: its identity policies and boundary."""

    key: str  # role ARN when known, else a stable name (template logical ID, file path)
    name: str | None
    policies: tuple[Policy, ...]
    boundary: Policy | None = None
    origin: Origin = field(default_factory=Origin)
    source: str = "declared"  # "declared", "attached" (the account's), or PARTIAL
    # Allow statements of resource-based policies (a bucket's, a key's…) naming the role
    # (grants/resource_policies.py): never the role's grants, only why a use no statement
    # of its own allows may still succeed; and the files' Deny statements for anyone, why
    # a call its own policies allow may still be refused
    resource_grants: tuple[Statement, ...] = ()

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(s for p in self.policies for s in p.statements)


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)
