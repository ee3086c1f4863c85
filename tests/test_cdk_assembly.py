from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from leastpriv_ci.emulator import Emulator
from leastpriv_ci.grants import cdk_assembly
from leastpriv_ci.grants.cdk_assembly import UNREADABLE, CdkStack, stacks_in
from leastpriv_ci.grants.declared import ROLES_APART, discover, load_declared
from leastpriv_ci.grants.model import GrantSet, ResolveContext
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


def test_a_nested_stack_s_functions_are_not_matched_by_generated_names(tmp_path: Path,
                                                                       data_dir: Path) -> None:
    # CloudFormation names a nested stack PARENT-NESTEDLOGICALID-SUFFIX (the logical ID
    # maybe cut), and cuts or drops that name in its functions' names in ways it does not
    # document: such a name is left unresolved (principal-map, tags or FunctionName find
    # it), never given the role of the parent's binding of the same logical ID.
    grants = _parent_and_nested(tmp_path, data_dir)
    roles = roles_by_file(grants)
    assert len(set(roles.values())) == 2  # the parent's role and the nested stack's
    names = {
        "Api-StoreNestedStackStoreNestedStackR-Handler886CB40B-AbCdEfGhIjKl": None,
        "Api-StoreNestedStackStoreNestedStackResource-1XYZABCDEFGH-Handler-AbCdEfGhIjKl": None,
        "Handler886CB40B-AbCdEfGhIjKl": None,
    }
    notices = Notices()
    resolved = resolve_roles([FUNCTION + n for n in names], grants, notices=notices)
    assert resolved == {FUNCTION + n: role for n, role in names.items()}
    assert notices.count("principal-unresolved") == 3


def test_a_parent_stack_s_function_is_not_taken_for_its_nested_stack_s(
        tmp_path: Path, data_dir: Path) -> None:
    # The nested template's stand-in stack name (ApiStore1A2B3C4D.nested) starts with the
    # parent's: a name whose stack part is the parent's whole name is the parent's
    # function, not an ambiguous match with the nested stack's binding of that ID.
    grants = _parent_and_nested(tmp_path, data_dir)
    parent_role = roles_by_file(grants)["cdk.out/Api.template.json"]
    notices = Notices()
    name = FUNCTION + "Api-Handler886CB40B-AbCdEfGhIjKl"
    assert resolve_roles([name], grants, notices=notices) == {name: parent_role}
    assert notices.count("principal-ambiguous") == 0
