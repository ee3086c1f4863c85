"""A CDK app's stacks read as deployed: the names CloudFormation generated in each, for
the cross-stack references between them (moto; tests/data/cdk_multi is real cdk synth
output)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from leastpriv_ci.cli import main
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.grants.declared import discover, load_declared
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.notices import Notices

APP = Path(__file__).parent / "data" / "cdk_multi" / "cdk.out"
STACKS = {"Data": "shop-pr-7-data", "Api": "shop-pr-7-api"}  # as manifest.json names them


def _deploy(aws: Emulator, *stacks: str) -> dict[str, str]:
    """Deploy the app's ``stacks`` (CDK's bootstrap check left out, which the emulator
    cannot run); logical ID → physical ID of their resources."""
    cloudformation = aws.client("cloudformation")
    physical: dict[str, str] = {}
    for stack in stacks:
        template = json.loads((APP / f"{stack}.template.json").read_text())
        template.pop("Parameters")
        template.pop("Rules")
        cloudformation.create_stack(StackName=STACKS[stack], TemplateBody=json.dumps(template),
                                    Capabilities=["CAPABILITY_IAM"])
        physical.update({r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                         cloudformation.list_stack_resources(StackName=STACKS[stack])[
                             "StackResourceSummaries"]})
    return physical


@pytest.fixture
def checkout(aws: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    shutil.copytree(APP, tmp_path / "cdk.out")
    return tmp_path


def _trace(aws: Emulator, physical: dict[str, str]) -> dict[str, Any]:
    """Function CreateOrder writing an order, its receipt and a shipping message."""
    now = time.time() - 5
    function = aws.client("lambda").get_function(FunctionName=physical["CreateOrder18B1EE4A"])

    def call(index: int, name: str, aws_fields: dict[str, str]) -> dict[str, Any]:
        return {"id": f"{index:016x}", "name": name, "namespace": "aws",
                "start_time": now, "end_time": now + 0.01,
                "http": {"response": {"status": 200}},
                "aws": {"region": aws.region, **aws_fields}}

    return {"id": "a1b2c3d4e5f60718", "name": "CreateOrder",
            "trace_id": f"1-{int(now):08x}-0123456789abcdef01234567",
            "start_time": now, "end_time": now + 1, "origin": "AWS::Lambda::Function",
            "aws": {"function_arn": function["Configuration"]["FunctionArn"]},
            "subsegments": [
                call(1, "dynamodb", {"operation": "PutItem",
                                     "table_name": physical["OrdersA9B65338"]}),
                call(2, "s3", {"operation": "PutObject", "key": "r/1.pdf",
                               "bucket_name": physical["Receipts59C0D3E0"]}),
                call(3, "sqs", {"operation": "SendMessage",
                                "queue_url": physical["Shipping768E971C"]})]}


def test_the_stacks_of_a_cdk_app_are_read_as_deployed(
        aws: Emulator, checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    physical = _deploy(aws, "Data", "Api")
    document = _trace(aws, physical)
    aws.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])
    # as the action scans, with AWS access and no stack-name: the manifest names the stacks
    code = main(["scan", "--policy-paths", "cdk.out", "--since", "10m", "--settle-time", "0",
                 "--fail-on", "missing", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert not [w for w in report["warnings"] if w["code"] in (
        "unresolved-value", "stack-unread", "stack-not-deployed")]
    findings = {(f["action"], f["resource"]) for f in report["findings"]
                if f["kind"] == "excess" and any(
                    p.endswith(physical["CreateOrder18B1EE4A"]) for p in f["principals"])}
    table = f"arn:aws:dynamodb:{aws.region}:{aws.account}:table/{physical['OrdersA9B65338']}"
    # the table Data exports and Api imports is the deployed one: a grant on it never
    # used is excess, decided
    assert ("dynamodb:DeleteItem", table) in findings
    assert not [f for f in report["findings"] if f["kind"] == "missing"]
    assert not [f for f in report["findings"] if f["conditional"]
                and not f["kind"].startswith(("platform", "unobserved"))]


def _load(checkout: Path, session: Any, account: str = "123456789012",
          region: str = "us-east-1") -> tuple[set[str], Notices]:
    """The resources the app's roles are granted on, as the scan loads them."""
    notices = Notices()
    grants = load_declared(discover(checkout), ResolveContext(region=region, account=account),
                           notices, root=checkout, session=session)
    return {resource for role in grants.roles.values() for policy in role.policies
            for statement in policy.statements for resource in statement.resources}, notices


def test_a_stack_not_deployed_is_a_warning_and_the_others_are_read(
        aws: Emulator, checkout: Path) -> None:
    physical = _deploy(aws, "Data")
    resources, notices = _load(checkout, boto3.Session(region_name=aws.region))
    queue = physical["Shipping768E971C"].rsplit("/", 1)[-1]
    assert f"arn:aws:sqs:{aws.region}:{aws.account}:{queue}" in resources
    [warning] = [n for n in notices.items() if n.code == "stack-not-deployed"]
    assert warning.examples == (f"shop-pr-7-api ({aws.region})",)
    assert notices.count("unresolved-value") == 0


def test_a_role_that_may_not_read_the_stacks_is_asked_once(aws: Emulator,
                                                           checkout: Path) -> None:
    _deploy(aws, "Data", "Api")
    cloudformation = aws.client("cloudformation")

    class Session:  # every ListStackResources denied; the stub answers once only
        def client(self, service: str, **_: Any) -> Any:
            return cloudformation if service == "cloudformation" else aws.client(service)

    with Stubber(cloudformation) as stub:
        stub.add_client_error("list_stack_resources", service_error_code="AccessDenied",
                              http_status_code=403)
        resources, notices = _load(checkout, Session())
        stub.assert_no_pending_responses()
    [warning] = [n for n in notices.items() if n.code == "stack-unread"]
    assert "allow cloudformation:ListStackResources on those stacks" in warning.message
    assert any(r.startswith("<unresolved:") for r in resources)


def test_a_stack_of_another_account_is_not_read(aws: Emulator, checkout: Path) -> None:
    _deploy(aws, "Data", "Api")

    class Session:  # the manifest's account is not the scanned one: nothing is asked
        def client(self, service: str, **_: Any) -> Any:
            assert service != "cloudformation"
            return aws.client(service)

    resources, notices = _load(checkout, Session(), account="999999999999")
    assert any(r.startswith("<unresolved:") for r in resources)
    assert not notices.count("stack-unread") and not notices.count("stack-not-deployed")


def test_offline_an_import_says_why_the_scanned_export_is_unknown(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    shutil.copytree(APP, tmp_path / "cdk.out")
    notices = Notices()
    load_declared(discover(tmp_path), ResolveContext(), notices, root=tmp_path)
    [unresolved] = [n for n in notices.items() if n.code == "unresolved-value"]
    imports = [e for e in unresolved.examples if "ImportValue shop-pr-7-data:" in e]
    assert imports, unresolved.examples
    # not "scan the template that exports it": it is scanned; its value is generated
    assert all("exported by another scanned template, where it is not known offline ("
               in e and "CloudFormation generates it" in e for e in imports)
    # both files named as findings name them, from the checkout's root
    assert all(e.startswith("cdk.out/Api.template.json:")
               and "not known offline (cdk.out/Data.template.json:" in e for e in imports)


SERVERLESS = """\
service: orders
frameworkVersion: "3"
provider:
  name: aws
  runtime: python3.12
  stage: dev
  region: us-east-1
  iam:
    role:
      statements:
        - Effect: Allow
          Action: [dynamodb:GetItem, dynamodb:PutItem]
          Resource: !GetAtt OrdersTable.Arn
functions:
  create:
    handler: app.create
resources:
  Resources:
    OrdersTable:
      Type: AWS::DynamoDB::Table
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
        KeySchema: [{AttributeName: id, KeyType: HASH}]
"""


def test_a_serverless_service_s_generated_names_are_read_from_its_stack(
        aws: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    (tmp_path / ".git").mkdir()
    (tmp_path / "serverless.yml").write_text(SERVERLESS)
    session = boto3.Session(region_name=aws.region)
    resources, notices = _load(tmp_path, session)
    assert notices.count("unresolved-value") and notices.count("stack-not-deployed")
    # deployed as the framework names its stack, SERVICE-STAGE (the table as it would)
    table = {"Type": "AWS::DynamoDB::Table", "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}}
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName="orders-dev", TemplateBody=json.dumps(
        {"Resources": {"OrdersTable": table}}))
    [deployed] = cloudformation.list_stack_resources(StackName="orders-dev")[
        "StackResourceSummaries"]
    resources, notices = _load(tmp_path, session)
    assert f"arn:aws:dynamodb:{aws.region}:{aws.account}:table/" \
        f"{deployed['PhysicalResourceId']}" in resources
    assert not notices.count("unresolved-value") and not notices.count("stack-not-deployed")


class _Recording:
    """A session on the emulator that records the region of each CloudFormation client."""

    def __init__(self, aws: Emulator) -> None:
        self._aws = aws
        self.regions: list[str | None] = []

    def client(self, service: str, region_name: str | None = None) -> Any:
        if service == "cloudformation":
            self.regions.append(region_name)
        return self._aws.client(service)


def _move_to(checkout: Path, aws: Emulator, region: str) -> None:
    """The app's manifest puts its stacks in ``region``."""
    manifest = checkout / "cdk.out" / "manifest.json"
    manifest.write_text(manifest.read_text().replace(f"/{aws.region}\"", f"/{region}\""))


@pytest.mark.parametrize(("region", "asked"), [
    ("eu-west-1", "eu-west-1"),  # the stack's environment's region
    ("unknown-region", "ca-central-1"),  # environment-agnostic: the scan's
])
def test_a_stack_is_read_and_resolved_in_its_environment_s_region(
        aws: Emulator, checkout: Path, region: str, asked: str) -> None:
    physical = _deploy(aws, "Data")
    _move_to(checkout, aws, region)
    session = _Recording(aws)
    resources, _ = _load(checkout, session, region="ca-central-1")
    assert session.regions == [asked, asked]
    # its resources' ARNs are in the region CloudFormation deploys it to
    table = physical["OrdersA9B65338"]
    assert f"arn:aws:dynamodb:{asked}:{aws.account}:table/{table}" in resources


def test_a_stack_in_a_region_botocore_does_not_know_is_not_asked_for(
        aws: Emulator, checkout: Path) -> None:
    table = _deploy(aws, "Data")["OrdersA9B65338"]
    _move_to(checkout, aws, "xx-evil-1")  # a name that would make the endpoint
    session = _Recording(aws)
    resources, notices = _load(checkout, session, region="ca-central-1")
    assert session.regions == []  # nor the scan's region: a stack of that name there is another
    [unread] = [n for n in notices.items() if n.code == "stack-unread"]
    assert all("xx-evil-1" in example for example in unread.examples)
    assert not [r for r in resources if table in r]  # never a name from elsewhere
    assert [r for r in resources if r.startswith("<unresolved:ImportValue")]


def test_a_stack_that_cannot_be_reached_is_a_warning(aws: Emulator, checkout: Path) -> None:
    from botocore.exceptions import EndpointConnectionError

    class Session:  # CloudFormation's endpoint does not answer
        def client(self, service: str, **_: Any) -> Any:
            client = aws.client(service)
            if service == "cloudformation":
                def fail(*_: Any, **__: Any) -> Any:
                    raise EndpointConnectionError(endpoint_url="https://cloudformation.test")
                client.get_paginator = fail
            return client

    resources, notices = _load(checkout, Session())
    [warning] = [n for n in notices.items() if n.code == "stack-unread"]
    assert "Could not connect" in warning.examples[0]
    assert any(r.startswith("<unresolved:") for r in resources)


def _asking(aws: Emulator) -> tuple[Any, list[str]]:
    """A session on the emulator, and the stacks its CloudFormation is asked for."""
    asked: list[str] = []
    cloudformation = aws.client("cloudformation")
    cloudformation.meta.events.register(
        "provide-client-params.cloudformation.ListStackResources",
        lambda params, **_: asked.append(params["StackName"]))

    class Session:
        def client(self, service: str, **_: Any) -> Any:
            return cloudformation if service == "cloudformation" else aws.client(service)

    return Session(), asked


def test_a_stack_is_read_once_however_many_files_deploy_as_it(
        aws: Emulator, tmp_path: Path) -> None:
    # a pull request may hold any number of copies of a service: one stack, one read
    (tmp_path / ".git").mkdir()
    for copy in range(3):
        (tmp_path / f"copy{copy}").mkdir()
        (tmp_path / f"copy{copy}" / "serverless.yml").write_text(SERVERLESS)
    session, asked = _asking(aws)
    _, notices = _load(tmp_path, session)
    assert asked == ["orders-dev"]
    assert notices.count("stack-not-deployed") == 1


@pytest.mark.parametrize("unknown", [
    "  stage: ${env:STAGE}\n",  # the stage is a guess ("dev"): staging may be another
    "  stackName: ${env:STACK}\n",  # the stack's name is not known at all
    # the stage is the deploy's --stage, which the scan was not given ("dev" stands in)
    "  stage: ${opt:stage}\n",
])
def test_a_serverless_stack_whose_name_is_not_known_is_not_read(
        aws: Emulator, tmp_path: Path, unknown: str) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "serverless.yml").write_text(
        SERVERLESS.replace("  stage: dev\n", unknown))
    aws.client("cloudformation").create_stack(StackName="orders-dev", TemplateBody=json.dumps(
        {"Resources": {"OrdersTable": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}}}}))
    session, asked = _asking(aws)
    resources, notices = _load(tmp_path, session)
    assert asked == []  # no stack of a guessed name is taken for the service's
    assert any(r.startswith("<unresolved:") for r in resources)
    assert not notices.count("stack-unread")


def test_a_stack_unread_for_another_cause_than_a_denial_is_not_said_denied(
        aws: Emulator, checkout: Path) -> None:
    _deploy(aws, "Data", "Api")
    cloudformation = aws.client("cloudformation")

    class Session:  # CloudFormation throttles every call: the role may read the stacks
        def client(self, service: str, **_: Any) -> Any:
            return cloudformation if service == "cloudformation" else aws.client(service)

    with Stubber(cloudformation) as stub:
        # still throttled after botocore's retries: the other stack there is not asked
        stub.add_client_error("list_stack_resources", service_error_code="Throttling",
                              service_message="Rate exceeded", http_status_code=400)
        _, notices = _load(checkout, Session())
        stub.assert_no_pending_responses()
    [warning] = [n for n in notices.items() if n.code == "stack-unread"]
    assert "may not read" not in warning.message
    assert [e for e in warning.examples if "kept throttling" in e] == list(warning.examples)


@pytest.mark.parametrize("name", [
    "shop\\ud800",  # a lone surrogate (JSON's "\ud800"): no text HTTP can carry
    # an ARN, maybe another account's stack: its denial would stop every other read
    "arn:aws:cloudformation:us-east-1:444455556666:stack/shop/1a2b",
    "7-shop", "shop_data", "s" * 129,
])
def test_a_stack_name_cloudformation_cannot_hold_is_not_asked_for(
        aws: Emulator, checkout: Path, name: str) -> None:
    manifest = checkout / "cdk.out" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"shop-pr-7-data"', f'"{name}"'))
    asked: list[str] = []

    class Session:
        def client(self, service: str, region_name: str | None = None) -> Any:
            client = aws.client(service)
            if service == "cloudformation":
                asked.append(service)
            return client

    _, notices = _load(checkout, Session())
    assert len(asked) == 1  # shop-pr-7-api only
    [warning] = [n for n in notices.items() if n.code == "stack-not-deployed"]
    refused = [e for e in warning.examples if e.endswith("(no name CloudFormation gives a stack)")]
    assert len(refused) == 1 and set(warning.examples) - set(refused) == {
        f"shop-pr-7-api ({aws.region})"}


def test_a_stack_not_deployed_in_its_environment_s_region_is_said_so(
        aws: Emulator, checkout: Path) -> None:
    # deployed in the scan's region, but the manifest puts it in eu-west-1, where it is
    # asked for: the warning says where it was not found
    _deploy(aws, "Data", "Api")
    _move_to(checkout, aws, "eu-west-1")

    class Session:
        def client(self, service: str, region_name: str | None = None) -> Any:
            return aws.client(service, region_name=region_name or aws.region)

    _, notices = _load(checkout, Session())
    [warning] = [n for n in notices.items() if n.code == "stack-not-deployed"]
    assert "scanned account and region" not in warning.message
    assert set(warning.examples) == {"shop-pr-7-data (eu-west-1)", "shop-pr-7-api (eu-west-1)"}


def test_after_an_endpoint_that_does_not_answer_its_region_is_not_asked_again(
        aws: Emulator, checkout: Path) -> None:
    # botocore retries a connection for minutes: the app's other stacks there would each
    # wait as long again for the same failure
    from botocore.exceptions import ConnectTimeoutError

    asked: list[str | None] = []

    class Session:
        def client(self, service: str, region_name: str | None = None) -> Any:
            client = aws.client(service)
            if service == "cloudformation":
                def fail(*_: Any, **__: Any) -> Any:
                    asked.append(region_name)
                    raise ConnectTimeoutError(endpoint_url="https://cloudformation.test")
                client.get_paginator = fail
            return client

    resources, notices = _load(checkout, Session())
    assert asked == [aws.region]  # two stacks there, one asked
    [warning] = [n for n in notices.items() if n.code == "stack-unread"]
    assert "Connect timeout" in warning.examples[0]
    assert any(r.startswith("<unresolved:") for r in resources)


def test_with_another_account_s_credentials_no_stack_is_read(
        aws: Emulator, checkout: Path) -> None:
    table = _deploy(aws, "Data")["OrdersA9B65338"]
    manifest = checkout / "cdk.out" / "manifest.json"
    manifest.write_text(manifest.read_text().replace(f"aws://{aws.account}/",
                                                     "aws://unknown-account/"))
    asked: list[str] = []

    class Session:
        def client(self, service: str, region_name: str | None = None) -> Any:
            asked.append(service)
            return aws.client(service)

    # --traces FILE --account 444455556666 with credentials of the emulator's account:
    # its stacks of these names are another deployment's
    resources, notices = _load(checkout, Session(), account="444455556666")
    assert "cloudformation" not in asked and "sts" in asked
    [unread] = [n for n in notices.items() if n.code == "stack-unread"]
    assert f"account {aws.account}'s, the scan's is 444455556666" in unread.examples[0]
    assert not [r for r in resources if table in r]
    # the scan's own account: read
    resources, notices = _load(checkout, Session(), account=aws.account)
    assert [r for r in resources if table in r] and not notices.count("stack-unread")
