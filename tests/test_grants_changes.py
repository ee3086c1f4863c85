from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.changes import load_at_ref, role_changes
from leastpriv_ci.grants.declared import discover, load_declared
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.notices import Notices

ROLE = "arn:aws:iam::123456789012:role/orders-dev-us-east-1"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, data_dir: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    shutil.copy(data_dir / "grants/cfn/template.yaml", tmp_path / "template.yaml")
    (tmp_path / "iam").mkdir()
    shutil.copy(data_dir / "grants/iam/orders-api.json", tmp_path / "iam/orders-api.json")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def test_pr_that_grants_s3_star_is_reported_with_its_line(repo: Path) -> None:
    template = repo / "template.yaml"
    text = template.read_text().replace(
        "                Action: s3:PutObject\n", "                Action: 's3:*'\n")
    template.write_text(text)
    (repo / "iam/orders-api.json").unlink()
    context = ResolveContext()
    base = load_at_ref(repo, "HEAD", context, Notices())
    head = load_declared(discover(repo), context, Notices(), root=repo)
    changes = role_changes(base, head)
    assert set(changes) == {ROLE, "iam/orders-api.json"}
    assert changes["iam/orders-api.json"]["status"] == "removed"  # type: ignore[index]
    change = changes[ROLE]
    assert change["status"] == "changed"  # type: ignore[index]
    assert change["added"] == [{  # type: ignore[index]
        "statement": {"Effect": "Allow", "Action": "s3:*",
                      "Resource": "arn:aws:s3:::orders-archive-dev/*"},
        "origin": {"file": "template.yaml", "line": 52, "logical_id": "OrdersRole",
                   "policy_arn": None, "policy_name": "tables"},
    }]
    assert [r["statement"]["Action"] for r in change["removed"]] == [  # type: ignore[index]
        "s3:PutObject"]
    diff = change["diff"]  # type: ignore[index]
    assert diff["Policies"]["tables"]["Statement"]["1"]["Action"] == ["s3:PutObject", "s3:*"]


def test_unchanged_grants_report_nothing(repo: Path) -> None:
    context = ResolveContext()
    base = load_at_ref(repo, "HEAD", context, Notices())
    head = load_declared(discover(repo), context, Notices(), root=repo)
    assert role_changes(base, head) == {}


def test_missing_base_commit_is_a_user_error(repo: Path) -> None:
    with pytest.raises(UserError, match="fetch-depth"):
        load_at_ref(repo, "0" * 40, ResolveContext(), Notices())


def test_a_folder_in_no_repository_is_told_so(tmp_path: Path) -> None:
    # actions/checkout with path: app: the workspace holds the repository in a folder
    (tmp_path / "app").mkdir()
    with pytest.raises(UserError, match="is in no git repository") as raised:
        load_at_ref(tmp_path, "HEAD", ResolveContext(), Notices())
    assert "fetch-depth" not in str(raised.value)  # not a missing commit


def test_a_base_ref_that_git_would_read_as_an_option_is_refused(repo: Path) -> None:
    with pytest.raises(UserError, match="is not a git revision"):
        load_at_ref(repo, "--output=/tmp/owned", ResolveContext(), Notices())


def test_terraform_module_instances_compare_alike_at_the_base(tmp_path: Path) -> None:
    # The base copy is a checkout of its own: a module's callers are found there too, so
    # an unchanged module call reports nothing.
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "modules" / "fn").mkdir(parents=True)
    (tmp_path / "modules" / "fn" / "main.tf").write_text(
        'variable "name" {}\n'
        'resource "aws_iam_role" "this" {\n  name = "${var.name}-role"\n}\n'
        'resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.this.id\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", '
        'Action = "sqs:SendMessage", Resource = "*"}]})\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "orders" {\n  source = "./modules/fn"\n  name = "orders"\n}\n')
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    context = ResolveContext()
    base = load_at_ref(tmp_path, "HEAD", context, Notices())
    assert list(base.roles) == ["arn:aws:iam::123456789012:role/orders-role"]
    head = load_declared(discover(tmp_path), context, Notices(), root=tmp_path)
    assert role_changes(base, head) == {}


def test_a_file_at_a_revision_git_would_read_as_an_option_is_refused(repo: Path) -> None:
    from leastpriv_ci.git import file_at

    with pytest.raises(UserError, match="is not a git revision"):
        file_at(repo, "--output=x", ".leastpriv.yml", 1000)


def test_a_file_at_a_revision_is_none_only_when_absent(repo: Path) -> None:
    """A link, or a folder, is not taken for no file: the error says what is there."""
    from leastpriv_ci.git import file_at

    (repo / "linked.json").symlink_to("iam/orders-api.json")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a link")
    assert file_at(repo, "HEAD", "nothing.json", 1000) is None
    assert file_at(repo, "HEAD", "iam/orders-api.json", 100_000)
    with pytest.raises(UserError, match=r"^linked\.json at HEAD: is a symbolic link there, not "
                                        r"a file: links are not followed at the base commit"):
        file_at(repo, "HEAD", "linked.json", 1000)
    with pytest.raises(UserError, match=r"^iam at HEAD: is a folder there, not a file, so it"):
        file_at(repo, "HEAD", "iam", 1000)


def test_cdk_stacks_at_the_base_go_by_their_manifests(tmp_path: Path, data_dir: Path) -> None:
    # Two CDK apps, each with a stack Api deployed under another name: at the base as at
    # the head, two stacks and two roles, so an unchanged checkout reports nothing.
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    template = data_dir / "cdk_assembly/cdk.out/assembly-Prod/ProdApiStack6A2B1C3D.template.json"
    for app in ("orders", "billing"):
        folder = tmp_path / app / "cdk.out"
        folder.mkdir(parents=True)
        shutil.copy(template, folder / "Api.template.json")
        (folder / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {
            "Api": {"type": "aws:cloudformation:stack",
                    "properties": {"templateFile": "Api.template.json",
                                   "stackName": f"{app}-api"}}}}))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    context = ResolveContext()
    base = load_at_ref(tmp_path, "HEAD", context, Notices())
    assert sorted(b.stack or "" for b in base.bindings) == ["billing-api", "orders-api"]
    head = load_declared(discover(tmp_path), context, Notices(), root=tmp_path)
    assert len(base.roles) == len(head.roles) == 2
    assert role_changes(base, head) == {}


def test_base_blobs_over_the_limits_are_never_read(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At the base as at the head, an infrastructure file or a CDK manifest over 8 MiB is
    # skipped with the loaders' own warning, and git never hands its bytes over
    from leastpriv_ci.grants import changes

    huge = b"{" + b" " * (9 * 1024 * 1024) + b"}"
    (repo / "policies").mkdir()
    (repo / "policies" / "huge.json").write_bytes(huge)
    app = repo / "app" / "cdk.out"
    app.mkdir(parents=True)
    (app / "Api.template.json").write_text((repo / "template.yaml").read_text())
    (app / "manifest.json").write_bytes(huge)
    (repo / "cdk.json").write_bytes(b'{"output": "synth"' + b" " * (2 * 1024 * 1024) + b"}")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "large files")
    shown: list[str] = []
    real = changes.git_bytes

    def recorded(folder: Path, *args: str) -> bytes:
        shown.append(args[-1])
        return real(folder, *args)

    monkeypatch.setattr(changes, "git_bytes", recorded)
    notices = Notices()
    base = load_at_ref(repo, "HEAD", ResolveContext(), notices)
    assert sorted(shown) == ["HEAD:./app/cdk.out/Api.template.json", "HEAD:./iam/orders-api.json",
                             "HEAD:./template.yaml"]
    [too_large] = [n for n in notices.items() if n.code == "base-file-too-large"]
    assert too_large.examples[0].startswith("policies/huge.json (")
    [manifest] = [n for n in notices.items() if n.code == "base-cdk-manifest-unreadable"]
    assert "app/cdk.out/manifest.json" in manifest.examples[0]
    assert "over the 8388608-byte limit" in manifest.examples[0]
    [app_config] = [n for n in notices.items() if n.code == "base-cdk-json-unreadable"]
    assert app_config.examples == (
        "cdk.json (file is 2097171 bytes, over the 1048576-byte limit)",)
    assert base.roles  # the rest is read


def test_links_at_the_base_are_not_read_as_files(repo: Path) -> None:
    # git show of a link gives its target's path: never parsed as the template it stands for
    (repo / "iam" / "linked.json").symlink_to("/etc/passwd")
    (repo / "service").mkdir()
    (repo / "service" / "template.yaml").symlink_to("../template.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "links")
    notices = Notices()
    base = load_at_ref(repo, "HEAD", ResolveContext(), notices)
    [links] = [n for n in notices.items() if n.code == "base-link-not-followed"]
    assert links.examples == ("iam/linked.json, service/template.yaml",)
    assert not notices.count("base-not-infrastructure")
    head = load_declared(discover(repo), ResolveContext(), Notices(), root=repo)
    assert set(base.roles) <= set(head.roles)


def test_assemblies_synthesized_elsewhere_are_found_at_the_base_too(
        tmp_path: Path, data_dir: Path) -> None:
    # cdk synth --output synth-out, and an app whose cdk.json names build/cdk-assembly:
    # at the base as at the head, so an unchanged checkout reports nothing
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    for folder in ("synth-out", "billing/build/cdk-assembly"):
        shutil.copytree(data_dir / "cdk_assembly/cdk.out", tmp_path / folder)
        (tmp_path / folder / "cdk.out").write_text('{"version":"36.0.0"}')
        (tmp_path / folder / "asset.0a1b/Bundled.template.json").parent.mkdir()
        (tmp_path / folder / "asset.0a1b/Bundled.template.json").write_text("{}")
    # written by PowerShell: a byte order mark first, which the CDK CLI reads past
    (tmp_path / "billing/cdk.json").write_bytes(b'\xef\xbb\xbf{"output": "build/cdk-assembly"}')
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders/cdk.json").write_text('{"output": "../../elsewhere"}')
    (tmp_path / "cdk.json").write_text('{"output": ')
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    context, notices = ResolveContext(), Notices()
    base = load_at_ref(tmp_path, "HEAD", context, notices)
    head = load_declared(discover(tmp_path), context, Notices(), root=tmp_path)
    assert sorted(base.files) == sorted(head.files) == [
        "billing/build/cdk-assembly/assembly-Dev/DevApiStack9E8F7A6B.template.json",
        "billing/build/cdk-assembly/assembly-Prod/ProdApiStack6A2B1C3D.template.json",
        "synth-out/assembly-Dev/DevApiStack9E8F7A6B.template.json",
        "synth-out/assembly-Prod/ProdApiStack6A2B1C3D.template.json",
    ]
    assert {b.stack for b in base.bindings} == {"Dev-ApiStack", "Prod-ApiStack"}
    assert role_changes(base, head) == {}
    assert {n.code: n.examples for n in notices.items()
            if n.code.startswith("base-cdk")} == {
        "base-cdk-json-unreadable": ("cdk.json:1 (Expecting value)",),
        "base-cdk-output-ignored": ("orders/cdk.json:1 ('../../elsewhere')",)}


def test_files_under_names_that_are_not_utf8_are_read_at_the_base_as_at_the_head(
        repo: Path) -> None:
    # git and Linux allow any bytes but / and NUL in a name: such a folder in the pull
    # request (here holding an app's cdk.json and a template) must not stop the scan
    folder = Path(os.fsdecode(bytes(repo) + b"/app-\xff"))
    folder.mkdir()
    (folder / "cdk.json").write_text('{"output": "synth"}')
    (folder / "synth").mkdir()
    (folder / "synth/Api.template.json").write_text(
        json.dumps({"Resources": {"ApiRole": {"Type": "AWS::IAM::Role", "Properties": {}}}}))
    shutil.copy(repo / "template.yaml", folder / "template.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a folder named in Latin-1")
    context = ResolveContext()
    base = load_at_ref(repo, "HEAD", context, Notices())
    head = load_declared(discover(repo), context, Notices(), root=repo)
    assert sorted(base.files) == sorted(head.files)
    assert "app-\udcff/synth/Api.template.json" in base.files
    assert role_changes(base, head) == {}


def test_the_base_s_cdk_json_files_count_toward_the_limit_of_files_read(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each cdk.json at the base is one git show, as each infrastructure file: a commit of
    # countless apps is refused before any is read, not read one subprocess at a time
    from leastpriv_ci.grants import changes

    for app in ("a", "b", "c"):
        (repo / app).mkdir()
        (repo / app / "cdk.json").write_text('{"output": "out"}')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "apps")
    monkeypatch.setattr(changes, "MAX_BASE_FILES", 2)
    shown: list[str] = []
    monkeypatch.setattr(changes, "git_bytes", lambda *args: shown.append(args[-1]) or b"{}")
    with pytest.raises(UserError, match=r"3 cdk\.json files at HEAD, over the limit of 2"):
        load_at_ref(repo, "HEAD", ResolveContext(), Notices())
    assert shown == []
    monkeypatch.setattr(changes, "MAX_BASE_FILES", 3)
    load_at_ref(repo, "HEAD", ResolveContext(), Notices())
    assert len(shown) == 5  # the three cdk.json, then template.yaml and the policy
