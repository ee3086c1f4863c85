"""The configured CloudFormation stack as deployed: its resources' physical IDs.

``ListStackResources`` of ``stack-name`` tells which logical ID a traced function was
deployed from (:mod:`~leastpriv_ci.principals`) and the names CloudFormation generated
for the template's resources (:mod:`~leastpriv_ci.grants.intrinsics`). It is read once
per scan.
"""

from __future__ import annotations

from typing import Any

from leastpriv_ci.errors import ServiceError
from leastpriv_ci.grants.model import StackResource
from leastpriv_ci.notices import Notices

DELETED = "DELETE_COMPLETE"


def stack_resources(session: Any, stack_name: str, notices: Notices) -> tuple[StackResource, ...]:
    """The resources of stack ``stack_name`` that have a physical ID and are not deleted;
    none, with the warning ``stack-not-found``, when the stack does not exist. A denial
    or another failure is a :class:`ServiceError` naming the permission."""
    from botocore.exceptions import ClientError

    client = session.client("cloudformation")
    found: list[StackResource] = []
    try:
        for page in client.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for resource in page.get("StackResourceSummaries", []):
                physical = resource.get("PhysicalResourceId")
                # (a stack rolled back, or a nested one deleted, lists what it deleted)
                if physical and resource.get("ResourceStatus") != DELETED:
                    found.append(StackResource(resource["LogicalResourceId"],
                                               resource.get("ResourceType", ""), physical))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("AccessDenied", "AccessDeniedException"):
            raise ServiceError("CloudFormation denied ListStackResources: the scanning role "
                               "needs cloudformation:ListStackResources") from None
        message = exc.response.get("Error", {}).get("Message", "")
        if "does not exist" in message:
            notices.add("stack-not-found", "the configured CloudFormation stack does not exist "
                        "in this account and region; check stack-name", stack_name)
            return ()
        raise ServiceError(f"CloudFormation ListStackResources failed for stack "
                           f"{stack_name!r}: {message or code}") from None
    return tuple(found)
