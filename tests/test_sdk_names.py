"""The service IDs botocore's models give (``sdk_names.json``, written by
``scripts/build_sdk_names.py``): Node, Go and Java v2 name a subsegment by them."""

from __future__ import annotations

import json

import botocore
import botocore.session

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from leastpriv_ci.usage.services import service_names
from scripts.build_sdk_names import build
from tests.usage_helpers import aws_call, lambda_document

FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:agent"


def test_the_packaged_names_are_what_the_installed_botocore_gives() -> None:
    packaged = load("sdk_names.json")
    built = build()
    if packaged["botocore"] == botocore.__version__:
        assert packaged == built
    else:  # another botocore within the pinned range: the packaged names stay good data
        changed = set(packaged["spellings"].items()) ^ set(built["spellings"].items())
        assert len(changed) <= 0.1 * len(packaged["spellings"])


def test_every_name_of_a_botocore_service_resolves_to_one_service() -> None:
    # Python's endpoint prefix, botocore's name and the service ID (Node, Go, Java v2)
    # never disagree, and where one resolves they all do
    names = service_names()
    session = botocore.session.get_session()
    disagree, partial, resolved = [], [], 0
    for service in session.get_available_services():
        metadata = session.get_service_model(service).metadata
        found = {label: names.prefix(label) for label in
                 (service, metadata.get("serviceId") or service, metadata["endpointPrefix"])}
        prefixes = set(found.values())
        if len(prefixes - {None}) > 1:
            disagree.append((service, found))
        elif None in prefixes and len(prefixes) > 1:
            partial.append((service, found))
        resolved += None not in prefixes
    assert disagree == []
    assert partial == []
    assert resolved > 420


def test_service_ids_that_are_no_iam_prefix_resolve() -> None:
    names = service_names()
    cases = {"Bedrock Agent Runtime": "bedrock", "ApiGatewayV2": "apigateway",
             "EFS": "elasticfilesystem", "Timestream Write": "timestream",
             "Keyspaces": "cassandra", "Elastic Load Balancing v2": "elasticloadbalancing",
             "SageMaker FeatureStore Runtime": "sagemaker", "Location": "geo",
             "IoT Data Plane": "iot", "Resource Groups Tagging API": "tag"}
    assert {label: names.prefix(label) for label in cases} == cases
    catalog = get_catalog()
    assert all(catalog.has_service(p) for p in load("sdk_names.json")["spellings"].values())


def test_a_node_call_to_bedrock_agent_runtime_is_observed() -> None:
    # Node v3's subsegment name is the serviceId; before, it was an unknown service and
    # the call went uncounted, so a grant of bedrock:InvokeAgent looked unused
    call = aws_call("c1", "Bedrock Agent Runtime", "InvokeAgent")
    trace = RawTrace("1-5f000000-000000000000000000000001",
                     (json.dumps(lambda_document(FUNCTION, call)),), "t#1")
    usage = observe([trace]).principals[FUNCTION]
    assert [a.action for a in usage.accesses] == ["bedrock:InvokeAgent"]


def test_the_botocore_services_under_a_prefix_are_those_iam_authorizes_there() -> None:
    # IAM Toolbox signs as iam, but none of its operations is an IAM action: its rule set
    # must not make IAM's calls undecided
    services = load("sdk_names.json")["botocore_services"]
    assert services["iam"] == ["iam"]
    assert services["elasticfilesystem"] == ["efs"]
    assert services["timestream"] == ["timestream-query", "timestream-write"]
    assert set(services["bedrock"]) >= {"bedrock", "bedrock-runtime", "bedrock-agent-runtime"}
