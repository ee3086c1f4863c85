"""Actions IAM authorizes for a call besides its own, which the trace never shows: they
are *possible* accesses of the caller, on a resource it does not name.

- KMS actions AWS calls with the caller's permissions when the call's resource is
  encrypted with a customer managed key (``kms_on_behalf.yaml``: an S3 GetObject may
  need ``kms:Decrypt``); the trace shows neither the KMS call nor the key.
- ``iam:PassRole``, for a call that may pass a role to the service it calls
  (``passed_roles.json``, found in botocore's models by ``scripts/build_passed_roles.py``:
  ``ecs:RunTask``, ``mediaconvert:CreateJob``, …); the trace does not record whether the
  request passed one, nor which.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.usage.extract import UNKNOWN, Target

HANDING_OVER = "iam:PassRole"  # authorized on the role a call hands to a service


@cache
def alongside() -> Mapping[str, tuple[str, ...]]:
    """IAM action (lower case) → the actions (the catalog's spelling) its call may need
    besides its own."""
    catalog = get_catalog()
    table = {action.lower(): tuple(catalog.canonical(k) or k for k in kms)
             for action, kms in load("kms_on_behalf.yaml")["actions"].items()}
    for action in load("passed_roles.json")["actions"]:
        table[action.lower()] = (*table.get(action.lower(), ()), HANDING_OVER)
    return table


@cache
def passing_no_role() -> Mapping[str, frozenset[str]]:
    """IAM action (lower case) → the operations (lower case) authorized as that action
    whose request names no role (S3's DeleteBucketReplication, authorized as
    ``s3:PutReplicationConfiguration``)."""
    return {action.lower(): frozenset(o.lower() for o in entry["not_by"])
            for action, entry in load("passed_roles.json")["actions"].items()
            if entry.get("not_by")}


def with_alongside(targets: list[Target], operation: str) -> list[Target]:
    """``targets`` of one call of ``operation``, then what the call may need besides
    (possible, on no known resource)."""
    table = alongside()
    extra: list[Target] = []
    for target in targets:
        if target.possible:
            continue
        key = target.action.lower()
        for action in table.get(key, ()):
            if action == HANDING_OVER and operation.lower() in passing_no_role().get(key, ()):
                continue
            found = Target(action, UNKNOWN, known=False, possible=True)
            if found not in extra:
                extra.append(found)
    return [*targets, *extra] if extra else targets
