from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.cdk_assembly import APP_CONFIG_UNREADABLE, OUTPUT_IGNORED
from leastpriv_ci.grants.declared import discover, load_declared, source_for, source_modules
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Role
from leastpriv_ci.records import Origin

CFN = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: r}\n"


def write(root: Path, name: str, text: str = "{}") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_discovers_usual_names_and_skips_vendored_folders(tmp_path: Path) -> None:
    for name in [
        "template.yaml", "app/template.yml", "infra/cdk.out/Stack.template.json",
        "svc/serverless.yml", "tf/main.tf", "tf/prod.tfplan.json", "tf/plan.json",
        "iam/roles/a.json", "policies/b.json", "cdk.out/manifest.json", "README.md",
        "node_modules/pkg/template.yaml", ".git/template.json", "vendor/x/main.tf",
        ".aws-sam/build/template.yaml", ".venv/lib/iam/c.json", "src/app.py",
        "env/prod/main.tf", "env/lib/python3.11/site-packages/x/iam/d.json",
        "json-svc/serverless.json",
    ]:
        write(tmp_path, name)
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == [
        "app/template.yml", "env/prod/main.tf", "iam/roles/a.json",
        "infra/cdk.out/Stack.template.json", "json-svc/serverless.json", "policies/b.json",
        "svc/serverless.yml",
        "template.yaml", "tf/main.tf", "tf/plan.json", "tf/prod.tfplan.json",
    ]


def test_discovers_cdk_stage_assemblies_and_nested_stack_templates(tmp_path: Path) -> None:
    # cdk synth writes a Stage's stacks to cdk.out/assembly-STAGE/ (a Stage in a Stage
    # one level deeper, assembly-A/assembly-A-B/), and a NestedStack's template beside
    # its parent's as *.nested.template.json; assets are folders of their own
    for name in [
        "cdk.out/Api.template.json", "cdk.out/ApiStoreNested1A2B3C4D.nested.template.json",
        "cdk.out/assembly-Prod/ProdApiStack6A2B1C3D.template.json",
        "cdk.out/assembly-Prod/ProdApiStackStoreNested9F8E7D6C.nested.template.json",
        "cdk.out/assembly-Prod/manifest.json",
        "infra/cdk.out/assembly-A/assembly-A-B/ABStack0F1E2D3C.template.json",
        "cdk.out/asset.0a1b2c/bundled.template.json",
        "cdk.out/assembly-Prod/asset.3d4e5f/bundled.template.json",
        "cdk.out/assembly-Prod/Readme.json", "assembly-Prod/Loose.template.json",
    ]:
        write(tmp_path, name)
    assert [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)] == [
        "cdk.out/Api.template.json", "cdk.out/ApiStoreNested1A2B3C4D.nested.template.json",
        "cdk.out/assembly-Prod/ProdApiStack6A2B1C3D.template.json",
        "cdk.out/assembly-Prod/ProdApiStackStoreNested9F8E7D6C.nested.template.json",
        "infra/cdk.out/assembly-A/assembly-A-B/ABStack0F1E2D3C.template.json",
    ]


MARKER = '{"version":"36.0.0"}'  # the file cdk.out that cdk synth writes beside manifest.json


def assembly(root: Path, folder: str, *templates: str) -> None:
    """A cloud assembly as cdk synth writes it: marker, manifest, templates."""
    write(root, f"{folder}/cdk.out", MARKER)
    write(root, f"{folder}/manifest.json", '{"version": "36.0.0", "artifacts": {}}')
    for template in templates:
        write(root, f"{folder}/{template}")


def found(root: Path, globs: list[str] | None = None, notices: Notices | None = None
          ) -> list[str]:
    return [p.relative_to(root).as_posix() for p in discover(root, globs, notices=notices)]


def test_discovers_a_cloud_assembly_under_any_name(tmp_path: Path) -> None:
    # cdk synth --output synth-out: the folder is known by its marker and manifest
    assembly(tmp_path, "synth-out", "App.template.json", "App.assets.json",
             "assembly-Prod/Prod-Api.template.json", "asset.abc/x.template.json",
             "asset.abc/assembly-X/y.template.json")
    assembly(tmp_path, "synth-out/assembly-Prod", "assembly-Prod-Eu/Eu-Api.template.json")
    write(tmp_path, "synth-out/assembly-Prod/asset.def/z.template.json")
    # a manifest.json alone, or beside a cdk.out that is no file, is no assembly
    write(tmp_path, "reports/manifest.json")
    write(tmp_path, "reports/Report.template.json")
    (tmp_path / "dirs/cdk.out").mkdir(parents=True)
    write(tmp_path, "dirs/manifest.json")
    write(tmp_path, "dirs/Dir.template.json")
    write(tmp_path, "fifo/manifest.json")
    write(tmp_path, "fifo/Fifo.template.json")
    os.mkfifo(tmp_path / "fifo/cdk.out")  # the marker must be a regular file
    # under a skipped folder, an assembly is found only through a cdk.json naming it
    assembly(tmp_path, "build/synth", "Built.template.json")
    assert found(tmp_path) == [
        "synth-out/App.template.json",
        "synth-out/assembly-Prod/Prod-Api.template.json",
        "synth-out/assembly-Prod/assembly-Prod-Eu/Eu-Api.template.json",
    ]


def test_discovers_the_output_folder_a_cdk_json_names(tmp_path: Path) -> None:
    write(tmp_path, "cdk.json", '{"app": "npx ts-node bin/app.ts", "output": "build/cdk-assembly"}')
    assembly(tmp_path, "build/cdk-assembly", "App.template.json",
             "assembly-Prod/Prod-Api.template.json", "asset.abc/x.template.json")
    write(tmp_path, "build/other/template.yaml")
    # another app's, by .. that stays in the scanned folder, and without a marker yet
    write(tmp_path, "services/billing/cdk.json", '{"output": "../../dist/billing"}')
    write(tmp_path, "dist/billing/Billing.template.json")
    write(tmp_path, ".infra/cdk.json", '{"output": "build/out"}')
    write(tmp_path, ".infra/build/out/Infra.template.json")
    # one the walk passes through anyway is taken once
    write(tmp_path, "services/orders/cdk.json", '{"output": "synth"}')
    assembly(tmp_path, "services/orders/synth", "Orders.template.json")
    notices = Notices()
    assert found(tmp_path, notices=notices) == [
        ".infra/build/out/Infra.template.json",
        "build/cdk-assembly/App.template.json",
        "build/cdk-assembly/assembly-Prod/Prod-Api.template.json",
        "dist/billing/Billing.template.json",
        "services/orders/synth/Orders.template.json",
    ]
    assert notices.items() == []


@pytest.mark.parametrize("output", [
    "../outside", "app/../../outside", "OUTSIDE", "link", 42, ["build"], "",
    "build/a\0b", "build/\ud800",  # no folder can have such a name: not a crash
])
def test_a_cdk_json_output_outside_the_scanned_folder_is_not_followed(
        tmp_path: Path, output: object) -> None:
    root = tmp_path / "repo"
    assembly(tmp_path, "outside", "Runner.template.json")
    (root / "build").mkdir(parents=True)
    (root / "link").symlink_to(tmp_path / "outside")
    if output == "OUTSIDE":  # absolute, as /etc
        output = str(tmp_path / "outside")
    write(root, "cdk.json", f'{{\n  "app": "python3 app.py",\n  "output": {json.dumps(output)}\n}}')
    write(root, "template.yaml")
    notices = Notices()
    assert found(root, notices=notices) == ["template.yaml"]
    [notice] = notices.items()
    assert (notice.code, notice.count) == (OUTPUT_IGNORED, 1)
    assert notice.examples[0].startswith("cdk.json:3 (")


def test_an_unreadable_cdk_json_is_a_warning_naming_it_and_the_scan_goes_on(
        tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, "app/cdk.json", '{"app": "python3 app.py",\n "output": }\n')
    write(root, "other/cdk.json", "[" * 100_000)  # past the JSON nesting limit
    write(tmp_path, "runner.json", '{"output": "build/leak"}')
    (root / "linked").mkdir()
    (root / "linked/cdk.json").symlink_to(tmp_path / "runner.json")  # not read
    assembly(root, "linked/build/leak", "Leak.template.json")
    write(root, "app/template.yaml")
    assembly(root, "app/out", "App.template.json")
    notices = Notices()
    assert found(root, notices=notices) == ["app/out/App.template.json", "app/template.yaml"]
    [notice] = notices.items()
    assert (notice.code, notice.count) == (APP_CONFIG_UNREADABLE, 3)
    assert set(notice.examples) == {
        "app/cdk.json:2 (Expecting value)", "other/cdk.json:1 (nesting deeper than 64)",
        "linked/cdk.json (a symlink leading out of the scanned folder)"}


def test_a_cdk_json_with_an_integer_too_long_to_read_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "cdk.json", '{"output": "build/cdk", "n": ' + "1" * 5000 + "}")
    assembly(tmp_path, "build/cdk", "App.template.json")
    notices = Notices()
    assert found(tmp_path, notices=notices) == []
    [notice] = notices.items()
    assert notice.code == APP_CONFIG_UNREADABLE
    assert notice.examples == ("cdk.json (an integer of more than 4300 digits)",)


def test_explicit_globs_find_no_more_than_they_name(tmp_path: Path) -> None:
    write(tmp_path, "cdk.json", '{"output": "build/cdk-assembly"')  # unread: no warning
    assembly(tmp_path, "build/cdk-assembly", "App.template.json")
    assembly(tmp_path, "synth-out", "Api.template.json")
    write(tmp_path, "deploy/template.yaml")
    notices = Notices()
    assert found(tmp_path, ["deploy/*.yaml"], notices) == ["deploy/template.yaml"]
    assert found(tmp_path, ["**/*.template.json"], notices) == ["synth-out/Api.template.json"]
    assert notices.items() == []


def test_explicit_globs_files_and_folders(tmp_path: Path) -> None:
    write(tmp_path, "deploy/stack.yaml")
    write(tmp_path, "deploy/nested/other.yaml")
    write(tmp_path, "single.json")
    write(tmp_path, "vendor/v.yaml")
    assert [p.relative_to(tmp_path).as_posix()
            for p in discover(tmp_path, ["deploy/*.yaml", "single.json"])] == [
        "deploy/stack.yaml", "single.json"]
    assert [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path, ["deploy"])] == [
        "deploy/nested/other.yaml", "deploy/stack.yaml"]
    assert [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path, ["vendor/*.yaml"])] \
        == ["vendor/v.yaml"]  # named literally, a vendored folder is read


def test_sources_are_ordered_specific_first() -> None:
    names = [m.NAME for m in source_modules()]
    assert names.index("sam") < names.index("cloudformation") < names.index("policy-json")


def test_dispatch_and_relative_origins(data_dir: Path) -> None:
    root = data_dir / "grants"
    notices = Notices()
    # The Serverless and Terraform fixtures have their own dispatch test
    # (test_grants_sls_tf_declared.py), and those of several sources read together theirs.
    paths = [p for p in discover(root)
             if p.relative_to(root).parts[0] not in (
                 "serverless", "terraform", "elsewhere", "organization", "permissions")]
    grants = load_declared(paths, ResolveContext(), notices, root=root)
    assert grants.files == (
        "cdk/cdk.out/OrdersStack.template.json", "cfn/template.yaml",
        "iam/authorization-details.json", "iam/orders-api.json", "iam/reporting-role.json",
        "sam/template.yaml",
    )
    assert "iam/orders-api.json" in grants.roles  # a plain policy file, keyed by its path
    files = {s.origin.file for role in grants.roles.values() for s in role.statements}
    assert files == set(grants.files)
    assert notices.count("managed-policy-unresolved") == 2


def test_non_infrastructure_files_are_ignored(tmp_path: Path) -> None:
    other = write(tmp_path, "template.yaml", "name: CI\non: [push]\njobs: {}\n")
    package = write(tmp_path, "iam/package.json", '{"name": "x"}')
    notices = Notices()
    grants = load_declared([other, package], ResolveContext(), notices)
    assert grants.roles == {}
    assert source_for(other) is None
    assert notices.count("not-infrastructure") == 2


def test_large_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    big = write(tmp_path, "template.yaml", CFN + "# padding\n" * 1_000_000)  # ~10 MB
    assert big.stat().st_size > 8 * 1024 * 1024
    notices = Notices()
    assert load_declared([big], ResolveContext(), notices).roles == {}
    [notice] = notices.items()
    assert notice.code == "file-too-large"
    assert "template.yaml" in notice.examples[0]


@pytest.mark.parametrize(("text", "match"), [
    (CFN.replace("{RoleName: r}", "{RoleName: [r}"), r"template\.yaml:4"),
    ("Resources:\n  a: &a [*a]\n  x: AWS::IAM::Role\n", "recursive alias"),
    ("AWSTemplateFormatVersion: x\nResources:\n  R: !!python/object/apply:os.system [ls]\n"
     "  S: {Type: AWS::SQS::Queue}\n", r"template\.yaml:3.*constructor"),
    ("Resources: {}\n" + "\n".join(
        [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 130)]
    ).replace("*a0", "x") + "\n# AWS::IAM::Role\n", "nesting deeper"),  # an alias bomb
    ("Resources: {}\na: &a x\nb: [" + ", ".join(["*a"] * 1001) + "]\n# AWS::IAM::Role\n",
     "aliases"),
])
def test_hostile_or_malformed_yaml_is_a_user_error(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, "template.yaml", text)
    with pytest.raises(UserError, match=match):
        load_declared([path], ResolveContext(), Notices())


def test_a_source_that_runs_out_of_stack_is_an_input_error_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each source bounds its own nesting; this boundary is for what a hostile file finds
    # past them (as a Mappings loop once did): exit 2 naming the file, not a traceback.
    from leastpriv_ci.grants.sources import policy_json

    def deep(path: Path, context: ResolveContext, notices: Notices) -> object:
        return deep(path, context, notices)

    monkeypatch.setattr(policy_json, "load", deep)
    path = write(tmp_path, "policy.json", POLICY)
    with pytest.raises(UserError, match=r"policy\.json: nested or self-referring"):
        load_declared([path], ResolveContext(), Notices(), root=tmp_path)


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        load_declared([tmp_path / "template.yaml"], ResolveContext(), Notices())


POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", ' \
         '"Resource": "*"}]}'


def test_files_resolving_outside_the_checkout_are_not_read(tmp_path: Path) -> None:
    # A pull request's symlink to a runner file, and a config naming an absolute path.
    outside = tmp_path / "runner-home"
    outside.mkdir()
    (outside / "secret.json").write_text(POLICY)
    checkout = tmp_path / "checkout"
    (checkout / "iam").mkdir(parents=True)
    (checkout / ".git").mkdir()
    (checkout / "iam" / "own.json").write_text(POLICY)
    (checkout / "iam" / "link.json").symlink_to(outside / "secret.json")
    paths = discover(checkout, ["iam/*.json", str(outside / "secret.json")])
    assert len(paths) == 3  # found, but...
    notices = Notices()
    grants = load_declared(paths, ResolveContext(), notices, root=checkout)
    assert list(grants.roles) == ["iam/own.json"]  # ...only the checkout's own file is read
    assert notices.count("outside-checkout") == 2
    # a scan from a subfolder may read the rest of its repository
    (checkout / "app").mkdir()
    inner = load_declared([checkout / "iam" / "own.json"], ResolveContext(), Notices(),
                          root=checkout / "app")
    assert list(inner.roles) == [str(checkout / "iam" / "own.json")]


def test_a_policy_file_that_terraform_reads_with_file_is_marked_as_included(
        tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "policies").mkdir()
    document = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                '"Action": "sns:Publish", "Resource": "*"}]}')
    (tmp_path / "policies" / "notify.json").write_text(document)
    (tmp_path / "policies" / "standalone.json").write_text(document)
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "notifier"\n}\n'
        'resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.r.id\n'
        '  policy = file("${path.module}/policies/notify.json")\n}\n')
    notices = Notices()
    paths = discover(tmp_path, None)
    assert {p.name for p in paths} == {"main.tf", "notify.json", "standalone.json"}
    grants = load_declared(paths, ResolveContext(), notices, root=tmp_path)
    # still a role (a principal may be mapped to it), but not listed as unobserved
    assert sorted(grants.roles) == ["arn:aws:iam::123456789012:role/notifier",
                                    "policies/notify.json", "policies/standalone.json"]
    assert grants.included == {"policies/notify.json"}
    (statement,) = grants.roles["arn:aws:iam::123456789012:role/notifier"].statements
    assert statement.origin.file == "policies/notify.json"  # still pointing into it
    assert notices.count("policy-file-included") == 1


def test_an_included_policy_file_is_no_unobserved_role_but_keeps_a_mapped_principal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    import json

    from leastpriv_ci.cli import main

    (tmp_path / ".git").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "app.json").write_text(json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}))
    # a decoy reading the file for a role nobody runs as must not take the file away
    (tmp_path / "decoy.tf").write_text(
        'resource "aws_iam_role_policy" "p" {\n  role = "nobody"\n'
        '  policy = file("policies/app.json")\n}\n')
    function = "arn:aws:lambda:us-east-1:123456789012:function:app"
    segment = {"id": "00000000000000a1", "name": "app", "start_time": 1.0, "end_time": 2.0,
               "trace_id": "1-00000000-000000000000000000000001",
               "origin": "AWS::Lambda::Function", "aws": {"function_arn": function},
               "subsegments": [{"id": "00000000000000b1", "name": "SQS", "namespace": "aws",
                                "start_time": 1.0, "end_time": 1.5,
                                "aws": {"operation": "SendMessage", "region": "us-east-1",
                                        "queue_url": "https://sqs.us-east-1.amazonaws.com/"
                                                     "123456789012/q"}}]}
    (tmp_path / "traces.json").write_text(json.dumps({"Traces": [{
        "Id": segment["trace_id"],
        "Segments": [{"Id": segment["id"], "Document": json.dumps(segment)}]}]}))
    monkeypatch.chdir(tmp_path)
    code = main(["scan", "--traces", "traces.json", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert not [f for f in report["findings"] if f["role"] == "policies/app.json"]
    (tmp_path / ".leastpriv.yml").write_text(f"principals:\n  {function}: policies/app.json\n")
    code = main(["scan", "--traces", "traces.json", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert {(f["kind"], f["action"]) for f in report["findings"]
            if f["role"] == "policies/app.json"} >= {("missing", "sqs:SendMessage")}
    assert code == 1


def test_a_file_reached_by_two_paths_is_read_once(tmp_path: Path) -> None:
    # a cdk.json output naming a link to the assembly, and a template linked beside
    # the one it names: each file once, by the first of its paths
    assembly(tmp_path, "cdk-assembly", "App.template.json")
    (tmp_path / "out").symlink_to("cdk-assembly")
    write(tmp_path, "cdk.json", '{"app": "npx ts-node app.ts", "output": "out"}')
    write(tmp_path, "infra/template.yaml")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/template.yaml").symlink_to("../infra/template.yaml")
    assert found(tmp_path) == ["cdk-assembly/App.template.json", "infra/template.yaml"]


def test_resource_policies_of_other_files_name_a_role_by_its_arn(data_dir: Path) -> None:
    """A queue policy of another template, a bucket policy in a plain JSON file and a key
    policy of another Terraform module name the template's role by its ARN: they become
    its resource grants once every file is read (a role of the name in another account,
    or a role no file declares, gets none)."""
    folder = data_dir / "grants/elsewhere"
    paths = [folder / "app.yaml", folder / "data.yaml", folder / "bucket-policy.json",
             folder / "storage/main.tf"]
    notices = Notices()
    grants = load_declared(paths, ResolveContext(), notices)
    worker = grants.roles["arn:aws:iam::123456789012:role/worker"]
    assert sorted((s.actions, s.resources, s.origin.file.rsplit("/", 1)[-1])
                  for s in worker.resource_grants) == [
        (("kms:Decrypt",), ("<unresolved:the key policy's Resource *>",), "main.tf"),
        # the file does not say what its "*" is
        (("s3:GetObject",), ("arn:aws:s3:::reports/*",), "bucket-policy.json"),
        (("s3:PutObject",), ("<unresolved:the Resource * of bucket-policy.json>",),
         "bucket-policy.json"),
        (("sqs:SendMessage",), ("arn:aws:sqs:us-east-1:123456789012:jobs",), "data.yaml"),
    ]
    get = next(s for s in worker.resource_grants if s.actions == ("s3:GetObject",))
    assert get.conditions == {} and get.sid == "WorkerReads"
    assert worker.policies == ()
    assert "not-identity-policy" not in {n.code for n in notices.items()}
    # the resources whose policies the files declare, from every file
    assert grants.policy_resources == {
        "arn:aws:s3:::reports/*", "arn:aws:sqs:us-east-1:123456789012:jobs"}


def test_resource_policies_for_anyone_in_the_organization_grant_every_role(
    data_dir: Path,
) -> None:
    """A template's bucket policy, a plain JSON queue policy and a Terraform module's key
    policy let anyone in the organization (or the account) in: once every file is read,
    each such statement is a resource grant of every role the files declare, its
    conditions on the organization taken as held; and the roles read from the account get
    them too. A statement for anyone at all, for another account, or for all but one ARN
    grants none."""
    folder = data_dir / "grants/organization"
    paths = [folder / "app.yaml", folder / "shared.yaml", folder / "queue-policy.json",
             folder / "storage/main.tf"]
    notices = Notices()
    grants = load_declared(paths, ResolveContext(), notices)
    expected = [
        (("kms:Decrypt",), "<unresolved:the key policy's Resource *>", None, {
            "StringEquals": {"aws:PrincipalOrgID": ("o-a1b2c3d4e5",)}}),
        (("s3:GetObject",), "arn:aws:s3:::shared-reports/*", "Organization", {
            "StringEquals": {"aws:PrincipalOrgID": ("o-a1b2c3d4e5",)}}),
        (("s3:PutObject",), "arn:aws:s3:::shared-reports/*", "Account", {}),
        (("sqs:SendMessage",), "arn:aws:sqs:us-east-1:123456789012:jobs", "OrganizationUnit",
         {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": (
             "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*",)}}),
    ]
    assert len(grants.roles) == 3
    for key, role in grants.roles.items():
        got = sorted((s.actions, s.resources[0], s.sid, s.assumed) for s in role.resource_grants)
        assert got == expected, key
    get = next(s for s in grants.roles["ApiRole"].resource_grants if s.sid == "Organization")
    # the other conditions stay to be judged
    assert get.conditions == {"Bool": {"aws:SecureTransport": ("true",)}}
    assert get.origin.file.endswith("shared.yaml") and get.origin.logical_id == "SharedPolicy"
    # a role the files do not declare (read from the account) gets them once named
    other = Role(key="arn:aws:iam::123456789012:role/reader", name="reader", policies=(),
                 origin=Origin(file="iam"))
    assert sorted(s.actions[0] for s in grants.granted_to(other).resource_grants) == [
        "kms:Decrypt", "s3:GetObject", "s3:PutObject", "sqs:SendMessage"]
    assert "not-identity-policy" not in {n.code for n in notices.items()}
    # the statements for anyone at all grant no role: kept apart, from every kind of file,
    # but the key's (its "*" is the key, whose ARN is not known before deployment: it
    # would seem to open every key)
    assert sorted((s.sid, s.actions, s.resources[0], s.origin.file.rsplit("/", 1)[-1])
                  for s in grants.public_statements) == [
        ("Anyone", ("sqs:GetQueueAttributes",), "arn:aws:sqs:us-east-1:123456789012:jobs",
         "queue-policy.json"),
        ("Everyone", ("s3:ListBucket",), "arn:aws:s3:::shared-reports", "shared.yaml"),
    ]


def test_names_and_every_role_are_the_roles_of_the_policy_s_own_account(
    tmp_path: Path,
) -> None:
    """A CDK app whose stacks deploy to two accounts, each with a role named "worker": a
    bucket policy of one account's stack names its worker, and lets anyone in its
    organization in; the other account's stack names its own worker. Each statement
    reaches the roles of its own account only; what may name a role read from IAM is the
    scan's account's."""
    worker = {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": "worker", "AssumeRolePolicyDocument": {}}}

    def bucket_policy(bucket: str, account: str, org: bool) -> dict[str, object]:
        statements: list[dict[str, object]] = [{
            "Sid": f"Worker{account}", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:role/worker"},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]
        if org:
            statements.append({
                "Sid": "Organization", "Effect": "Allow", "Principal": "*",
                "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}})
        return {"Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": bucket, "PolicyDocument": {"Version": "2012-10-17",
                                                 "Statement": statements}}}}

    stacks = {"Home": ("123456789012", {"Worker": worker}),
              "HomeData": ("123456789012", bucket_policy("home", "123456789012", True)),
              "Away": ("222222222222", {"Worker": worker}),
              "AwayData": ("222222222222", bucket_policy("away", "222222222222", False))}
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "cdk.out").write_text('{"version": "36.0.0"}')
    (out / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {
        name: {"type": "aws:cloudformation:stack", "environment": f"aws://{account}/us-east-1",
               "properties": {"templateFile": f"{name}.template.json"}}
        for name, (account, _) in stacks.items()}}))
    for name, (_, resources) in stacks.items():
        (out / f"{name}.template.json").write_text(json.dumps({"Resources": resources}))

    grants = load_declared(discover(tmp_path), ResolveContext(), Notices(), root=tmp_path)

    home = grants.roles["arn:aws:iam::123456789012:role/worker"]
    away = grants.roles["arn:aws:iam::222222222222:role/worker"]
    assert sorted(s.sid or "" for s in home.resource_grants) == [
        "Organization", "Worker123456789012"]
    assert [s.sid for s in away.resource_grants] == ["Worker222222222222"]
    # for a role read from the account (the scan's): the home account's statements only
    assert [(name, s.sid) for name, s in grants.granted_by_name] == [("*", "Organization")]
