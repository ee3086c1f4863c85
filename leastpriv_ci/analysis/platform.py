"""Permissions AWS uses on a role's behalf (``data/platform_permissions.yaml``).

No trace shows Lambda writing the function's logs or the X-Ray daemon sending
segments, so a grant of those is ``platform``, never ``excess``, and the proposal keeps
it. Which groups apply is data (``default``) plus the user's toggles
(:class:`PlatformOptions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from leastpriv_ci.bundled import load
from leastpriv_ci.errors import UserError
from leastpriv_ci.policy.model import Statement

ON, OFF, AUTO = "on", "off", "auto"
MODES = (ON, OFF, AUTO)


@dataclass(frozen=True)
class PlatformPermission:
    """Actions AWS uses, and the resource the proposal keeps for them."""

    actions: tuple[str, ...]
    resource: str  # a template, "*", or DECLARED


DECLARED = "declared"


@dataclass(frozen=True)
class PlatformGroup:
    """One reason AWS acts on a role's behalf (Lambda logs, an SQS poller...)."""

    name: str
    description: str
    compute: frozenset[str]
    default: str
    permissions: tuple[PlatformPermission, ...]
    source: str = ""
    generate: bool = False  # added by `generate`, which has no declared policy

    @property
    def actions(self) -> frozenset[str]:
        """The group's actions, lower-cased (IAM action names are case-insensitive)."""
        return frozenset(a.lower() for p in self.permissions for a in p.actions)


@dataclass(frozen=True)
class PlatformOptions:
    """Which platform groups apply.

    ``enabled=False`` switches them all off (every unused grant is then excess).
    ``modes`` overrides a group's data default (``on``/``off``/``auto``) everywhere;
    ``roles`` switches groups on for one role (role key → group names), e.g. when the
    template shows the function has an SQS event source or an encrypted environment.
    """

    enabled: bool = True
    modes: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, object] | None, *, where: str = "platform"
    ) -> PlatformOptions:
        """Options from a config mapping: ``{"enabled": bool, GROUP: "on"|"off"|"auto"}``.

        Unknown group names or modes raise :class:`UserError` naming the key.
        """
        if not settings:
            return cls()
        groups = platform_groups()
        enabled = settings.get("enabled", True)
        if not isinstance(enabled, bool):
            raise UserError(f"{where}.enabled must be true or false, got {enabled!r}")
        modes: dict[str, str] = {}
        for key, value in settings.items():
            if key == "enabled":
                continue
            if key not in groups:
                raise UserError(
                    f"{where}: unknown platform group {key!r}; known groups: "
                    f"{', '.join(sorted(groups))}"
                )
            mode = {True: ON, False: OFF}.get(value, value) if isinstance(value, bool) else value
            if mode not in MODES:
                raise UserError(f"{where}.{key} must be one of {', '.join(MODES)}, got {value!r}")
            modes[key] = str(mode)
        return cls(enabled=enabled, modes=modes)


def compute_kind(principal: str) -> str | None:
    """The kind of compute a principal ARN names (``lambda``, ``ecs``, ``ec2``...)."""
    parts = principal.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts[2] or None


def arn_fields(principal: str) -> dict[str, str] | None:
    """partition/region/account/name of a principal ARN, for resource templates."""
    parts = principal.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    rest = parts[5]
    if parts[2] == "lambda" and rest.startswith("function:"):
        name = rest[len("function:"):].split(":", 1)[0]
    else:
        name = rest.rsplit("/", 1)[-1].split(":", 1)[0]
    return {"partition": parts[1], "region": parts[3], "account": parts[4], "name": name}


def applicable_groups(
    role: str,
    principals: Iterable[str],
    statements: Iterable[Statement],
    options: PlatformOptions | None = None,
) -> tuple[PlatformGroup, ...]:
    """The platform groups that apply to a role, given who runs as it and what it grants."""
    options = options or PlatformOptions()
    if not options.enabled:
        return ()
    kinds = {compute_kind(p) for p in principals}
    explicit = [
        {a.lower() for a in s.actions}
        for s in statements
        if s.is_allow and not s.not_actions
    ]
    switched_on = options.roles.get(role, frozenset())
    found = []
    for group in platform_groups().values():
        if not group.compute & kinds:
            continue
        mode = ON if group.name in switched_on else options.modes.get(group.name, group.default)
        if mode == ON or (mode == AUTO and any(group.actions <= names for names in explicit)):
            found.append(group)
    return tuple(found)


@cache
def platform_groups() -> Mapping[str, PlatformGroup]:
    """Every platform group in the data file, by name."""
    return groups_from(load("platform_permissions.yaml"))


def groups_from(document: Mapping[str, Any]) -> dict[str, PlatformGroup]:
    """Build the groups from a loaded ``platform_permissions.yaml`` document."""
    groups = {}
    for name, raw in document["groups"].items():
        default = str(raw.get("default", ON))
        if default not in MODES:
            raise ValueError(f"platform group {name}: default must be one of {MODES}")
        groups[str(name)] = PlatformGroup(
            name=str(name),
            description=" ".join(str(raw["description"]).split()),
            compute=frozenset(raw["compute"]),
            default=default,
            permissions=tuple(
                PlatformPermission(tuple(p["actions"]), str(p["resource"]))
                for p in raw["permissions"]
            ),
            source=str(raw.get("source", "")),
            generate=bool(raw.get("generate", False)),
        )
    return groups
