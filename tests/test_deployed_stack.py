"""Names CloudFormation generated, read from the configured stack as deployed (moto)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from leastpriv_ci import deployed_stack
from leastpriv_ci.cli import main
from leastpriv_ci.deployed_stack import stack_resources
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.grants import declared
from leastpriv_ci.grants.cdk_assembly import CdkStack
from leastpriv_ci.grants.declared import (
    STACK_TEMPLATE_UNKNOWN,
    _nested_region,
    discover,
    load_declared,
)
from leastpriv_ci.grants.model import ResolveContext, StackResource
from leastpriv_ci.notices import Notices

STACK = "orders-staging"
TEMPLATE: dict[str, Any] = {  # nothing named: CloudFormation names every resource
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"}},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "FnRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "data", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                     "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
                    {"Effect": "Allow", "Action": "sqs:SendMessage",
                     "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]}}]}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"}}},
    },
}


def _segment(function_arn: str, table: str, queue_url: str, region: str) -> dict[str, Any]:
    now = time.time() - 5

    def call(index: int, name: str, aws: dict[str, str]) -> dict[str, Any]:
        return {"id": f"{index:016x}", "name": name, "namespace": "aws",
                "start_time": now, "end_time": now + 0.01,
                "http": {"response": {"status": 200}},
                "aws": {"region": region, **aws}}

    return {"id": "a1b2c3d4e5f60718", "name": "Fn",
            "trace_id": f"1-{int(now):08x}-0123456789abcdef01234567",
            "start_time": now, "end_time": now + 1, "origin": "AWS::Lambda::Function",
            "aws": {"function_arn": function_arn},
            "subsegments": [call(1, "DynamoDB", {"operation": "GetItem", "table_name": table}),
                            call(2, "SQS", {"operation": "SendMessage", "queue_url": queue_url})]}


@pytest.fixture
def deployed(aws: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template deployed as stack orders-staging, a checkout holding it, and a trace
    of its function reading the table and sending to the queue, in X-Ray and in a file."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "template.json").write_text(json.dumps(TEMPLATE, indent=1))
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE),
                                Capabilities=["CAPABILITY_IAM"])
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
    function = aws.client("lambda").get_function(FunctionName=physical["Fn"])
    document = _segment(function["Configuration"]["FunctionArn"], physical["Table"],
                        physical["Queue"], aws.region)
    (tmp_path / "traces.jsonl").write_text(json.dumps(document) + "\n")
    assert aws.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])[
        "UnprocessedTraceSegments"] == []
    return tmp_path


def _scan(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code = main(["scan", "--policy-paths", "template.json", "--fail-on", "missing",
                 "--format", "json", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def test_generated_names_are_read_from_the_deployed_stack(
        deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # as the action scans: X-Ray over a window, with the AWS access the stack is read with
    report = _scan(capsys, "--since", "10m", "--settle-time", "0", "--stack-name", STACK)
    [table] = [f["resource"] for f in report["findings"] if f["action"] == "dynamodb:PutItem"]
    assert table.startswith("arn:aws:dynamodb:") and f":table/{STACK}-Table-" in table
    found = {(f["kind"], f["action"], f["conditional"]) for f in report["findings"]
             if not f["kind"].startswith(("platform", "unobserved"))}
    # GetItem and SendMessage were used as granted; PutItem is granted on that table,
    # never used: excess, decided, not "may be"
    assert found == {("excess", "dynamodb:PutItem", False)}
    assert not any(w["code"] == "unresolved-value" for w in report["warnings"])


def test_without_the_stack_the_generated_names_stay_unresolved(
        deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # offline (trace files, declared policies): nothing reads from AWS; the function is
    # still found, by the name CloudFormation generated in the configured stack
    report = _scan(capsys, "--traces", "traces.jsonl", "--stack-name", STACK)
    [unresolved] = [w for w in report["warnings"] if w["code"] == "unresolved-value"]
    assert any("read from the deployed stack (stack-name or a CDK app's manifest, in a scan "
               "with AWS access)"
               in example for example in unresolved["examples"])
    missing = {(f["action"], f["conditional"]) for f in report["findings"]
               if f["kind"] == "missing"}
    assert missing == {("dynamodb:GetItem", True), ("sqs:SendMessage", True)}



def _queue_arns(root: Path, files: dict[str, str], stack: str = STACK
                ) -> tuple[dict[str, str], Notices]:
    """Each file's role's queue grant, the stack deployed with its queue named."""
    (root / ".git").mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    queue = StackResource("Queue", "AWS::SQS::Queue",
                          f"https://sqs.us-east-1.amazonaws.com/123456789012/{stack}-Queue-1X2Y")
    notices = Notices()
    grants = load_declared(discover(root), ResolveContext(stack_name=stack, deployed={
        "Queue": queue}), notices, root=root)
    return {role.origin.file or "": next(
        r for p in role.policies for s in p.statements for r in s.resources
        if "sqs" in r or "Queue" in r) for role in grants.roles.values()}, notices


QUEUE_TEMPLATE = json.dumps({"Resources": {
    "Queue": {"Type": "AWS::SQS::Queue"},
    "FnRole": TEMPLATE["Resources"]["FnRole"]}})
DEPLOYED_QUEUE = f"arn:aws:sqs:us-east-1:123456789012:{STACK}-Queue-1X2Y"


def test_the_one_template_is_the_stack_s(tmp_path: Path) -> None:
    arns, _ = _queue_arns(tmp_path, {"template.json": QUEUE_TEMPLATE})
    assert arns == {"template.json": DEPLOYED_QUEUE}


def test_of_several_templates_none_is_taken_for_the_stack_s(tmp_path: Path) -> None:
    arns, notices = _queue_arns(tmp_path, {"a/template.json": QUEUE_TEMPLATE,
                                           "b/template.json": QUEUE_TEMPLATE})
    assert set(arns.values()) == {"<unresolved:GetAtt Queue.Arn>"}
    [warning] = [n for n in notices.items() if n.code == STACK_TEMPLATE_UNKNOWN]
    assert warning.examples == (f"{STACK}: a/template.json, b/template.json",)


def test_a_cdk_stack_of_that_name_is_the_stack_s(tmp_path: Path) -> None:
    manifest = json.dumps({"version": "36.0.0", "artifacts": {
        name: {"type": "aws:cloudformation:stack", "environment": "aws://unknown/unknown",
               "properties": {"templateFile": f"{name}.template.json"}}
        for name in (STACK, "other")}})
    arns, notices = _queue_arns(tmp_path, {
        # another stack's, or a copy: not it (its role under another ID, kept apart)
        "template.json": QUEUE_TEMPLATE.replace("FnRole", "OtherRole"),
        f"cdk.out/{STACK}.template.json": QUEUE_TEMPLATE,
        "cdk.out/other.template.json": QUEUE_TEMPLATE,
        "cdk.out/manifest.json": manifest, "cdk.out/cdk.out": '{"version": "36.0.0"}'})
    unresolved = "<unresolved:GetAtt Queue.Arn>"
    assert sorted(arns.values()) == [unresolved, unresolved, DEPLOYED_QUEUE]
    assert [file for file, arn in arns.items() if arn == DEPLOYED_QUEUE] == [
        f"cdk.out/{STACK}.template.json"]
    assert notices.count(STACK_TEMPLATE_UNKNOWN) == 0


NESTED_ID = "StoreNestedStackStoreNestedStackResourceA43BCFC0"
STORE_TEMPLATE = json.dumps({"Resources": {  # a queue and a role sending to it
    "Queue": {"Type": "AWS::SQS::Queue"},
    "StoreRole": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": TEMPLATE["Resources"]["FnRole"]["Properties"][
            "AssumeRolePolicyDocument"],
        "Policies": [{"PolicyName": "send", "PolicyDocument": {
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]}}]}}}})


class _Session:
    """A boto3 session's part the scan uses, on the emulator."""

    def __init__(self, aws: Emulator) -> None:
        self._aws = aws

    def client(self, service: str, **_: Any) -> Any:  # the emulator's region only
        return self._aws.client(service)


def _cdk_app_with_a_nested_stack(aws: Emulator, root: Path, region: str | None = None
                                 ) -> tuple[str, ...]:
    """cdk.out of stack Api whose nested stack Store holds a queue and a role granting
    on it, deployed as Api in the emulator (its nested template uploaded as an asset),
    in ``region`` (else the emulator's); the nested template's file in the checkout."""
    region = region or aws.region
    (root / ".git").mkdir()
    folder = root / "cdk.out"
    folder.mkdir()
    nested_file = "ApiStore6970A0F6.nested.template.json"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="cdk-assets")
    s3.put_object(Bucket="cdk-assets", Key="store.json", Body=STORE_TEMPLATE.encode())
    parent = {"Resources": {NESTED_ID: {
        "Type": "AWS::CloudFormation::Stack",
        "Properties": {"TemplateURL": "https://s3.amazonaws.com/cdk-assets/store.json"},
        "Metadata": {"aws:asset:path": nested_file, "aws:asset:property": "TemplateURL"}}}}
    (folder / "Api.template.json").write_text(json.dumps(parent))
    (folder / nested_file).write_text(STORE_TEMPLATE)
    (folder / "cdk.out").write_text('{"version": "36.0.0"}')
    (folder / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {
        "Api": {"type": "aws:cloudformation:stack",
                "environment": f"aws://{aws.account}/{region}",
                "properties": {"templateFile": "Api.template.json"}}}}))
    cloudformation = aws.client("cloudformation", region_name=region)
    cloudformation.create_stack(StackName="Api", TemplateBody=json.dumps(parent))
    [nested] = cloudformation.list_stack_resources(StackName="Api")["StackResourceSummaries"]
    queue = cloudformation.list_stack_resources(StackName=nested["PhysicalResourceId"])[
        "StackResourceSummaries"]
    return (f"cdk.out/{nested_file}",
            next(r["PhysicalResourceId"] for r in queue if r["LogicalResourceId"] == "Queue"))


def _nested_grants(aws: Emulator, root: Path, session: Any) -> tuple[dict[str, str], Notices]:
    notices = Notices()
    deployed = stack_resources(_Session(aws), "Api", notices)
    grants = load_declared(discover(root), ResolveContext(
        region=aws.region, account=aws.account, stack_name="Api",
        deployed={r.logical_id: r for r in deployed}), notices, root=root, session=session)
    return {role.origin.file or "": next(
        r for p in role.policies for s in p.statements for r in s.resources)
        for role in grants.roles.values()}, notices


def test_a_nested_stack_s_generated_names_are_read_from_it(aws: Emulator,
                                                           tmp_path: Path) -> None:
    nested_file, queue_url = _cdk_app_with_a_nested_stack(aws, tmp_path)
    arns, notices = _nested_grants(aws, tmp_path, _Session(aws))
    name = queue_url.rsplit("/", 1)[-1]
    assert name.startswith(f"Api-{NESTED_ID}-")  # the nested stack's name, then the queue's
    assert arns == {nested_file: f"arn:aws:sqs:{aws.region}:{aws.account}:{name}"}
    assert notices.count("unresolved-value") == 0


def test_a_nested_stack_the_role_may_not_read_is_a_warning(aws: Emulator,
                                                           tmp_path: Path) -> None:
    nested_file, _ = _cdk_app_with_a_nested_stack(aws, tmp_path)
    cloudformation = aws.client("cloudformation")

    class Session(_Session):  # the scanning role may read the stack, not its nested stacks
        def client(self, service: str, **_: Any) -> Any:
            return cloudformation if service == "cloudformation" else aws.client(service)

    with Stubber(cloudformation) as stub:
        stub.add_client_error("list_stack_resources", service_error_code="AccessDenied",
                              http_status_code=403)
        arns, notices = _nested_grants(aws, tmp_path, Session(aws))
    assert arns == {nested_file: "<unresolved:GetAtt Queue.Arn>"}
    [warning] = [n for n in notices.items() if n.code == "nested-stack-unread"]
    assert warning.examples[0].endswith("(denied)")
    assert "allow cloudformation:ListStackResources" in warning.message


def test_a_nested_stack_of_a_cdk_stack_not_configured_is_read_too(aws: Emulator,
                                                                  tmp_path: Path) -> None:
    # no stack-name: the manifest names stack Api, which is read, then its nested stack
    nested_file, queue_url = _cdk_app_with_a_nested_stack(aws, tmp_path)
    notices = Notices()
    grants = load_declared(discover(tmp_path), ResolveContext(
        region=aws.region, account=aws.account), notices, root=tmp_path, session=_Session(aws))
    [role] = grants.roles.values()
    [resource] = [r for p in role.policies for s in p.statements for r in s.resources]
    assert (role.origin.file, resource) == (
        nested_file, f"arn:aws:sqs:{aws.region}:{aws.account}:{queue_url.rsplit('/', 1)[-1]}")


def test_resources_deleted_are_not_taken_for_deployed(aws: Emulator) -> None:
    # a stack whose creation rolled back (ROLLBACK_COMPLETE) still lists its resources,
    # deleted, with the physical IDs they had: those names are of nothing deployed
    cloudformation = aws.client("cloudformation")

    class Session(_Session):
        def client(self, service: str, **_: Any) -> Any:
            return cloudformation

    def summary(logical: str, physical: str, status: str) -> dict[str, Any]:
        return {"LogicalResourceId": logical, "PhysicalResourceId": physical,
                "ResourceType": "AWS::SQS::Queue", "ResourceStatus": status,
                "LastUpdatedTimestamp": "2024-01-01T00:00:00Z"}

    with Stubber(cloudformation) as stub:
        stub.add_response("list_stack_resources", {"StackResourceSummaries": [
            summary("Queue", f"https://sqs.us-east-1.amazonaws.com/1/{STACK}-Queue-1X2Y",
                    "DELETE_COMPLETE"),
            summary("Live", f"https://sqs.us-east-1.amazonaws.com/1/{STACK}-Live-3Z4W",
                    "UPDATE_COMPLETE")]}, {"StackName": STACK})
        found = stack_resources(Session(aws), STACK, Notices())
    assert [resource.logical_id for resource in found] == ["Live"]


def test_a_nested_stack_s_names_are_read_for_the_base_commit_too(
        aws: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the pull request changes nothing: its nested role, resolved with the names the
    # nested stack gave, is the base commit's, not a change from an unresolved name
    _cdk_app_with_a_nested_stack(aws, tmp_path)
    shutil.rmtree(tmp_path / ".git")
    for command in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["-c", "user.email=t@example.com", "-c", "user.name=t",
                     "commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(tmp_path), *command], check=True)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    read: list[str] = []

    def read_stack(session: Any, stack: str, region: str | None = None) -> Any:
        read.append(stack)
        return deployed_stack.read_stack(session, stack, region)

    monkeypatch.setattr(declared, "read_stack", read_stack)
    code = main(["scan", "--since", "10m", "--settle-time", "0", "--stack-name", "Api",
                 "--base-ref", "HEAD", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1, err  # no traces: nothing verified, but the roles are compared
    report = json.loads(out)
    assert report["changes"] == {}
    assert len(read) == 1  # the nested stack, for the head and the base alike


def test_a_nested_stack_is_read_once_however_many_copies_name_it(
        aws: Emulator, tmp_path: Path) -> None:
    # a pull request may hold any number of copies of the assembly: each names the same
    # nested stack of the configured stack, which is read once, not once a copy
    _, queue_url = _cdk_app_with_a_nested_stack(aws, tmp_path)
    for copy in range(3):
        shutil.copytree(tmp_path / "cdk.out", tmp_path / f"copy{copy}/cdk.out")
    calls: list[str] = []
    cloudformation = aws.client("cloudformation")
    cloudformation.meta.events.register(
        "provide-client-params.cloudformation.ListStackResources",
        lambda params, **_: calls.append(params["StackName"]))

    class Session(_Session):
        def client(self, service: str, **_: Any) -> Any:
            return cloudformation if service == "cloudformation" else aws.client(service)

    arns, _ = _nested_grants(aws, tmp_path, Session(aws))
    name = queue_url.rsplit("/", 1)[-1]
    assert {arn for file, arn in arns.items() if file.endswith(".nested.template.json")} == {
        f"arn:aws:sqs:{aws.region}:{aws.account}:{name}"}
    assert len(calls) == len(set(calls))


def test_a_nested_stack_is_read_in_its_parent_s_region(aws: Emulator, tmp_path: Path) -> None:
    # the manifest puts stack Api in eu-west-1, not the scan's region: its nested stack,
    # by the ID Api lists for it, is there too
    _cdk_app_with_a_nested_stack(aws, tmp_path, region="eu-west-1")
    asked: list[str | None] = []

    class Session:
        def client(self, service: str, region_name: str | None = None) -> Any:
            if service == "cloudformation":
                asked.append(region_name)
            return aws.client(service, region_name=region_name or aws.region)

    notices = Notices()
    load_declared(discover(tmp_path), ResolveContext(region=aws.region, account=aws.account),
                  notices, root=tmp_path, session=Session())
    assert asked == ["eu-west-1", "eu-west-1"]  # the parent, then its nested stack
    assert not notices.count("nested-stack-unread")  # not "it does not exist"


@pytest.mark.parametrize(("stack_id", "nested_in", "region"), [
    # CloudFormation's ID of a nested stack is its ARN, which names its region
    ("arn:aws:cloudformation:us-west-2:123456789012:stack/Api-Store-1X/guid", "Api",
     "us-west-2"),
    ("arn:aws:cloudformation:xx-evil-1:123456789012:stack/Api-Store-1X/guid", "Api", None),
    ("Api-Store-1X", "Api", "eu-west-1"),  # a bare name: where its parent is
    ("Api-Store-1X", "configured", None),  # the configured stack's: the session's region
])
def test_a_nested_stack_is_read_where_its_id_or_parent_says(
        stack_id: str, nested_in: str, region: str | None) -> None:
    stack = CdkStack(f"{nested_in}-Store", "aws://123456789012/eu-west-1", nested_in)
    context = ResolveContext(region="us-east-1", stack_name="configured")
    assert _nested_region(stack_id, stack, context) == region


def test_a_nested_stack_is_read_under_the_stack_reader_s_limits(aws: Emulator,
                                                                 tmp_path: Path) -> None:
    # the configured stack read, then credentials found to be another account's than the
    # scan's: its nested stack, like any other, is not read
    _cdk_app_with_a_nested_stack(aws, tmp_path)
    notices = Notices()
    deployed = stack_resources(_Session(aws), "Api", notices)
    asked: list[str] = []

    class Session(_Session):
        def client(self, service: str, **kwargs: Any) -> Any:
            asked.append(service)
            return super().client(service, **kwargs)

    grants = load_declared(discover(tmp_path), ResolveContext(
        region=aws.region, account="444455556666", stack_name="Api",
        deployed={r.logical_id: r for r in deployed}), notices, root=tmp_path,
        session=Session(aws))
    assert "cloudformation" not in asked
    assert {r for role in grants.roles.values() for p in role.policies for s in p.statements
            for r in s.resources} == {"<unresolved:GetAtt Queue.Arn>"}
    assert notices.count("stack-unread") == 1
