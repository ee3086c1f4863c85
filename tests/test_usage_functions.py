"""Lambda calls naming a version or alias in their own Qualifier parameter."""

from __future__ import annotations

import json

import pytest

from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import accesses

FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:caller"
TARGET = "arn:aws:lambda:us-east-1:111111111111:function:target"


def _invoke(trace_id: str = "1-a", **fields: object) -> RawTrace:
    call = {"id": "c1", "name": "Lambda", "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": "Invoke", "region": "us-east-1", **fields}}
    segment = {"id": "s1", "name": "caller", "origin": "AWS::Lambda::Function",
               "start_time": 1.0, "end_time": 2.0, "aws": {"function_arn": FUNCTION},
               "subsegments": [call]}
    return RawTrace(trace_id, (json.dumps(segment),), "t.json#1")


@pytest.mark.parametrize(("fields", "resource"), [
    ({"function_name": "target", "qualifier": "live"}, f"{TARGET}:live"),
    ({"function_name": "target", "qualifier": "7"}, f"{TARGET}:7"),
    ({"function_name": TARGET, "qualifier": "live"}, f"{TARGET}:live"),
    # $LATEST is what the unqualified ARN invokes
    ({"function_name": "target", "qualifier": "$LATEST"}, TARGET),
    # qualified in its name as well: not qualified twice
    ({"function_name": "target:live", "qualifier": "live"}, f"{TARGET}:live"),
    # not a version or alias name (the API refuses it): the function itself
    ({"function_name": "target", "qualifier": "a:b*"}, TARGET),
    ({"function_name": "target", "qualifier": ["live"]}, TARGET),
    ({"function_name": "target"}, TARGET),
])
def test_the_qualifier_names_the_version_or_alias_invoked(
        fields: dict[str, object], resource: str) -> None:
    found = accesses(observe([_invoke(**fields)]))
    assert found == {FUNCTION: {("lambda:InvokeFunction", resource, 1, False, True)}}


def test_calls_with_other_qualifiers_are_told_apart() -> None:
    traces = [_invoke(f"1-{n}", function_name="target", qualifier=q)
              for n, q in enumerate(("live", "live", "beta"))]
    assert accesses(observe(traces)) == {FUNCTION: {
        ("lambda:InvokeFunction", f"{TARGET}:live", 2, False, True),
        ("lambda:InvokeFunction", f"{TARGET}:beta", 1, False, True),
    }}


@pytest.mark.parametrize("function", ["billing", "Notifications", "payments-fn",
                                      "aws-managedblockchain", "AmazonManagedBlockchain",
                                      "ConnectParticipant", "participant-connect"])
def test_adots_invoke_named_after_a_function_named_like_a_service_is_still_an_invoke(
        function: str) -> None:
    # ADOT names a Lambda invoke after the function; "billing" is also an IAM prefix,
    # whose actions hold no Invoke: the invoke is recognised by its operation and field.
    # Managed Blockchain's and execute-api's actions hold an Invoke: a name that reads as
    # their SDK client or service ID ("AmazonManagedBlockchain", "ConnectParticipant")
    # still comes after the function-name field
    call = {"id": "c1", "name": function, "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": "Invoke", "region": "us-east-1"},
            "metadata": {"default": {"rpc.system": "aws-api",
                                     "aws.lambda.function.name": function}}}
    segment = {"id": "s1", "name": "caller", "origin": "AWS::Lambda::Function",
               "start_time": 1.0, "end_time": 2.0, "aws": {"function_arn": FUNCTION},
               "subsegments": [call]}
    found = accesses(observe([RawTrace("1-a", (json.dumps(segment),), "t.json#1")]))
    arn = f"arn:aws:lambda:us-east-1:111111111111:function:{function}"
    assert found == {FUNCTION: {("lambda:InvokeFunction", arn, 1, False, True)}}
