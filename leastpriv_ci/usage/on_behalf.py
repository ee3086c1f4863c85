"""KMS actions AWS may call with the caller's permissions for a call on a resource
encrypted with a customer managed key (``kms_on_behalf.yaml``).

The trace shows the call (an S3 GetObject), never the KMS call nor the key: the KMS
actions are *possible* accesses of the caller, on a key it does not name.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.usage.extract import UNKNOWN, Target


@cache
def kms_on_behalf() -> Mapping[str, tuple[str, ...]]:
    """IAM action (lower case) → the KMS actions (the catalog's spelling) its call may need."""
    catalog = get_catalog()
    return {action.lower(): tuple(catalog.canonical(k) or k for k in kms)
            for action, kms in load("kms_on_behalf.yaml")["actions"].items()}


def with_kms(targets: list[Target]) -> list[Target]:
    """``targets``, then the KMS actions AWS may call for them (possible, on no known key)."""
    table = kms_on_behalf()
    extra: list[Target] = []
    for target in targets:
        if target.possible:
            continue
        for action in table.get(target.action.lower(), ()):
            found = Target(action, UNKNOWN, known=False, possible=True)
            if found not in extra:
                extra.append(found)
    return [*targets, *extra] if extra else targets
