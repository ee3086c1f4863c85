"""Hand-written traces shaped like each SDK's output, with answers written by hand."""

from __future__ import annotations

import json
import re

import pytest

from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from leastpriv_ci.usage.principal_map import load_principal_map
from tests.usage_helpers import (
    USAGE,
    accesses,
    aws_call,
    expected,
    lambda_document,
    raw_traces,
)

SDK_FIXTURES = ["node_v2", "node_v3", "java_v1", "java_v2", "dotnet", "go_v2", "adot", "ruby"]


def _principal_map(name: str) -> dict[str, str]:
    path = USAGE / f"{name}.principal_map.json"
    return dict(load_principal_map(path)) if path.exists() else {}


@pytest.mark.parametrize("name", SDK_FIXTURES)
def test_sdk_shaped_trace_gives_the_hand_written_answer(name: str) -> None:
    observation = observe(raw_traces(USAGE / f"{name}.json"), principal_map=_principal_map(name))
    assert accesses(observation) == expected(USAGE / f"{name}.expected.json")


@pytest.mark.parametrize("name", SDK_FIXTURES)
def test_each_access_names_the_region_its_calls_recorded(name: str) -> None:
    text = (USAGE / f"{name}.json").read_text()
    (region,) = set(re.findall(r'"region": "([a-z0-9-]+)"', text))
    observation = observe(raw_traces(USAGE / f"{name}.json"), principal_map=_principal_map(name))
    found = [a for usage in observation.principals.values() for a in usage.accesses]
    assert found
    assert {(a.regions, a.region_known) for a in found} == {((region,), True)}


@pytest.mark.parametrize(("recorded", "regions"), [
    (None, ()), ("eu-west-1", ("eu-west-1",)), ("no-such-region-9", ()), (["eu-west-1"], ()),
    ("EU-WEST-1", ())])
def test_a_region_is_recorded_only_when_aws_has_it(recorded: object,
                                                   regions: tuple[str, ...]) -> None:
    fields: dict[str, object] = {"table_name": "orders"}
    call = aws_call("c" * 16, "DynamoDB", "GetItem", **fields)
    if recorded is None:
        del call["aws"]["region"]  # type: ignore[attr-defined]
    else:
        call["aws"]["region"] = recorded  # type: ignore[index]
    function = "arn:aws:lambda:us-east-1:111122223333:function:fn"
    doc = json.dumps(lambda_document(function, call))
    (access,) = observe([RawTrace("1-a-b", (doc,), "t")]).principals[function].accesses
    assert access.regions == regions
    assert access.region_known is bool(regions)
    assert access.to_json()["regions"] == list(regions)


@pytest.mark.parametrize("name", ["seed-tool-trace1", "seed-tool-trace2"])
def test_real_shared_trace_gives_the_hand_written_answer(name: str) -> None:
    # copies of /work/shared/data/xray (real X-Ray output of the tool we replace)
    observation = observe(raw_traces(USAGE / f"{name}.json"))
    assert accesses(observation) == expected(USAGE / f"{name}.expected.json")
    assert observation.traces == 1
    assert observation.window is not None


def test_principal_map_role_sets_the_role() -> None:
    observation = observe(raw_traces(USAGE / "java_v1.json"),
                          principal_map=_principal_map("java_v1"))
    answer = json.loads((USAGE / "java_v1.expected.json").read_text())
    (usage,) = observation.principals.values()
    assert usage.role == answer["role"]


def test_lambda_principal_keeps_role_from_map() -> None:
    observation = observe(
        raw_traces(USAGE / "java_v2.json"),
        principal_map={"ledger": "arn:aws:iam::121212121212:role/ledger-role"},
    )
    usage = observation.principals["arn:aws:lambda:us-east-2:121212121212:function:ledger"]
    assert usage.role == "arn:aws:iam::121212121212:role/ledger-role"


def test_unmapped_compute_segment_is_counted_unattributed() -> None:
    observation = observe(raw_traces(USAGE / "java_v1.json"))
    assert observation.principals == {}
    assert observation.notices.count("unattributed") == 6
    (notice,) = [n for n in observation.notices.items() if n.code == "unattributed"]
    assert notice.examples == ("inventory-service",)


def test_api_gateway_invoke_is_not_a_principals_call() -> None:
    observation = observe(raw_traces(USAGE / "node_v2.json"))
    assert all(":apigateway:" not in p for p in observation.principals)
    assert observation.notices.count("unattributed") == 0


def test_unknown_operation_and_service_are_counted() -> None:
    java = observe(raw_traces(USAGE / "java_v2.json"))
    # TransactWriteItems: no such action, and which item actions it used is not recorded
    assert java.notices.count("request-dependent-operation") == 1
    assert java.notices.count("unknown-operation") == 0
    made_up = RawTrace("1-x", (json.dumps({
        "id": "s1", "name": "f", "origin": "AWS::Lambda::Function",
        "aws": {"function_arn": "arn:aws:lambda:us-east-1:111122223333:function:f"},
        "subsegments": [{"id": "c1", "name": "DynamoDB",
                         "aws": {"operation": "FlushEverything", "table_name": "t"}}]}),),
        "made-up.json#1")
    unknown = observe([made_up])
    assert unknown.notices.count("unknown-operation") == 1
    assert unknown.notices.items()[0].examples == ("dynamodb:FlushEverything",)
    go = observe(raw_traces(USAGE / "go_v2.json"))
    assert go.notices.count("unknown-service") == 1
    assert go.notices.count("unknown-resource") == 4


def test_observation_json_follows_the_contract() -> None:
    observation = observe(raw_traces(USAGE / "node_v3.json"))
    doc = observation.to_json()
    assert doc["schema"] == 1
    principal = doc["principals"]["arn:aws:lambda:us-west-2:444455556666:function:report-builder"]
    assert principal["traces"] == 1
    assert {"action", "resource", "count", "denied", "resource_known", "regions",
            "region_known"} <= set(principal["accesses"][0])

