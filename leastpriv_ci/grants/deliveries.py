"""What Lambda sends with a function's role to the targets its configuration names
(``data/lambda_deliveries.yaml``): a dead-letter queue, asynchronous destinations, the
on-failure destinations of its event source mappings.

No trace shows these calls. They are uses of the role all the same: a grant of them on
the configured target is not excess, a broader grant narrows to the target, and the
proposal keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from leastpriv_ci.bundled import load
from leastpriv_ci.grants.model import Binding, Delivery
from leastpriv_ci.policy.model import is_unresolved
from leastpriv_ci.records import Access

PRINCIPAL = "AWS Lambda ({kinds} of {functions})"


@cache
def _data() -> Mapping[str, Any]:
    data: Mapping[str, Any] = load("lambda_deliveries.yaml")
    return data


@dataclass(frozen=True)
class DeliveryAction:
    """An action Lambda calls on a target, on a resource made from the target's ARN."""

    action: str
    resource: str  # a template: {target} is the target's ARN

    def on(self, target: str) -> str:
        return self.resource.replace("{target}", target)


def delivery_actions() -> Mapping[str, tuple[DeliveryAction, ...]]:
    """The actions Lambda calls on a target, by the target's service."""
    return {service: tuple(DeliveryAction(a["action"], a["resource"]) for a in actions)
            for service, actions in _data()["actions"].items()}


def delivery_kinds() -> Mapping[str, Mapping[str, Any]]:
    """Each kind of target: its description and the services it may be."""
    return dict(_data()["kinds"])


def function_name_of(value: str) -> str:
    """The function a configuration names by name, ARN or partial ARN, maybe with a
    version or alias (``orders:live``): the name alone."""
    return value.rsplit(":function:", 1)[-1].split(":", 1)[0]


def deliveries_by_role(bindings: Iterable[Binding]) -> dict[str, tuple[Binding, ...]]:
    """The bindings that configure deliveries, by the role they run as."""
    found: dict[str, list[Binding]] = {}
    for binding in bindings:
        if binding.deliveries:
            found.setdefault(binding.role, []).append(binding)
    return {role: tuple(items) for role, items in found.items()}


def delivery_accesses(bindings: Iterable[Binding]) -> list[Access]:
    """The calls Lambda makes for ``bindings``' deliveries, as accesses of a principal
    that names them (``AWS Lambda (dead-letter queue of orders)``). A target not known
    offline, or of a service the kind does not take, is left out."""
    actions, kinds = delivery_actions(), delivery_kinds()
    by_target: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for binding in bindings:
        for delivery in binding.deliveries:
            for action in _actions(delivery, actions, kinds):
                labels, functions = by_target.setdefault(
                    (action.action, action.on(delivery.target)), (set(), set()))
                labels.add(str(kinds[delivery.kind]["description"]))
                functions.add(binding.function)
    return [Access(principal=PRINCIPAL.format(kinds=", ".join(sorted(labels)),
                                              functions=", ".join(sorted(functions))),
                   action=action, resource=resource, count=0)
            for (action, resource), (labels, functions) in sorted(by_target.items())]


def _actions(delivery: Delivery, actions: Mapping[str, tuple[DeliveryAction, ...]],
             kinds: Mapping[str, Mapping[str, Any]]) -> tuple[DeliveryAction, ...]:
    parts = delivery.target.split(":", 5)
    # One queue, topic, function, bus or bucket: Lambda takes no pattern there, and a
    # pattern would make a broad grant look used
    if is_unresolved(delivery.target) or len(parts) < 6 or parts[0] != "arn" \
            or any(c in delivery.target for c in "*?$"):
        return ()
    kind = kinds.get(delivery.kind)
    if kind is None or parts[2] not in kind["services"]:
        return ()
    return actions.get(parts[2], ())
