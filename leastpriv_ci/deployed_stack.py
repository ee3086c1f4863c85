"""CloudFormation stacks as deployed: their resources' physical IDs.

``ListStackResources`` of ``stack-name`` tells which logical ID a traced function was
deployed from (:mod:`~leastpriv_ci.principals`) and the names CloudFormation generated
for the template's resources (:mod:`~leastpriv_ci.grants.intrinsics`). It is read once
per scan. The other stacks of a scanned CDK app, and nested stacks, are read the same way
(:mod:`~leastpriv_ci.grants.declared`).
"""

from __future__ import annotations

from typing import Any

from leastpriv_ci.errors import THROTTLED_CODES, ServiceError
from leastpriv_ci.grants.model import StackResource
from leastpriv_ci.notices import Notices

DENIED_CODES = ("AccessDenied", "AccessDeniedException")
DELETED = "DELETE_COMPLETE"


class StackDenied(ServiceError):
    """The scanning role may not list the stack's resources."""


class StackUnreachable(ServiceError):
    """CloudFormation's endpoint did not answer, or kept throttling (after botocore's
    retries): asking again there now is no better."""


def stack_resources(session: Any, stack_name: str, notices: Notices) -> tuple[StackResource, ...]:
    """The resources of the configured stack ``stack_name`` that have a physical ID and
    are not deleted; none, with the warning ``stack-not-found``, when the stack does not
    exist. A denial or another failure is a :class:`ServiceError` naming the permission."""
    found = read_stack(session, stack_name)
    if found is None:
        notices.add("stack-not-found", "the configured CloudFormation stack does not exist "
                    "in this account and region; check stack-name", stack_name)
        return ()
    return found


def read_stack(session: Any, stack: str, region: str | None = None
               ) -> tuple[StackResource, ...] | None:
    """The resources of ``stack`` (a name or stack ID) that have a physical ID and are
    not deleted, in ``region`` (else the session's); None when no such stack exists. A
    denial is a :class:`StackDenied`, an endpoint that does not answer or keeps
    throttling a :class:`StackUnreachable`, another failure a :class:`ServiceError`."""
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as EndpointError

    if not stack.isascii():  # no stack's name or ID is (and a lone surrogate fails to encode)
        return None
    client = (session.client("cloudformation") if region is None
              else session.client("cloudformation", region_name=region))
    found: list[StackResource] = []
    try:
        for page in client.get_paginator("list_stack_resources").paginate(StackName=stack):
            for resource in page.get("StackResourceSummaries", []):
                physical = resource.get("PhysicalResourceId")
                # (a stack rolled back, or a nested one deleted, lists what it deleted)
                if physical and resource.get("ResourceStatus") != DELETED:
                    found.append(StackResource(resource["LogicalResourceId"],
                                               resource.get("ResourceType", ""), physical))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in DENIED_CODES:
            raise StackDenied("CloudFormation denied ListStackResources: the scanning role "
                              "needs cloudformation:ListStackResources") from None
        message = exc.response.get("Error", {}).get("Message", "")
        if "does not exist" in message:
            return None
        if code in THROTTLED_CODES:  # still, after botocore's retries
            raise StackUnreachable(f"CloudFormation kept throttling ListStackResources "
                                   f"for stack {stack!r}") from None
        raise ServiceError(f"CloudFormation ListStackResources failed for stack "
                           f"{stack!r}: {message or code}") from None
    except (EndpointError, HTTPClientError) as exc:
        raise StackUnreachable(f"CloudFormation ListStackResources failed for stack "
                               f"{stack!r}: {exc}") from None
    except BotoCoreError as exc:  # credentials, a malformed answer
        raise ServiceError(f"CloudFormation ListStackResources failed for stack "
                           f"{stack!r}: {exc}") from None
    return tuple(found)
