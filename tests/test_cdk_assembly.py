from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from leastpriv_ci.emulator import Emulator
from leastpriv_ci.grants import cdk_assembly
from leastpriv_ci.grants.cdk_assembly import UNREADABLE, Assemblies, CdkStack, stacks_in
from leastpriv_ci.grants.declared import ROLES_APART, discover, load_declared
from leastpriv_ci.grants.model import GrantSet, ResolveContext, StackResource
from leastpriv_ci.notices import Notices
from leastpriv_ci.principals import resolve_roles
from tests.test_principals import FUNCTION, deploy

PROD = "cdk.out/assembly-Prod/ProdApiStack6A2B1C3D.template.json"
DEV = "cdk.out/assembly-Dev/DevApiStack9E8F7A6B.template.json"
PROD_MANIFEST = "cdk.out/assembly-Prod/manifest.json"


def load(root: Path, notices: Notices | None = None) -> GrantSet:
    return load_declared(discover(root), ResolveContext(),
                         notices if notices is not None else Notices(), root=root)


def roles_by_file(grants: GrantSet) -> dict[str, str]:
    return {b.origin.file or "": b.role for b in grants.bindings}


@pytest.fixture
def app(tmp_path: Path, data_dir: Path) -> Path:
    """A checkout holding the output of a CDK app with Stages Prod and Dev."""
    (tmp_path / ".git").mkdir()
    shutil.copytree(data_dir / "cdk_assembly/cdk.out", tmp_path / "cdk.out")
    return tmp_path


def test_stage_stacks_go_by_the_names_in_their_manifests(data_dir: Path) -> None:
    notices = Notices()
    grants = load(data_dir / "cdk_assembly", notices)
    assert {b.origin.file: b.stack for b in grants.bindings} == {
        DEV: "Dev-ApiStack", PROD: "Prod-ApiStack"}
    roles = roles_by_file(grants)
    assert roles[DEV] != roles[PROD]  # one class in two Stages: two roles
    # the names CloudFormation generates in the stacks Prod-ApiStack and Dev-ApiStack
    names = {
        "Prod-ApiStack-Handler886CB40B-AbCdEfGhIjKl": roles[PROD],
        "Dev-ApiStack-Handler886CB40B-ZyXwVuTsRqPo": roles[DEV],
        "ProdApiStack6A2B1C3D-Handler886CB40B-AbCdEfGhIjKl": None,  # no stack of that name
    }
    resolved = resolve_roles([FUNCTION + n for n in names], grants, notices=notices)
    assert resolved == {FUNCTION + n: role for n, role in names.items()}
    assert notices.count(UNREADABLE) == 0


def test_stage_stack_tags_choose_its_role(aws: Emulator, data_dir: Path) -> None:
    grants = load(data_dir / "cdk_assembly")
    roles = roles_by_file(grants)
    functions = {stage: deploy(aws, f"{stage.lower()}-handler", f"{stage}-role",
                               {"aws:cloudformation:logical-id": "Handler886CB40B",
                                "aws:cloudformation:stack-name": f"{stage}-ApiStack"})
                 for stage in ("Prod", "Dev")}
    resolved = resolve_roles(list(functions.values()), grants, session=aws, notices=Notices())
    assert resolved == {functions["Prod"]: roles[PROD], functions["Dev"]: roles[DEV]}


@pytest.mark.parametrize(("folder", "cdk_json"), [
    ("synth-out", None),  # cdk synth --output synth-out: found by its marker file
    ("build/cdk-assembly", '{"app": "npx ts-node bin/app.ts", "output": "build/cdk-assembly"}'),
])
def test_an_assembly_synthesized_elsewhere_keeps_its_stack_names(
        tmp_path: Path, data_dir: Path, folder: str, cdk_json: str | None) -> None:
    shutil.copytree(data_dir / "cdk_assembly/cdk.out", tmp_path / folder)
    (tmp_path / folder / "cdk.out").write_text('{"version":"36.0.0"}')
    if cdk_json is not None:
        (tmp_path / "cdk.json").write_text(cdk_json)
    notices = Notices()
    grants = load(tmp_path, notices)
    prod, dev = (f"{folder}/{name.removeprefix('cdk.out/')}" for name in (PROD, DEV))
    assert {b.origin.file: b.stack for b in grants.bindings} == {
        dev: "Dev-ApiStack", prod: "Prod-ApiStack"}
    name = FUNCTION + "Prod-ApiStack-Handler886CB40B-AbCdEfGhIjKl"
    assert resolve_roles([name], grants, notices=notices) == {name: roles_by_file(grants)[prod]}
    assert [n.code for n in notices.items()] == [ROLES_APART]  # one class in two Stages


def test_stacks_of_one_id_in_two_apps_are_two_stacks(tmp_path: Path, data_dir: Path) -> None:
    # a monorepo: each app's cdk.out/Api.template.json, deployed under the name or in the
    # environment its manifest gives
    template = data_dir / "cdk_assembly" / PROD
    for app, name, region in (("orders", "orders-api", "us-east-1"),
                              ("billing", "billing-api", "us-east-1"),
                              ("billing-eu", "billing-api", "eu-west-1")):
        folder = tmp_path / app / "cdk.out"
        folder.mkdir(parents=True)
        shutil.copy(template, folder / "Api.template.json")
        (folder / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {
            "Api": {"type": "aws:cloudformation:stack",
                    "environment": f"aws://123456789012/{region}",
                    "properties": {"templateFile": "Api.template.json", "stackName": name},
                    "displayName": "Api"}}}))
    notices = Notices()
    grants = load(tmp_path, notices)
    roles = roles_by_file(grants)
    assert len(set(roles.values())) == 3
    assert notices.count(ROLES_APART) == 2
    resolved = resolve_roles([FUNCTION + "orders-api-Handler886CB40B-AbCdEfGhIjKl"], grants,
                             notices=Notices())
    assert list(resolved.values()) == [roles["orders/cdk.out/Api.template.json"]]


def test_a_manifest_values_of_the_wrong_type_are_passed_over() -> None:
    stack = "aws:cloudformation:stack"
    assert stacks_in({"artifacts": {
        "A": {"type": stack, "properties": {"templateFile": "A.template.json",
                                            "stackName": 42}, "environment": ["x"]},
        "B": {"type": stack, "properties": ["templateFile"]},
        "C": {"type": stack, "properties": {"templateFile": {"x": 1}}},
        "D": "aws:cloudformation:stack",
        "E": {"type": "cdk:cloud-assembly", "properties": {"templateFile": "E.template.json",
                                                           "directoryName": "assembly-E"}},
        "F": {"type": stack, "properties": {"templateFile": "./F.template.json",
                                            "stackName": "f-stack"},
              "environment": "aws://123456789012/us-east-1"},
    }}) == {"A.template.json": CdkStack("A"),
            "F.template.json": CdkStack("f-stack", "aws://123456789012/us-east-1")}
    for manifest in ([], {"artifacts": ["A"]}, {"artifacts": None}, "x", None):
        assert stacks_in(manifest) == {}


def test_wrong_types_in_a_manifest_fall_back_to_file_names(app: Path) -> None:
    (app / PROD_MANIFEST).write_text(json.dumps({"version": 36, "artifacts": {
        "ProdApiStack6A2B1C3D": {"type": "aws:cloudformation:stack",
                                 "properties": {"templateFile": "ProdApiStack6A2B1C3D"
                                                ".template.json", "stackName": ["x"]}}}}))
    notices = Notices()
    grants = load(app, notices)
    assert {b.origin.file: b.stack for b in grants.bindings} == {
        DEV: "Dev-ApiStack", PROD: "ProdApiStack6A2B1C3D"}
    assert notices.count(UNREADABLE) == 0


@pytest.mark.parametrize(("text", "reason"), [
    ('{"version": "36.0.0", "artifacts": {\n', r"manifest.json:2 \("),
    ("[" * 100 + "]" * 100, "nesting deeper than 64"),
    ('["aws:cloudformation:stack"]', "not a JSON object"),
    (b'{"version": "\xff"}', "not UTF-8"),
    ('{"version": "36.0.0", "artifacts": {}, "padding": "' + "x" * 9000 + '"}', "over the"),
])
def test_a_malformed_manifest_is_one_warning_and_file_names(
    app: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, reason: str
) -> None:
    monkeypatch.setattr(cdk_assembly, "MAX_MANIFEST_BYTES", 8000)
    manifest = app / PROD_MANIFEST
    if isinstance(text, bytes):
        manifest.write_bytes(text)
    else:
        manifest.write_text(text)
    # a second template in that assembly: the manifest is read (and warned about) once
    nested = app / "cdk.out/assembly-Prod/ProdApiStackStoreNested1A2B3C4D.nested.template.json"
    nested.write_text(json.dumps({"Resources": {"Queue4A7E3555": {
        "Type": "AWS::SQS::Queue", "Properties": {}}}}))
    notices = Notices()
    grants = load(app, notices)
    assert {b.origin.file: b.stack for b in grants.bindings} == {
        DEV: "Dev-ApiStack", PROD: "ProdApiStack6A2B1C3D"}
    [notice] = [n for n in notices.items() if n.code == UNREADABLE]
    assert notice.count == 1
    [where] = notice.examples
    assert where.startswith(PROD_MANIFEST)
    assert re.search(reason, where)


def test_only_a_regular_manifest_inside_the_checkout_is_read(app: Path) -> None:
    manifest = app / PROD_MANIFEST
    outside = app.parent / "elsewhere.json"
    outside.write_text(manifest.read_text().replace("Prod-ApiStack", "Planted-ApiStack"))
    manifest.unlink()
    manifest.symlink_to(outside)
    fifo = app / "cdk.out/assembly-Dev/manifest.json"
    fifo.unlink()
    os.mkfifo(fifo)  # reading it would block
    notices = Notices()
    grants = load(app, notices)
    assert {b.origin.file: b.stack for b in grants.bindings} == {
        DEV: "DevApiStack9E8F7A6B", PROD: "ProdApiStack6A2B1C3D"}
    assert notices.count("outside-checkout") == 1
    assert [n.examples for n in notices.items() if n.code == UNREADABLE] == [
        ("cdk.out/assembly-Dev/manifest.json (not a regular file)",)]


def test_a_template_without_a_manifest_is_named_after_its_file(tmp_path: Path,
                                                                data_dir: Path) -> None:
    shutil.copy(data_dir / "cdk_assembly" / PROD, tmp_path / "Api.template.json")
    grants = load_declared([tmp_path / "Api.template.json"], ResolveContext(), Notices())
    assert [b.stack for b in grants.bindings] == ["Api"]


def _parent_and_nested(tmp_path: Path, data_dir: Path) -> GrantSet:
    """Stack Api, and its nested stack Store declaring the same function (logical ID
    Handler886CB40B) with a role of its own."""
    folder = tmp_path / "cdk.out"
    folder.mkdir()
    template = json.loads((data_dir / "cdk_assembly" / PROD).read_text())
    parent = json.loads(json.dumps(template))
    parent["Resources"]["StoreNestedStackStoreNestedStackResource5D6E7F8A"] = {
        "Type": "AWS::CloudFormation::Stack",
        "Properties": {"TemplateURL": "https://s3.amazonaws.com/assets/0c1d2e3f.json"},
        "Metadata": {"aws:cdk:path": "Api/Store.NestedStack/Store.NestedStackResource",
                     "aws:asset:path": "ApiStore1A2B3C4D.nested.template.json",
                     "aws:asset:property": "TemplateURL"}}
    (folder / "Api.template.json").write_text(json.dumps(parent))
    (folder / "ApiStore1A2B3C4D.nested.template.json").write_text(json.dumps(template))
    (folder / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {
        "Api": {"type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Api.template.json"}}}}))
    return load(tmp_path)


NESTED_FILE = "cdk.out/ApiStore1A2B3C4D.nested.template.json"
NESTED_ID = "StoreNestedStackStoreNestedStackResource5D6E7F8A"


def test_a_nested_stack_is_named_as_its_parent_deploys_it(tmp_path: Path,
                                                          data_dir: Path) -> None:
    # no manifest lists a nested template: the parent's AWS::CloudFormation::Stack names
    # its file (aws:asset:path), and CloudFormation names it PARENT-LOGICALID-GUID
    grants = _parent_and_nested(tmp_path, data_dir)
    assert {b.origin.file: (b.stack, b.nested_in) for b in grants.bindings} == {
        "cdk.out/Api.template.json": ("Api", None),
        NESTED_FILE: (f"Api-{NESTED_ID}", "Api")}


def test_a_nested_stack_s_functions_are_matched_by_generated_names(tmp_path: Path,
                                                                   data_dir: Path) -> None:
    # CloudFormation cuts PARENT-LOGICALID-GUID to fit the function's name: a stack part
    # going on past the parent's name into the nested stack's logical ID is that stack's.
    # One showing less of it, or none (the stack part dropped), is left unresolved
    # (principal-map, tags or FunctionName find it), never given the parent's role.
    grants = _parent_and_nested(tmp_path, data_dir)
    roles = roles_by_file(grants)
    nested = roles[NESTED_FILE]
    assert nested != roles["cdk.out/Api.template.json"]
    names = {
        "Api-StoreNestedStackStoreNestedStackR-Handler886CB40B-AbCdEfGhIjKl": nested,
        "Api-StoreNestedSta-Handler886CB40B-AbCdEfGhIjKl": nested,
        "Api-StoreNe-Handler886CB40B-AbCdEfGhIjKl": None,  # 7 characters of its ID
        "Api-StoreNestedStackStoreNestedStackResource-1XYZABCDEFGH-Handler-AbCdEfGhIjKl": None,
        "Handler886CB40B-AbCdEfGhIjKl": None,
    }
    notices = Notices()
    resolved = resolve_roles([FUNCTION + n for n in names], grants, notices=notices)
    assert resolved == {FUNCTION + n: role for n, role in names.items()}
    assert notices.count("principal-unresolved") == 3
    assert notices.count("principal-ambiguous") == 0


def test_a_nested_stack_s_tags_choose_its_role(aws: Emulator, tmp_path: Path,
                                               data_dir: Path) -> None:
    # the parent and the nested stack bind the same logical ID: the stack-name tag, the
    # nested stack's deployed name (its logical ID whole or cut), tells them apart
    grants = _parent_and_nested(tmp_path, data_dir)
    roles = roles_by_file(grants)
    stacks = {"parent": "Api", "nested": f"Api-{NESTED_ID}-1XYZABCDEFGH",
              "cut": "Api-StoreNestedStackStoreNestedStackResource-16VAX8Y6Y64W",
              "stranger": "Api-StoreNe-16VAX8Y6Y64W",  # 7 characters of its ID
              "other": "Other-StoreNestedStackStoreNestedStackResource-16VAX8Y6Y64W"}
    functions = {kind: deploy(aws, f"{kind}-handler", f"{kind}-role",
                              {"aws:cloudformation:logical-id": "Handler886CB40B",
                               "aws:cloudformation:stack-name": stack})
                 for kind, stack in stacks.items()}
    notices = Notices()
    resolved = resolve_roles(list(functions.values()), grants, session=aws, notices=notices)
    account = "arn:aws:iam::123456789012:role/"
    assert resolved == {functions["parent"]: roles["cdk.out/Api.template.json"],
                        functions["nested"]: roles[NESTED_FILE],
                        functions["cut"]: roles[NESTED_FILE],
                        functions["stranger"]: account + "stranger-role",
                        functions["other"]: account + "other-role"}
    assert notices.count("principal-stack-unmatched") == 2


def test_a_stage_s_nested_stack_takes_the_stage_s_stack_name(app: Path) -> None:
    folder = app / "cdk.out/assembly-Prod"
    parent = folder / "ProdApiStack6A2B1C3D.template.json"
    template = json.loads(parent.read_text())
    nested = json.loads(json.dumps(template))
    template["Resources"]["StoreNestedStackStoreNestedStackResource5D6E7F8A"] = {
        "Type": "AWS::CloudFormation::Stack",
        "Metadata": {"aws:asset:path": "ProdApiStackStore1A2B3C4D.nested.template.json"}}
    parent.write_text(json.dumps(template))
    (folder / "ProdApiStackStore1A2B3C4D.nested.template.json").write_text(json.dumps(nested))
    grants = load(app)
    stacks = {b.origin.file: b.stack for b in grants.bindings}
    assert stacks[
        "cdk.out/assembly-Prod/ProdApiStackStore1A2B3C4D.nested.template.json"] == (
        f"Prod-ApiStack-{NESTED_ID}")
    name = FUNCTION + "Prod-ApiStack-StoreNestedStackStor-Handler886CB40B-AbCdEfGhIjKl"
    assert resolve_roles([name], grants, notices=Notices()) == {name: roles_by_file(grants)[
        "cdk.out/assembly-Prod/ProdApiStackStore1A2B3C4D.nested.template.json"]}


@pytest.mark.parametrize("parent", [
    "not json {",  # the parent's own reading reports it
    json.dumps({"Resources": {"Store": {"Type": "AWS::CloudFormation::Stack", "Metadata": {
        "aws:asset:path": "../ApiStore1A2B3C4D.nested.template.json"}}}}),
    json.dumps({"Resources": {"Store": {"Type": "AWS::SQS::Queue", "Metadata": {
        "aws:asset:path": "ApiStore1A2B3C4D.nested.template.json"}}}}),
    json.dumps({"Resources": {"Store": {"Type": "AWS::CloudFormation::Stack",
                                        "Metadata": {"aws:asset:path": ["x"]}}}}),
    json.dumps({"Resources": ["AWS::CloudFormation::Stack"]}),
])
def test_a_nested_template_no_parent_names_is_named_after_its_file(
        tmp_path: Path, data_dir: Path, parent: str) -> None:
    folder = tmp_path / "cdk.out"
    folder.mkdir()
    shutil.copy(data_dir / "cdk_assembly" / PROD, folder / "ApiStore1A2B3C4D.nested.template.json")
    (folder / "Api.template.json").write_text(parent)
    stacks = Assemblies(Notices(), tmp_path)
    assert stacks.stack(folder / "ApiStore1A2B3C4D.nested.template.json") == CdkStack(
        "ApiStore1A2B3C4D.nested")


def test_a_nested_template_two_parents_name_is_named_after_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "cdk.out"
    folder.mkdir()
    for parent, logical_id in (("Api", "StoreA"), ("Web", "StoreB")):
        (folder / f"{parent}.template.json").write_text(json.dumps({"Resources": {logical_id: {
            "Type": "AWS::CloudFormation::Stack",
            "Metadata": {"aws:asset:path": "Store1A2B3C4D.nested.template.json"}}}}))
    stacks = Assemblies(Notices(), tmp_path)
    assert stacks.stack(folder / "Store1A2B3C4D.nested.template.json") == CdkStack(
        "Store1A2B3C4D.nested")
    assert stacks.stack(folder / "Api.template.json") == CdkStack("Api")


def test_a_parent_template_is_read_only_inside_the_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "repo"
    folder = checkout / "cdk.out"
    folder.mkdir(parents=True)
    outside = tmp_path / "Api.template.json"
    outside.write_text(json.dumps({"Resources": {"Store": {
        "Type": "AWS::CloudFormation::Stack",
        "Metadata": {"aws:asset:path": "Store1A2B3C4D.nested.template.json"}}}}))
    (folder / "Api.template.json").symlink_to(outside)
    os.mkfifo(folder / "Web.template.json")  # reading it would block
    stacks = Assemblies(Notices(), checkout)
    assert stacks.stack(folder / "Store1A2B3C4D.nested.template.json") == CdkStack(
        "Store1A2B3C4D.nested")


def test_a_parent_stack_s_function_is_not_taken_for_its_nested_stack_s(
        tmp_path: Path, data_dir: Path) -> None:
    # The nested stack's name (Api-StoreNested…) starts with the parent's: a name whose
    # stack part is the parent's whole name is the parent's function, not an ambiguous
    # match with the nested stack's binding of that ID.
    grants = _parent_and_nested(tmp_path, data_dir)
    parent_role = roles_by_file(grants)["cdk.out/Api.template.json"]
    notices = Notices()
    name = FUNCTION + "Api-Handler886CB40B-AbCdEfGhIjKl"
    assert resolve_roles([name], grants, notices=notices) == {name: parent_role}
    assert notices.count("principal-ambiguous") == 0


def test_nested_stacks_as_cdk_synthesizes_them(tmp_path: Path, data_dir: Path) -> None:
    # tests/data/cdk_nested: real `cdk synth` output, a stack and a Stage's stack, each
    # with a nested stack binding the parent's function's logical ID to a role of its own
    (tmp_path / ".git").mkdir()
    shutil.copytree(data_dir / "cdk_nested/cdk.out", tmp_path / "cdk.out")
    notices = Notices()
    grants = load(tmp_path, notices)
    nested_id = "StoreNestedStackStoreNestedStackResourceA43BCFC0"
    files = {"api": "cdk.out/Api.template.json",
             "store": "cdk.out/ApiStore6970A0F6.nested.template.json",
             "prod": "cdk.out/assembly-Prod/ProdApiStack96F1B437.template.json",
             "prod store": "cdk.out/assembly-Prod/ProdApiStackStore70230C73.nested.template.json"}
    stacks = {b.origin.file: (b.stack, b.nested_in) for b in grants.bindings}
    assert stacks == {files["api"]: ("Api", None),
                      files["store"]: (f"Api-{nested_id}", "Api"),
                      files["prod"]: ("Prod-ApiStack", None),
                      files["prod store"]: (f"Prod-ApiStack-{nested_id}", "Prod-ApiStack")}
    roles = {kind: roles_by_file(grants)[file] for kind, file in files.items()}
    assert len(set(roles.values())) == 4
    names = {
        "Api-Handler886CB40B-AbCdEfGhIjKl": roles["api"],
        "Api-StoreNestedStackStoreNestedStackR-Handler886CB40B-AbCdEfGhIjKl": roles["store"],
        "Prod-ApiStack-Handler886CB40B-AbCdEfGhIjKl": roles["prod"],
        "Prod-ApiStack-StoreNestedStackStore-Handler886CB40B-AbCdEfGhIjKl": roles["prod store"],
    }
    resolved = resolve_roles([FUNCTION + n for n in names], grants, notices=notices)
    assert resolved == {FUNCTION + n: role for n, role in names.items()}
    assert notices.count("principal-ambiguous") == notices.count("principal-unresolved") == 0


def test_a_nested_stack_s_tags_choose_its_role_under_the_configured_stack(
        aws: Emulator, tmp_path: Path, data_dir: Path) -> None:
    # stack-name is the parent (as the action is set up to read nested stacks' names):
    # a nested stack's function, tagged with the nested stack's name, is still that
    # nested stack's; a function of the parent's logical ID in a stack the scan does not
    # know (a stranger starting with the parent's name) is neither's
    grants = _parent_and_nested(tmp_path, data_dir)
    roles = roles_by_file(grants)
    stacks = {"parent": "Api", "nested": f"Api-{NESTED_ID}-1XYZABCDEFGH",
              "cut": "Api-StoreNestedStackStoreNestedStackResource-16VAX8Y6Y64W",
              "stranger": "Api-Other-16VAX8Y6Y64W"}
    functions = {kind: deploy(aws, f"{kind}-fn", f"{kind}-role",
                              {"aws:cloudformation:logical-id": "Handler886CB40B",
                               "aws:cloudformation:stack-name": stack})
                 for kind, stack in stacks.items()}
    resolved = resolve_roles(list(functions.values()), grants, session=aws, stack_name="Api",
                             notices=Notices(), deployed=())
    account = "arn:aws:iam::123456789012:role/"
    assert resolved == {functions["parent"]: roles["cdk.out/Api.template.json"],
                        functions["nested"]: roles[NESTED_FILE],
                        functions["cut"]: roles[NESTED_FILE],
                        functions["stranger"]: account + "stranger-role"}


def _stack_in(folder: Path, name: str, environment: str) -> None:
    """A stack ``name`` of an app in ``folder``, deployed to ``environment``: its role may
    read its table (named by CloudFormation) and a queue of its region and account."""
    folder.mkdir(parents=True)
    resources = {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {}, "Policies": [{"PolicyName": "p", "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": [
                    {"Fn::GetAtt": ["Table", "Arn"]},
                    {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q"},
                ]}]}}]}}}
    (folder / f"{name}.template.json").write_text(json.dumps({"Resources": resources}))
    (folder / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {
        name: {"type": "aws:cloudformation:stack", "environment": environment,
               "properties": {"templateFile": f"{name}.template.json", "stackName": name}}}}))


def _granted(grants: GrantSet) -> set[str]:
    return {resource for role in grants.roles.values() for policy in role.policies
            for statement in policy.statements for resource in statement.resources}


def test_a_stack_resolves_in_the_account_and_region_of_its_environment(
        tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    _stack_in(tmp_path / "eu" / "cdk.out", "eu-api", "aws://444455556666/eu-west-1")
    _stack_in(tmp_path / "any" / "cdk.out", "any-api", "aws://unknown-account/unknown-region")
    _stack_in(tmp_path / "odd" / "cdk.out", "odd-api", "aws://4444/xx-evil-1")
    # the configured stack as deployed in the scan's region: not the eu stack's names
    deployed = {"Table": StackResource("Table", "AWS::DynamoDB::Table", "eu-api-Table-1X2Y")}
    context = ResolveContext(region="us-east-2", account="111122223333", stack_name="eu-api",
                             deployed=deployed)
    granted = _granted(load_declared(discover(tmp_path), context, Notices(), root=tmp_path))
    assert "arn:aws:sqs:eu-west-1:444455556666:q" in granted
    assert "arn:aws:sqs:us-east-2:111122223333:q" in granted  # the scan's, twice
    assert not [r for r in granted if "eu-api-Table" in r]
    assert len([r for r in granted if r.startswith("arn:aws:sqs")]) == 2
