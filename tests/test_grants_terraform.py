"""Terraform HCL source: the three policy styles, references, bindings, file:line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.declared import load_declared
from leastpriv_ci.grants.managed import is_placeholder
from leastpriv_ci.grants.model import GrantSet, ResolveContext
from leastpriv_ci.grants.sources import terraform
from leastpriv_ci.grants.undecided import TEMPLATE_CONDITION
from leastpriv_ci.notices import Notices

APP = Path(__file__).parent / "data" / "grants" / "terraform" / "app"
ACCOUNT = "123456789012"
API = f"arn:aws:iam::{ACCOUNT}:role/service/notes-staging-api"
WORKER = f"arn:aws:iam::{ACCOUNT}:role/notes-staging-worker"


def _load(path: Path, **context: object) -> tuple[GrantSet, Notices]:
    notices = Notices()
    return terraform.load(path, ResolveContext(**context), notices), notices  # type: ignore[arg-type]


def test_detects_tf_files() -> None:
    assert terraform.detect(Path("infra/main.tf"))
    assert not terraform.detect(Path("infra/main.tfvars"))


def test_a_tf_file_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "iam.tf"
    path.write_bytes(b'resource "aws_iam_role" "r" {\n  name = "caf\xe9"\n}\n')
    with pytest.raises(UserError, match=r"iam\.tf: cannot read Terraform file: not UTF-8"):
        terraform.load(path, ResolveContext(), Notices())


def test_inline_policy_with_jsonencode_keeps_object_lines() -> None:
    grants, _ = _load(APP / "iam.tf")
    role = grants.roles[API]
    assert role.name == "notes-staging-api"
    assert (role.origin.file, role.origin.line, role.origin.logical_id) == (
        str(APP / "iam.tf"), 13, "aws_iam_role.api")
    inline = role.policies[0]
    assert inline.name == "notes-table"
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/notes-staging-notes"
    assert [(s.origin.line, s.to_json()) for s in inline.statements] == [
        (27, {"Sid": "ReadWrite", "Effect": "Allow",
              "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
              "Resource": [table, f"{table}/index/*"]}),
        # name_prefix: the topic's name is chosen at apply time.
        (36, {"Effect": "Allow", "Action": "sns:Publish",
              "Resource": "<unresolved:aws_sns_topic.alerts.arn>"}),
    ]


def test_managed_arns_and_permissions_boundary() -> None:
    grants, _ = _load(APP / "iam.tf")
    role = grants.roles[API]
    assert role.policies[1].origin.policy_arn == (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    assert role.policies[1].statements[0].actions == (
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    assert role.boundary is not None
    assert role.boundary.origin.policy_arn == f"arn:aws:iam::{ACCOUNT}:policy/boundary"


def test_role_policy_heredoc_lines_and_interpolations() -> None:
    grants, notices = _load(APP / "iam.tf")
    heredoc = grants.roles[API].policies[2]
    assert (heredoc.name, heredoc.origin.logical_id) == (
        "attachments", "aws_iam_role_policy.attachments")
    assert [(s.origin.line, s.to_json()) for s in heredoc.statements] == [
        (54, {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
              "Resource": "arn:aws:s3:::notes-staging-attachments/*"}),
        # A variable without a default stays unresolved, spelled as written.
        (59, {"Effect": "Allow", "Action": "kms:Decrypt",
              "Resource": "<unresolved:${var.kms_key_arn}>"}),
    ]
    assert notices.count("terraform-variable-without-default") == 1


def test_policy_document_attachment_and_file_policy() -> None:
    grants, _ = _load(APP / "iam.tf")
    role = grants.roles[WORKER]
    assert [p.name for p in role.policies] == [
        "notes-staging-worker", "AWSLambdaBasicExecutionRole", "aws_iam_role_policy.from_file"]
    document = role.policies[0]
    assert [(s.origin.line, s.origin.logical_id, s.to_json()) for s in document.statements] == [
        (71, "data.aws_iam_policy_document.worker",
         {"Sid": "Consume", "Effect": "Allow",
          "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
          "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:notes-staging-events"}),
        (77, "data.aws_iam_policy_document.worker",
         {"Effect": "Deny", "NotAction": "s3:GetObject",
          "Resource": "arn:aws:s3:::notes-staging-attachments/*",
          "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}),
    ]
    # The attachment naming the role by its literal name is matched too.
    assert role.policies[1].origin.logical_id == "aws_iam_role_policy_attachment.worker_logs"
    # file(): the statement points into the JSON file it came from.
    from_file = role.policies[2].statements[0]
    assert (from_file.origin.file, from_file.origin.line) == (
        str(APP / "policies" / "reports.json"), 4)
    assert from_file.to_json() == {"Effect": "Allow", "Action": "s3:ListBucket",
                                   "Resource": "arn:aws:s3:::notes-reports"}


def test_bindings_and_per_file_ownership() -> None:
    grants, _ = _load(APP / "iam.tf")
    assert [(b.function, b.role, b.names, b.origin.line) for b in grants.bindings] == [
        ("notes-staging-api", API, ("aws_lambda_function.api",), 114),
        ("notes-staging-worker", WORKER, ("aws_lambda_function.worker",), 121),
    ]
    # storage.tf declares no role or function; its values were used as context above.
    storage, _ = _load(APP / "storage.tf")
    assert storage.roles == {} and storage.bindings == ()


def test_scan_context_and_variable_overrides(tmp_path: Path) -> None:
    grants, _ = _load(APP / "iam.tf", region="eu-central-1", account="999988887777",
                      parameters={"var.env": "prod"})
    role = grants.roles["arn:aws:iam::999988887777:role/service/notes-prod-api"]
    assert role.statements[0].resources[0] == (
        "arn:aws:dynamodb:eu-central-1:999988887777:table/notes-prod-notes")
    condition = grants.roles["arn:aws:iam::999988887777:role/notes-prod-worker"] \
        .statements[1].conditions
    assert condition == {"StringNotEquals": {"aws:RequestedRegion": ("eu-central-1",)}}


def test_malformed_hcl_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text('resource "aws_iam_role" "r" {\n  name = "x"\n  path = = "/"\n}\n')
    with pytest.raises(UserError) as info:
        _load(path)
    assert str(info.value).startswith(f"{path}:3:")


def test_malformed_sibling_is_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "broken.tf").write_text("resource {{{\n")
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "r"\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert list(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/r"]
    assert notices.count("terraform-module-file-skipped") == 1


def test_file_outside_the_module_is_refused(tmp_path: Path) -> None:
    module = tmp_path / "module"
    module.mkdir()
    (tmp_path / "secret.json").write_text('{"Statement": []}')
    (module / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "r"\n}\n'
        'resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.r.id\n'
        '  policy = file("../secret.json")\n}\n')
    grants, notices = _load(module / "main.tf")
    policy = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].policies[0]
    assert policy.statements[0].actions[0].startswith("<unresolved:")
    assert notices.count("terraform-file-outside-module") == 1
    # a symlink loop names no file at all: refused the same way, not a crash
    (module / "loop.json").symlink_to(module / "loop.json")
    (module / "main.tf").write_text((module / "main.tf").read_text().replace(
        "../secret.json", "loop.json"))
    _, notices = _load(module / "main.tf")
    assert notices.count("terraform-file-outside-module") == 1


def test_templatefile_and_unknown_functions_stay_unresolved(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "t"\n'
        '    policy = templatefile("p.tpl", {})\n  }\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    statement = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements[0]
    assert statement.actions[0].startswith("<unresolved:policy templatefile(")
    assert statement.origin.line == 5
    assert notices.count("terraform-templatefile") == 1


def test_reference_cycles_end(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'locals {\n  a = local.b\n  b = local.a\n}\n'
        'resource "aws_iam_role" "r" {\n  name = local.a\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert list(grants.roles) == ["aws_iam_role.r"]  # name unknown → keyed by address
    assert notices.count("terraform-reference-cycle") >= 1


def test_exponential_locals_are_bounded(tmp_path: Path) -> None:
    levels = [f'  l{i} = [local.l{i + 1}, local.l{i + 1}, local.l{i + 1}, local.l{i + 1}]'
              for i in range(12)]
    (tmp_path / "main.tf").write_text(
        "locals {\n" + "\n".join(levels) + '\n  l12 = ["arn:aws:s3:::b"]\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "p"\n'
        '    policy = jsonencode({Statement = [{Effect = "Allow", Action = "s3:GetObject",\n'
        '      Resource = flatten(local.l0)}]})\n  }\n}\n'
        'resource "aws_iam_role" "s" {\n  name = join(",", flatten(local.l0))\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    policy = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].policies[0]
    assert policy.statements[0].actions == ("s3:GetObject",)
    assert policy.statements[0].resources == ("<unresolved:flatten(local.l0)>",)
    assert "aws_iam_role.s" in grants.roles  # name unknown → keyed by address
    assert notices.count("terraform-eval-limit") >= 1


def test_policy_for_a_role_no_file_declares_is_warned(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role_policy" "p" {\n  role   = "made-elsewhere"\n'
        '  policy = jsonencode({Statement = []})\n}\n'
        'resource "aws_iam_role_policy" "q" {\n  role   = var.unknown\n'
        '  policy = jsonencode({Statement = []})\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert grants.roles == {}
    assert [name for name, _ in grants.attached] == ["made-elsewhere"]  # for another file
    assert notices.count("terraform-role-not-in-module") == 1  # var.unknown: no name at all
    notices = Notices()
    declared = load_declared([tmp_path / "main.tf"], ResolveContext(), notices)
    assert list(declared.roles) == [f"arn:aws:iam::{ACCOUNT}:role/made-elsewhere"]  # partly
    assert declared.attached == ()
    assert notices.count("attached-role-not-declared") == 1


def test_policies_attached_across_modules_reach_the_role_where_it_is_declared(
        tmp_path: Path) -> None:
    # The root attaches to roles its modules declare (one call, and one instance of a
    # call with for_each); a module attaches to the role its caller passes by name.
    (tmp_path / ".git").mkdir()
    (tmp_path / "modules" / "fn").mkdir(parents=True)
    (tmp_path / "modules" / "fn" / "main.tf").write_text(
        'variable "name" {}\nvariable "shared_role" {}\n'
        'resource "aws_iam_role" "r" {\n  name = "${var.name}-role"\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = var.name\n'
        '  role = aws_iam_role.r.arn\n}\n'
        'resource "aws_iam_role_policy" "to_shared" {\n  name = "from-${var.name}"\n'
        '  role = var.shared_role\n'
        '  policy = jsonencode({Statement = [{Effect = "Allow", Action = "sns:Publish",'
        ' Resource = "*"}]})\n}\n'
        'output "role_name" {\n  value = aws_iam_role.r.name\n}\n')
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "shared" {\n  name = "shared"\n}\n'
        'module "one" {\n  source = "./modules/fn"\n  name = "one"\n'
        '  shared_role = aws_iam_role.shared.name\n}\n'
        'module "many" {\n  source = "./modules/fn"\n  for_each = toset(["a", "b"])\n'
        '  name = each.key\n  shared_role = aws_iam_role.shared.name\n}\n'
        'resource "aws_iam_policy" "extra" {\n  name = "extra"\n'
        '  policy = jsonencode({Statement = [{Effect = "Allow", Action = "sqs:SendMessage",'
        ' Resource = "*"}]})\n}\n'
        'resource "aws_iam_role_policy_attachment" "one" {\n'
        '  role = module.one.role_name\n  policy_arn = aws_iam_policy.extra.arn\n}\n'
        'resource "aws_iam_role_policy_attachment" "a" {\n'
        '  role = module.many["a"].role_name\n  policy_arn = aws_iam_policy.extra.arn\n}\n'
        'resource "aws_iam_role_policy_attachment" "each" {\n  for_each = module.many\n'
        '  role = each.value.role_name\n'
        '  policy_arn = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"\n}\n')
    notices = Notices()
    declared = load_declared([tmp_path / "main.tf", tmp_path / "modules" / "fn" / "main.tf"],
                             ResolveContext(account=ACCOUNT), notices)
    granted = {key.rsplit("/", 1)[1]: sorted(a for s in role.statements for a in s.actions
                                             if not a.startswith("xray:"))
               for key, role in declared.roles.items()}
    assert granted == {"one-role": ["sqs:SendMessage"], "a-role": ["sqs:SendMessage"],
                       "b-role": [], "shared": ["sns:Publish"] * 3}
    # for_each over the module's instances: each instance's outputs
    xray = {key.rsplit("/", 1)[1] for key, role in declared.roles.items()
            if any(p.name == "AWSXrayWriteOnlyAccess" for p in role.policies)}
    assert xray == {"a-role", "b-role"}
    assert {p.name for p in declared.roles[f"arn:aws:iam::{ACCOUNT}:role/shared"].policies} \
        == {"from-one", "from-a", "from-b"}
    assert notices.count("terraform-role-not-in-module") == 0
    assert notices.count("attached-role-not-declared") == 0


def test_files_without_iam_or_functions_are_not_parsed(tmp_path: Path) -> None:
    # Broken, but declares nothing this source reads: skipped without parsing it.
    (tmp_path / "network.tf").write_text('resource "aws_vpc" "v" {\n  cidr_block = = 1\n}\n')
    grants, notices = _load(tmp_path / "network.tf")
    assert grants.roles == {} and grants.bindings == ()
    assert grants.files == (str(tmp_path / "network.tf"),)
    assert len(notices) == 0


def test_plain_heredoc_and_interpolated_document_reference(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  name = "r"\n}\n'
        'resource "aws_iam_role_policy" "a" {\n  role = "${aws_iam_role.r.name}"\n'
        '  policy = <<EOF\n{\n  "Statement": {\n    "Effect": "Allow",\n'
        '    "Action": "sqs:SendMessage",\n    "Resource": "*"\n  }\n}\nEOF\n}\n'
        'data "aws_iam_policy_document" "d" {\n  statement {\n'
        '    actions = ["sns:Publish"]\n    principals {\n      type = "AWS"\n'
        '      identifiers = ["*"]\n    }\n  }\n'
        '  statement {\n    actions = ["sns:Subscribe"]\n    resources = ["*"]\n'
        '    principals {\n      type = "Service"\n'
        '      identifiers = ["events.amazonaws.com"]\n    }\n  }\n}\n'
        'resource "aws_iam_role_policy" "b" {\n  role = aws_iam_role.r.id\n'
        '  policy = "${data.aws_iam_policy_document.d.json}"\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    role = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"]
    assert [(s.origin.line, s.actions, s.resources, s.principal) for s in role.statements] == [
        (8, ("sqs:SendMessage",), ("*",), None),
        (24, ("sns:Subscribe",), ("*",), {"Service": ["events.amazonaws.com"]}),
    ]
    # A document statement without resources is not a valid identity policy (IAM refuses
    # it); it is skipped and counted, never read as "every resource".
    assert notices.count("terraform-bad-statement") == 1
    assert [p.name for p in role.policies] == ["aws_iam_role_policy.a", "aws_iam_role_policy.b"]


def test_a_sibling_tf_file_linked_from_outside_the_repository_is_not_read(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "elsewhere" / "vars.tf"
    outside.parent.mkdir()
    outside.write_text('variable "name" {\n  default = "from-outside"\n}\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "iam.tf").write_text('resource "aws_iam_role" "r" {\n  name = var.name\n}\n')
    (repo / "vars.tf").symlink_to(outside)
    grants, notices = _load(repo / "iam.tf")
    assert list(grants.roles) == ["aws_iam_role.r"]  # var.name stays unknown
    assert notices.count("outside-checkout") == 1
    (repo / "vars.tf").unlink()
    (repo / "vars.tf").write_text(outside.read_text())  # the same file inside: read
    grants, _ = _load(repo / "iam.tf")
    assert list(grants.roles) == ["arn:aws:iam::123456789012:role/from-outside"]


def test_count_for_each_and_module_calls_are_named_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        '# module "commented" {}\n'
        'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n'
        'module "api" {\n  source = "./modules/api"\n}\n'
        'module "workers" {\n  source = "./modules/worker"\n  count  = var.n\n}\n'
        'variable "n" {}\n')
    (tmp_path / "iam.tf").write_text(
        'variable "names" {}\n'
        'resource "aws_iam_role" "per_fn" {\n  for_each = toset(var.names)\n'
        '  name = "fn-${each.key}"\n}\n'
        'resource "aws_s3_bucket" "b" {\n  count = var.n\n}\n')
    _, notices = _load(tmp_path / "main.tf")
    (remote,) = [n for n in notices.items() if n.code == "terraform-module-not-followed"]
    assert remote.examples == (f"{tmp_path / 'main.tf'}:2 module.vpc",)  # local ones are
    assert "terraform show -json" in remote.message
    # a call whose count is not known offline: its module's roles are read once
    (tmp_path / ".git").mkdir()
    (tmp_path / "modules" / "worker").mkdir(parents=True)
    (tmp_path / "modules" / "worker" / "main.tf").write_text(
        'resource "aws_iam_role" "w" {\n  name = "worker"\n}\n')
    grants, notices = _load(tmp_path / "modules" / "worker" / "main.tf")
    assert grants.roles[f"arn:aws:iam::{ACCOUNT}:role/worker"].origin.logical_id == (
        "module.workers.aws_iam_role.w")
    (count,) = [n for n in notices.items() if n.code == "terraform-count-not-expanded"]
    assert count.examples == (f"{tmp_path / 'main.tf'}:8 module.workers",)
    _, notices = _load(tmp_path / "iam.tf")
    (count,) = [n for n in notices.items() if n.code == "terraform-count-not-expanded"]
    assert count.examples == (f"{tmp_path / 'iam.tf'}:2 aws_iam_role.per_fn",)  # not the bucket


FUNCTION_MODULE = """\
variable "name" {}
variable "table_arn" {}
variable "path" {
  default = "/"
}

resource "aws_iam_role" "this" {
  name = "${var.name}-role"
  path = var.path
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "data" {
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem"]
      Resource = var.table_arn
    }]
  })
}

resource "aws_lambda_function" "this" {
  function_name = var.name
  role          = aws_iam_role.this.arn
}
"""


def _repository(root: Path) -> Path:
    (root / ".git").mkdir()
    module = root / "modules" / "fn"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(FUNCTION_MODULE)
    (root / "stacks").mkdir()
    (root / "stacks" / "main.tf").write_text(
        'variable "env" {\n  default = "staging"\n}\n'
        'resource "aws_dynamodb_table" "orders" {\n  name = "orders-${var.env}"\n}\n'
        'module "orders" {\n  source    = "../modules/fn"\n  name      = "orders-${var.env}"\n'
        '  table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-${var.env}"\n}\n'
        'module "billing" {\n  source    = "../modules/fn"\n  name      = "billing"\n'
        '  table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/bills"\n'
        '  path      = "/billing/"\n}\n')
    return module / "main.tf"


def test_a_local_module_is_read_once_per_call_with_its_arguments(tmp_path: Path) -> None:
    grants, notices = _load(_repository(tmp_path))
    orders = f"arn:aws:iam::{ACCOUNT}:role/orders-staging-role"
    billing = f"arn:aws:iam::{ACCOUNT}:role/billing/billing-role"
    assert sorted(grants.roles) == sorted([orders, billing])
    (statement,) = grants.roles[orders].policies[0].statements
    assert statement.resources == ("arn:aws:dynamodb:eu-west-1:123456789012:table/orders-staging",)
    assert statement.origin.file == str(tmp_path / "modules" / "fn" / "main.tf")
    (statement,) = grants.roles[billing].policies[0].statements
    assert statement.resources == ("arn:aws:dynamodb:eu-west-1:123456789012:table/bills",)
    assert grants.roles[orders].origin.logical_id == "module.orders.aws_iam_role.this"
    assert {(b.function, b.role, b.names) for b in grants.bindings} == {
        ("orders-staging", orders, ("module.orders.aws_lambda_function.this",)),
        ("billing", billing, ("module.billing.aws_lambda_function.this",)),
    }
    assert not notices.count("terraform-variable-without-default")
    assert not notices.count("terraform-module-not-followed")


def test_a_module_nobody_calls_keeps_its_inputs_unresolved(tmp_path: Path) -> None:
    path = _repository(tmp_path)
    (tmp_path / "stacks" / "main.tf").unlink()
    grants, notices = _load(path)
    assert list(grants.roles) == ["aws_iam_role.this"]
    assert notices.count("terraform-variable-without-default") >= 1


def test_calls_from_outside_the_repository_or_to_other_folders_are_not_followed(
        tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    path = _repository(repo)
    (tmp_path / "outside.tf").write_text(
        'module "x" {\n  source = "./repo/modules/fn"\n  name = "outside"\n}\n')
    (repo / "stacks" / "main.tf").write_text(
        'module "other" {\n  source = "../modules/other"\n  name = "other"\n}\n'
        'module "escape" {\n  source = "../../repo/modules/fn"\n  name = "escape"\n}\n')
    grants, _ = _load(path)
    # "../../repo/modules/fn" leaves the repository on its way: Terraform would follow it,
    # and it does name this module, so it counts; the file outside the repository does not
    assert list(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/escape-role"]


def test_callers_added_after_a_first_read_are_found(tmp_path: Path) -> None:
    path = _repository(tmp_path)
    stacks = tmp_path / "stacks" / "main.tf"
    text = stacks.read_text()
    stacks.unlink()
    (tmp_path / "stacks" / "other.tf").write_text('variable "unrelated" {}\n')
    grants, _ = _load(path)
    assert list(grants.roles) == ["aws_iam_role.this"]
    stacks.write_text(text)  # into a folder the first read walked through
    grants, _ = _load(path)
    assert len(grants.roles) == 2


def test_instances_of_one_module_are_capped(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terraform, "MAX_MODULE_CALLS", 1)
    grants, notices = _load(_repository(tmp_path))
    assert list(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/orders-staging-role"]
    assert notices.count("terraform-module-calls-capped") == 1


def _policy_resources(tmp_path: Path, resource: str, extra: str = "") -> tuple[str, ...]:
    (tmp_path / "main.tf").write_text(
        'variable "tables" {\n  default = ["orders", "lines", "audit"]\n}\n'
        'locals {\n'
        '  buckets = {logs = "arn:aws:s3:::logs", data = "arn:aws:s3:::data"}\n}\n' + extra +
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "p"\n'
        '    policy = jsonencode({Statement = [{Effect = "Allow", Action = "dynamodb:Query",\n'
        f'      Resource = {resource}}}]}})\n  }}\n}}\n')
    grants, _ = _load(tmp_path / "main.tf")
    (statement,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    return statement.resources


def test_for_expressions_build_lists_and_objects(tmp_path: Path) -> None:
    table = "arn:aws:dynamodb:eu-west-1:1:table"
    assert _policy_resources(tmp_path, f'[for t in var.tables : "{table}/${{t}}"]') == (
        f"{table}/orders", f"{table}/lines", f"{table}/audit")
    assert _policy_resources(
        tmp_path, f'[for t in var.tables : "{table}/${{t}}" if t != "audit"]') == (
        f"{table}/orders", f"{table}/lines")
    assert _policy_resources(tmp_path, f'[for i, t in var.tables : "{table}/${{i}}-${{t}}"'
                                       ' if t == "lines"]') == (f"{table}/1-lines",)
    assert _policy_resources(tmp_path, f'[\n  for t in var.tables :\n  "{table}/${{t}}"\n'
                                       '  if t != "lines"\n]') == (
        f"{table}/orders", f"{table}/audit")  # spread over lines
    assert _policy_resources(tmp_path, '[for v in {for k, arn in local.buckets : k => '
                                       '"${arn}/*"} : v if v != "arn:aws:s3:::data/*"]') \
        == ("arn:aws:s3:::logs/*",)
    # an expression the loop refers to is evaluated on its own: it does not see the loop's
    # variable (Terraform would reject this local; it must not pick up "orders" either)
    (only,) = _policy_resources(tmp_path, '[for t in var.tables : local.only if t == "orders"]',
                                f'locals {{\n  only = "{table}/${{t}}"\n}}\n')
    assert only.startswith("<unresolved:")


def test_for_expressions_that_cannot_be_evaluated_stay_unresolved(tmp_path: Path) -> None:
    for resource in ('[for t in var.missing : t]',  # no such variable
                     '[for t in var.tables : t if contains(var.missing, t)]',  # unknown if
                     '{for k, v in local.buckets : v => k...}'):  # grouping
        (only,) = _policy_resources(tmp_path, resource)
        assert only.startswith("<unresolved:"), resource


DYNAMIC = """\
variable "buckets" {
  default = ["logs", "data"]
}
locals {
  queues = {jobs = "arn:aws:sqs:eu-west-1:1:jobs", mail = "arn:aws:sqs:eu-west-1:1:mail"}
}
data "aws_iam_policy_document" "d" {
  statement {
    actions   = ["dynamodb:GetItem"]
    resources = ["arn:aws:dynamodb:eu-west-1:1:table/t"]
  }
  dynamic "statement" {
    for_each = var.buckets
    content {
      sid       = "Read${statement.key}"
      actions   = ["s3:GetObject"]
      resources = ["arn:aws:s3:::${statement.value}/*"]
    }
  }
  dynamic "statement" {
    for_each = local.queues
    iterator = queue
    content {
      sid       = queue.key
      actions   = ["sqs:SendMessage"]
      resources = [queue.value]
      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/name"
        values   = [queue.key]
      }
    }
  }
  UNEXPANDED
}
resource "aws_iam_role" "r" {
  name = "r"
}
resource "aws_iam_role_policy" "p" {
  role   = aws_iam_role.r.id
  policy = data.aws_iam_policy_document.d.json
}
"""


def test_dynamic_statements_are_expanded_over_their_for_each(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(DYNAMIC.replace("UNEXPANDED", ""))
    grants, notices = _load(tmp_path / "main.tf")
    statements = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert [(s.sid, s.actions, s.resources) for s in statements] == [
        (None, ("dynamodb:GetItem",), ("arn:aws:dynamodb:eu-west-1:1:table/t",)),
        ("Read0", ("s3:GetObject",), ("arn:aws:s3:::logs/*",)),
        ("Read1", ("s3:GetObject",), ("arn:aws:s3:::data/*",)),
        ("jobs", ("sqs:SendMessage",), ("arn:aws:sqs:eu-west-1:1:jobs",)),
        ("mail", ("sqs:SendMessage",), ("arn:aws:sqs:eu-west-1:1:mail",)),
    ]
    assert statements[3].conditions == {"StringEquals": {"aws:ResourceTag/name": ("jobs",)}}
    lines = DYNAMIC.splitlines()
    static = lines.index("  statement {") + 1
    first, second = [n + 1 for n, line in enumerate(lines) if line == "    content {"]
    assert [s.origin.line for s in statements] == [static, first, first, second, second]
    assert not notices.count("terraform-dynamic-block")


def test_dynamic_statements_that_cannot_be_expanded_are_named(tmp_path: Path) -> None:
    unknown = ('dynamic "statement" {\n    for_each = var.missing\n'
               '    content {\n      actions = ["s3:*"]\n    }\n  }')
    text = DYNAMIC.replace("UNEXPANDED", unknown)
    (tmp_path / "main.tf").write_text(text)
    grants, notices = _load(tmp_path / "main.tf")
    statements = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    (notice,) = [n for n in notices.items() if n.code == "terraform-dynamic-block"]
    line = text.splitlines().index('  dynamic "statement" {', 30) + 1
    assert notice.examples == (f"{tmp_path / 'main.tf'}:{line}",)
    # what it may grant is unresolved, not nothing: a use it may cover is "may be missing"
    assert len(statements) == 6
    assert statements[-1].actions[0].startswith("<unresolved:dynamic statement of ")
    assert statements[-1].origin.line == line


REPEATED = """\
variable "functions" {
  default = {
    orders  = {tables = ["orders"]}
    billing = {tables = ["bills", "orders"]}
  }
}
resource "aws_iam_role" "fn" {
  for_each = var.functions
  name     = "${each.key}-role"
}
resource "aws_iam_role_policy" "fn" {
  for_each = var.functions
  role     = aws_iam_role.fn[each.key].id
  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",
    Action = "dynamodb:GetItem", Resource = [for t in each.value.tables :
      "arn:aws:dynamodb:eu-west-1:123456789012:table/${t}"]}]})
}
resource "aws_iam_policy" "shared" {
  count  = 2
  name   = "shared-${count.index}"
  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",
    Action = "sqs:SendMessage", Resource = "arn:aws:sqs:eu-west-1:123456789012:q${count.index}"}]})
}
resource "aws_iam_role_policy_attachment" "shared" {
  role       = aws_iam_role.fn["billing"].name
  policy_arn = aws_iam_policy.shared[1].arn
}
resource "aws_lambda_function" "fn" {
  for_each      = toset(["orders", "billing"])
  function_name = each.value
  role          = aws_iam_role.fn[each.key].arn
}
"""


def test_count_and_for_each_give_one_role_and_function_per_instance(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(REPEATED)
    grants, notices = _load(tmp_path / "main.tf")
    orders = f"arn:aws:iam::{ACCOUNT}:role/orders-role"
    billing = f"arn:aws:iam::{ACCOUNT}:role/billing-role"
    assert sorted(grants.roles) == sorted([orders, billing])
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table"
    assert [(s.actions, s.resources) for s in grants.roles[orders].statements] == [
        (("dynamodb:GetItem",), (f"{table}/orders",))]
    assert [(s.actions, s.resources) for s in grants.roles[billing].statements] == [
        (("dynamodb:GetItem",), (f"{table}/bills", f"{table}/orders")),
        (("sqs:SendMessage",), ("arn:aws:sqs:eu-west-1:123456789012:q1",))]
    assert grants.roles[billing].origin.logical_id == 'aws_iam_role.fn["billing"]'
    assert [p.origin.logical_id for p in grants.roles[billing].policies] == [
        'aws_iam_role_policy.fn["billing"]', "aws_iam_policy.shared[1]"]
    assert {(b.function, b.role, b.names) for b in grants.bindings} == {
        ("orders", orders, ('aws_lambda_function.fn["orders"]',)),
        ("billing", billing, ('aws_lambda_function.fn["billing"]',)),
    }
    assert not notices.count("terraform-count-not-expanded")
    assert not notices.count("terraform-role-not-in-module")


def test_a_resource_with_no_instances_declares_nothing(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "off" {\n  count = 0\n  name = "off"\n}\n'
        'resource "aws_iam_role" "on" {\n  for_each = {}\n  name = "on-${each.key}"\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n'
        '  role = aws_iam_role.off[0].arn\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert grants.roles == {}
    (binding,) = grants.bindings
    assert binding.role.startswith("<unresolved:")
    assert notices.count("terraform-unresolved-role") == 1


def test_an_edited_call_is_read_again(tmp_path: Path) -> None:
    path = _repository(tmp_path)
    grants, _ = _load(path)
    assert f"arn:aws:iam::{ACCOUNT}:role/billing/billing-role" in grants.roles
    stacks = tmp_path / "stacks" / "main.tf"
    stacks.write_text(stacks.read_text().replace('"billing"', '"invoices"'))  # in place
    grants, _ = _load(path)
    assert f"arn:aws:iam::{ACCOUNT}:role/billing/invoices-role" in grants.roles


def _outputs_repository(root: Path) -> Path:
    """A function module given a table ARN that another module's output gives."""
    path = _repository(root)
    table = root / "modules" / "table"
    table.mkdir()
    (table / "main.tf").write_text(
        'variable "name" {}\n'
        'resource "aws_dynamodb_table" "this" {\n  name = var.name\n}\n'
        'module "stream" {\n  source = "../stream"\n  table = aws_dynamodb_table.this.name\n}\n'
        'output "arn" {\n  value = "arn:aws:dynamodb:eu-west-1:123456789012:table/${var.name}"\n}\n'
        'output "stream_arn" {\n  value = module.stream.arn\n}\n')
    (root / "modules" / "stream").mkdir()
    (root / "modules" / "stream" / "main.tf").write_text(
        'variable "table" {}\n'
        'output "arn" {\n'
        '  value = "arn:aws:dynamodb:eu-west-1:123456789012:table/${var.table}/stream/s"\n}\n')
    (root / "stacks" / "main.tf").write_text(
        'module "tables" {\n  source = "../modules/table"\n  name = "orders"\n}\n'
        'module "orders" {\n  source = "../modules/fn"\n  name = "orders"\n'
        '  table_arn = [module.tables.arn, module.tables.stream_arn]\n}\n'
        'module "broken" {\n  source = "../modules/fn"\n  name = "broken"\n'
        '  table_arn = [module.tables.nope, module.missing.arn, module.remote.arn]\n}\n'
        'module "remote" {\n  source = "terraform-aws-modules/dynamodb-table/aws"\n}\n')
    return path


def test_module_outputs_are_read_through_the_modules_they_come_from(tmp_path: Path) -> None:
    grants, _ = _load(_outputs_repository(tmp_path))
    (statement,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/orders-role"].statements
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    assert statement.resources == (table, f"{table}/stream/s")  # two modules deep
    (statement,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/broken-role"].statements
    assert all(r.startswith("<unresolved:module.") for r in statement.resources)


def test_module_outputs_that_refer_to_each_other_end(tmp_path: Path) -> None:
    path = _outputs_repository(tmp_path)
    (tmp_path / "modules" / "stream" / "main.tf").write_text(
        'variable "table" {}\noutput "arn" {\n  value = var.table\n}\n')
    (tmp_path / "modules" / "table" / "main.tf").write_text(
        'variable "name" {}\n'
        'module "stream" {\n  source = "../stream"\n  table = module.stream.arn\n}\n'
        'output "arn" {\n  value = module.stream.arn\n}\n'
        'output "stream_arn" {\n  value = module.stream.arn\n}\n')
    grants, notices = _load(path)
    (statement,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/orders-role"].statements
    assert all(r.startswith("<unresolved:") for r in statement.resources)
    assert notices.count("terraform-reference-cycle") >= 1


def test_a_module_called_from_a_called_module_gets_both_calls_arguments(
        tmp_path: Path) -> None:
    path = _repository(tmp_path)  # modules/fn, called from stacks/ too
    service = tmp_path / "services" / "orders"
    service.mkdir(parents=True)
    (service / "main.tf").write_text(
        'variable "env" {}\n'
        'module "api" {\n  source = "../../modules/fn"\n  name = "orders-api-${var.env}"\n'
        '  table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-${var.env}"\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "orders_staging" {\n  source = "./services/orders"\n  env = "staging"\n}\n'
        'module "orders_prod" {\n  source = "./services/orders"\n  env = "prod"\n}\n')
    grants, notices = _load(path)
    api = {k: r for k, r in grants.roles.items() if "orders-api" in k}
    assert sorted(api) == [f"arn:aws:iam::{ACCOUNT}:role/orders-api-prod-role",
                           f"arn:aws:iam::{ACCOUNT}:role/orders-api-staging-role"]
    prod = api[f"arn:aws:iam::{ACCOUNT}:role/orders-api-prod-role"]
    assert prod.origin.logical_id == "module.orders_prod.module.api.aws_iam_role.this"
    assert prod.statements[0].resources == (
        "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-prod",)
    assert len(grants.roles) == 4  # and the two calls from stacks/
    assert not notices.count("terraform-variable-without-default")


def test_modules_calling_each_other_end(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    for here, there in (("a", "b"), ("b", "a")):
        (tmp_path / here).mkdir()
        (tmp_path / here / "main.tf").write_text(
            f'variable "n" {{}}\nmodule "next" {{\n  source = "../{there}"\n'
            f'  n = "{here}-${{var.n}}"\n}}\n'
            'resource "aws_iam_role" "r" {\n  name = var.n\n}\n')
    grants, _ = _load(tmp_path / "a" / "main.tf")
    assert 1 <= len(grants.roles) <= terraform.MAX_MODULE_CALLS + 1


def test_policy_documents_and_policies_passed_between_modules_stay_their_modules(
        tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "main.tf").write_text(
        'variable "policy_json" {}\nvariable "policy_arns" {}\n'
        'data "aws_iam_policy_document" "doc" {\n  statement {\n'
        '    actions = ["kms:Decrypt"]\n    resources = ["*"]\n  }\n}\n'  # same name: not it
        'resource "aws_iam_role" "this" {\n  name = "fn"\n'
        '  managed_policy_arns = var.policy_arns\n}\n'
        'resource "aws_iam_role_policy" "this" {\n  role = aws_iam_role.this.id\n'
        '  policy = var.policy_json\n}\n')
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "main.tf").write_text(
        'data "aws_iam_policy_document" "doc" {\n  statement {\n'
        '    actions = ["sqs:SendMessage"]\n    resources = ["arn:aws:sqs:eu-west-1:1:q"]\n'
        '  }\n}\noutput "json" {\n  value = data.aws_iam_policy_document.doc.json\n}\n')
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy_document" "doc" {\n  statement {\n'
        '    actions = ["s3:GetObject"]\n    resources = ["arn:aws:s3:::b/*"]\n  }\n}\n'
        'resource "aws_iam_policy" "extra" {\n  name = "extra"\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",\n'
        '    Action = "sns:Publish", Resource = "arn:aws:sns:eu-west-1:1:t"}]})\n}\n'
        'module "pol" {\n  source = "./pol"\n}\n'
        'module "fn" {\n  source = "./fn"\n'
        '  policy_json = data.aws_iam_policy_document.doc.json\n'
        '  policy_arns = [aws_iam_policy.extra.arn]\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "x"\n'
        '    policy = module.pol.json\n  }\n}\n')
    grants, _ = _load(tmp_path / "fn" / "main.tf")
    role = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/fn"]
    assert sorted((s.actions, s.origin.file) for s in role.statements) == sorted([
        (("s3:GetObject",), str(tmp_path / "main.tf")),
        (("sns:Publish",), str(tmp_path / "main.tf")),
    ])
    assert [p.origin.logical_id for p in role.policies] == ["aws_iam_policy.extra",
                                                            "module.fn.aws_iam_role_policy.this"]
    grants, _ = _load(tmp_path / "main.tf")
    (statement,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert statement.actions == ("sqs:SendMessage",)  # pol's document, not the root's
    assert statement.origin.file == str(tmp_path / "pol" / "main.tf")


def test_sets_are_keyed_by_their_elements_and_object_keys_become_text(tmp_path: Path) -> None:
    # a set (and a map) iterates in lexical order, as Terraform's does
    assert _policy_resources(tmp_path, '[for k, v in toset(["logs", "data"]) : '
                                       '"arn:aws:s3:::${k}/${v}"]') == (
        "arn:aws:s3:::data/data", "arn:aws:s3:::logs/logs")
    assert _policy_resources(tmp_path, '[for k, v in {for i, b in ["x", "y"] : i => b} : '
                                       '"arn:aws:s3:::${k}-${v}"]') == (
        "arn:aws:s3:::0-x", "arn:aws:s3:::1-y")
    text = DYNAMIC.replace("UNEXPANDED", "").replace(
        "for_each = var.buckets", 'for_each = toset(var.buckets)')
    (tmp_path / "main.tf").write_text(text)
    grants, _ = _load(tmp_path / "main.tf")
    statements = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert [s.sid for s in statements[1:3]] == ["Readdata", "Readlogs"]


def test_hostile_expressions_end_cleanly(tmp_path: Path) -> None:
    # A 3,000-step reference, a format width of gigabytes, strings doubling twenty times:
    # each ends unresolved, with nothing raised.
    chain = ".".join(["a"] * 3000)
    doubling = "\n".join(f'  s{i + 1} = join("", [local.s{i}, local.s{i}, local.s{i}])'
                         for i in range(20))
    (tmp_path / "main.tf").write_text(
        f'locals {{\n  x = 1\n  s0 = "aaaaaaaaaa"\n{doubling}\n}}\n'
        f'resource "aws_iam_role" "deep" {{\n  name = local.x.{chain}\n}}\n'
        'resource "aws_iam_role" "wide" {\n  name = format("%0999999999d", 1)\n}\n'
        'resource "aws_iam_role" "long" {\n  name = local.s20\n}\n'
        'resource "aws_iam_role" "fine" {\n'
        '  name = format("arn:aws:iam::123456789012:role/%s-%03d", "x", 7)\n}\n')
    grants, _ = _load(tmp_path / "main.tf")
    assert set(grants.roles) == {
        "aws_iam_role.deep", "aws_iam_role.long", "aws_iam_role.wide",
        f"arn:aws:iam::{ACCOUNT}:role/arn:aws:iam::123456789012:role/x-007"}


def _limits(notices: Notices) -> list[str]:
    return [e for n in notices.items() if n.code == "terraform-eval-limit" for e in n.examples]


def test_modules_that_multiply_end_at_their_limit(tmp_path: Path) -> None:
    # Each module calls itself 30 times and joins their outputs: 30 ** 4 modules unbounded
    (tmp_path / ".git").mkdir()
    (tmp_path / "m").mkdir()
    calls = "".join(f'module "m{i}" {{\n  source = "./"\n}}\n' for i in range(30))
    refs = ", ".join(f"module.m{i}.x" for i in range(30))
    (tmp_path / "m" / "main.tf").write_text(
        f'{calls}output "x" {{\n  value = join("", [{refs}])\n}}\n')
    (tmp_path / "main.tf").write_text(
        'module "top" {\n  source = "./m"\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "r-${module.top.x}"\n}\n')
    grants, notices = _load(tmp_path / "main.tf")  # in a second, not hours
    assert list(grants.roles) == ["aws_iam_role.r"]
    assert any("more than 400 modules" in e for e in _limits(notices))


def test_references_nested_through_modules_end_at_their_limit(tmp_path: Path) -> None:
    # A chain of 20 locals in each of five modules, joined by outputs: past Python's stack
    def chain(end: str) -> str:
        steps = "\n".join(f"  b{i} = local.b{i + 1}" for i in range(20))
        return f"locals {{\n{steps}\n  b20 = {end}\n}}\n"
    (tmp_path / ".git").mkdir()
    for level in range(1, 5):
        (tmp_path / f"n{level}").mkdir()
        call = f'module "n" {{\n  source = "../n{level + 1}"\n}}\n' if level < 4 else ""
        end = "module.n.out" if level < 4 else '"end"'
        (tmp_path / f"n{level}" / "main.tf").write_text(
            call + chain(end) + 'output "out" {\n  value = local.b0\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "n" {\n  source = "./n1"\n}\n' + chain("module.n.out") +
        'resource "aws_iam_role" "chain" {\n  name = local.b0\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert list(grants.roles) == ["aws_iam_role.chain"]
    assert any("references nested too deep" in e for e in _limits(notices))


def test_statements_and_policies_that_cannot_be_read_stay_unresolved(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "buckets" {\n  default = ["a"]\n}\nvariable "flag" {}\n'
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "p"\n'
        '    policy = jsonencode({Version = "2012-10-17", Statement = [for b in var.buckets :\n'
        '      {Effect = "Allow", Action = "s3:*", Resource = "arn:aws:s3:::${b}/*"}\n'
        '      if b != var.unset]})\n  }\n'
        '  dynamic "inline_policy" {\n    for_each = var.buckets\n'
        '    content {\n      name = "d"\n      policy = "{}"\n    }\n  }\n}\n'
        'resource "aws_iam_role" "a" {\n  name = "a"\n}\n'
        'resource "aws_iam_role" "b" {\n  name = "b"\n}\n'
        'resource "aws_iam_role_policy" "either" {\n'
        '  role = var.flag == "on" ? aws_iam_role.a.id : aws_iam_role.b.id\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",\n'
        '    Action = "sqs:SendMessage", Resource = "*"}]})\n}\n')
    grants, notices = _load(tmp_path / "main.tf", parameters={"var.flag": "on"})
    policies = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].policies
    assert [s.actions[0].startswith("<unresolved:") for p in policies
            for s in p.statements] == [True, True]  # the for and the dynamic block
    assert notices.count("terraform-unresolved-policy") == 1
    assert notices.count("terraform-dynamic-block") == 1
    # var.flag has no default: the scan's parameter is used, and picks one branch
    assert [s.actions for s in grants.roles[f"arn:aws:iam::{ACCOUNT}:role/a"].statements] \
        == [("sqs:SendMessage",)]
    assert grants.roles[f"arn:aws:iam::{ACCOUNT}:role/b"].statements == ()


def test_a_role_chosen_by_a_condition_not_known_offline_gets_the_policy_conditionally(
        tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "flag" {}\n'
        'resource "aws_iam_role" "a" {\n  name = "a"\n}\n'
        'resource "aws_iam_role" "b" {\n  name = "b"\n}\n'
        'resource "aws_iam_role" "c" {\n  name = "c"\n}\n'
        'resource "aws_iam_role_policy" "either" {\n'
        '  role = var.flag == "on" ? aws_iam_role.a.id : (\n'
        '    var.flag == "on" ? aws_iam_role.c.id : aws_iam_role.b.id)\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",\n'
        '    Action = "sqs:SendMessage", Resource = "*"}]})\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n'
        '  role = var.flag == "on" ? aws_iam_role.a.arn : aws_iam_role.b.arn\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    # a function runs as one role: not known which, it is not taken to be the first
    [binding] = grants.bindings
    assert binding.role.startswith("<unresolved:var.flag")
    assert notices.count("terraform-unresolved-role") == 1
    under = {key.rsplit("/", 1)[1]: [s.conditions for s in role.statements]
             for key, role in grants.roles.items()}
    # both branches attach, each under its value of the condition; the nested test of
    # the same condition takes the value already taken, so c never gets it
    assert under == {"a": [{TEMPLATE_CONDITION: {'var.flag == "on"': ("true",)}}],
                     "b": [{TEMPLATE_CONDITION: {'var.flag == "on"': ("false",)}}],
                     "c": []}
    assert notices.count("terraform-attachment-undecided") == 1
    # known, it picks one branch, unconditionally
    grants, notices = _load(tmp_path / "main.tf", parameters={"var.flag": "off"})
    assert [s.conditions for s in grants.roles[f"arn:aws:iam::{ACCOUNT}:role/b"].statements
            ] == [{}]
    assert grants.roles[f"arn:aws:iam::{ACCOUNT}:role/a"].statements == ()
    assert notices.count("terraform-attachment-undecided") == 0
    assert grants.bindings[0].role == f"arn:aws:iam::{ACCOUNT}:role/b"


def test_a_conditional_inside_a_list_of_roles_attaches_each_branch_under_its_value(
        tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "flag" {}\n'
        'locals {\n  on = true\n}\n'
        + "".join(f'resource "aws_iam_role" "{r}" {{\n  name = "{r}"\n}}\n' for r in "abcde")
        + 'resource "aws_iam_policy" "p" {\n  name = "p"\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",\n'
        '    Action = "sqs:SendMessage", Resource = "*"}]})\n}\n'
        'resource "aws_iam_policy_attachment" "some" {\n  name = "some"\n'
        '  policy_arn = aws_iam_policy.p.arn\n'
        '  roles = [var.flag ? aws_iam_role.a.name : aws_iam_role.b.name, aws_iam_role.c.name,\n'
        '           local.on ? aws_iam_role.d.name : aws_iam_role.e.name]\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n'
        '  role = [var.flag ? aws_iam_role.a.arn : aws_iam_role.b.arn][0]\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    under = {key.rsplit("/", 1)[1]: [s.conditions for s in role.statements]
             for key, role in grants.roles.items()}
    # the branches of the undecided one each under its value, the rest as written; the
    # branch a known condition does not take attaches nothing
    assert under == {"a": [{TEMPLATE_CONDITION: {"var.flag": ("true",)}}],
                     "b": [{TEMPLATE_CONDITION: {"var.flag": ("false",)}}],
                     "c": [{}], "d": [{}], "e": []}
    assert notices.count("terraform-attachment-undecided") == 1
    # a function's role chosen inside the expression is not taken to be the first branch
    assert grants.bindings[0].role.startswith("<unresolved:")
    assert notices.count("terraform-unresolved-role") == 1


def test_statements_put_in_roles_are_bounded(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terraform, "MAX_ATTACHED", 5)
    (tmp_path / "main.tf").write_text(DYNAMIC.replace("UNEXPANDED", "").replace(
        'resource "aws_iam_role" "r" {\n  name = "r"',
        'resource "aws_iam_role" "r" {\n  for_each = toset(["x", "y"])\n  name = "r${each.key}"'
    ).replace("role   = aws_iam_role.r.id", "for_each = toset([\"x\", \"y\"])\n"
              "  role   = aws_iam_role.r[each.key].id"))
    grants, notices = _load(tmp_path / "main.tf")
    first, second = (grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r{k}"] for k in "xy")
    assert len(first.statements) == 5
    assert [s.actions[0][:12] for s in second.statements] == ["<unresolved:"]
    assert notices.count("terraform-eval-limit") == 1


def test_long_chains_of_source_documents_end(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    documents = "".join(
        f'data "aws_iam_policy_document" "d{i}" {{\n'
        f'  source_policy_documents = [data.aws_iam_policy_document.d{i + 1}.json]\n}}\n'
        for i in range(1000))
    (tmp_path / "main.tf").write_text(
        documents + 'data "aws_iam_policy_document" "d1000" {}\n'
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "p"\n'
        '    policy = data.aws_iam_policy_document.d0.json\n  }\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    (statement,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert statement.actions[0].startswith("<unresolved:")
    assert any("source policy documents" in e for e in _limits(notices))


def test_values_nested_deep_through_modules_end(tmp_path: Path) -> None:
    # values nested 25 deep, through four modules' outputs and four modules' arguments
    (tmp_path / ".git").mkdir()

    def nest(inner: str) -> str:
        return "[" * 25 + inner + "]" * 25
    (tmp_path / "deep").mkdir()
    folder = tmp_path / "deep"
    (folder / "main.tf").write_text(
        f'module "x" {{\n  source = "./a"\n  v = {nest("module.m1.out")}\n}}\n'
        'module "m1" {\n  source = "./m1"\n}\n')
    outputs = folder
    for level in range(1, 5):
        outputs = outputs / f"m{level}"
        outputs.mkdir()
        inner = f"module.m{level + 1}.out" if level < 4 else '"x"'
        call = f'module "m{level + 1}" {{\n  source = "./m{level + 1}"\n}}\n' if level < 4 else ""
        (outputs / "main.tf").write_text(f'{call}output "out" {{\n  value = {nest(inner)}\n}}\n')
    arguments = folder
    for name in "abc":
        arguments = arguments / name
        arguments.mkdir()
        below = "bcd"["abc".index(name)]
        (arguments / "main.tf").write_text(
            f'variable "v" {{}}\nmodule "x" {{\n  source = "./{below}"\n'
            f'  v = {nest("var.v")}\n}}\n')
    (arguments / "d").mkdir()
    (arguments / "d" / "main.tf").write_text(
        'variable "v" {}\nresource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n'
        '    name = "p"\n    policy = jsonencode({Statement = [{Effect = "Allow", '
        f'Action = "s3:GetObject", Resource = {nest("var.v")}}}]}})\n  }}\n}}\n')
    grants, notices = _load(arguments / "d" / "main.tf")  # nothing raised
    assert list(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/r"]
    assert notices.count("terraform-eval-limit") >= 1


def test_a_load_has_one_evaluation_budget(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from leastpriv_ci.grants import hcl
    monkeypatch.setattr(hcl, "MAX_LOAD_STEPS", 2000)
    (tmp_path / "main.tf").write_text(
        'locals {\n  l = [' + ", ".join(f'"{i}"' for i in range(40)) + ']\n}\n'
        'resource "aws_iam_role" "r" {\n  for_each = toset(["a", "b", "c"])\n'
        '  name = join("", [for a in local.l : join("", [for b in local.l : each.key])])\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert any(k.startswith("aws_iam_role.r[") for k in grants.roles)  # some names cut short
    assert notices.count("terraform-eval-limit") >= 1


def test_statements_past_the_limit_stay_unresolved(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terraform, "MAX_STATEMENTS", 2)
    (tmp_path / "main.tf").write_text(DYNAMIC.replace("UNEXPANDED", ""))
    grants, _ = _load(tmp_path / "main.tf")
    statements = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert len(statements) == 5
    assert [s.actions[0].startswith("<unresolved:") for s in statements] == [
        False, False, True, True, True]


def test_conditional_roles_empty_inline_policies_and_parameters_in_modules(
        tmp_path: Path) -> None:
    path = _repository(tmp_path)
    (tmp_path / "conditional.tf").write_text(
        'variable "create_role" {\n  default = true\n}\n'
        'variable "role_arn" {\n  default = "arn:aws:iam::123456789012:role/given"\n}\n'
        'resource "aws_iam_role" "r" {\n  count = var.create_role ? 1 : 0\n  name = "made"\n'
        '  inline_policy {}\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n'
        '  role = var.create_role ? aws_iam_role.r[0].arn : var.role_arn\n}\n'
        'resource "aws_lambda_function" "g" {\n  function_name = "g"\n'
        '  role = false ? aws_iam_role.r[0].arn : var.role_arn\n}\n')
    grants, notices = _load(tmp_path / "conditional.tf")
    made = f"arn:aws:iam::{ACCOUNT}:role/made"
    assert grants.roles[made].policies == ()  # an empty inline_policy: none
    assert {b.function: b.role for b in grants.bindings} == {
        "f": made, "g": "arn:aws:iam::123456789012:role/given"}
    assert not notices.count("terraform-unresolved-policy")
    # a scan parameter gives a called module's variable its call leaves out; the call's
    # own argument wins (a module repository is scanned as the root its examples call)
    grants, _ = _load(path, parameters={"var.path": "/from-parameters/"})
    assert sorted(grants.roles) == [
        f"arn:aws:iam::{ACCOUNT}:role/billing/billing-role",
        f"arn:aws:iam::{ACCOUNT}:role/from-parameters/orders-staging-role"]


def test_policy_documents_merge_sources_statements_and_overrides_by_sid(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy_document" "base" {\n'
        '  statement {\n    sid = "A"\n    actions = ["s3:*"]\n    resources = ["*"]\n  }\n'
        '  statement {\n    actions = ["logs:PutLogEvents"]\n    resources = ["*"]\n  }\n}\n'
        'data "aws_iam_policy_document" "narrow" {\n'
        '  statement {\n    sid = "B"\n    actions = ["kms:Decrypt"]\n    resources = ["*"]\n'
        '  }\n}\n'
        'data "aws_iam_policy_document" "d" {\n'
        '  source_policy_documents = [data.aws_iam_policy_document.base.json,\n'
        '    jsonencode({Version = "2012-10-17", Statement = [{Sid = "B", Effect = "Allow",\n'
        '      Action = "kms:*", Resource = "*"}]})]\n'
        '  override_policy_documents = [data.aws_iam_policy_document.narrow.json, '
        'var.unknown]\n'
        '  statement {\n    sid = "A"\n    actions = ["s3:GetObject"]\n'
        '    resources = ["arn:aws:s3:::b/*"]\n'
        '    dynamic "condition" {\n      for_each = var.unknown\n      content {}\n    }\n'
        '  }\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "p"\n'
        '    policy = data.aws_iam_policy_document.d.json\n  }\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    statements = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert [(s.sid, s.actions) for s in statements[:3]] == [
        ("A", ("s3:GetObject",)),  # the document's own A replaces the source's s3:*
        (None, ("logs:PutLogEvents",)),
        ("B", ("kms:Decrypt",)),  # the override's B replaces the jsonencode source's kms:*
    ]
    assert statements[3].actions[0].startswith("<unresolved:override_policy_documents")
    assert len(statements) == 4
    assert notices.count("terraform-unresolved-policy") == 1
    assert notices.count("terraform-dynamic-block") == 1


def test_unknown_sids_replace_nothing_and_listed_json_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(
        '{"Version": "2012-10-17", "Statement": [\n'
        '  {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}\n')
    (tmp_path / "main.tf").write_text(
        'variable "buckets" {\n  default = ["raw-data", "clean-data"]\n}\n'
        'data "aws_iam_policy_document" "d" {\n'
        '  source_policy_documents = [file("${path.module}/base.json"), <<EOT\n'
        '{"Version": "2012-10-17", "Statement": [\n'
        '  {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}\n'
        'EOT\n  ]\n'
        '  dynamic "statement" {\n    for_each = toset(var.buckets)\n    content {\n'
        '      sid = replace("Read${statement.key}", "-", "")\n'
        '      actions = ["s3:GetObject"]\n'
        '      resources = ["arn:aws:s3:::${statement.key}/*"]\n    }\n  }\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "r"\n}\n'
        'resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.r.id\n'
        '  policy = data.aws_iam_policy_document.d.minified_json\n}\n')  # as .json
    grants, notices = _load(tmp_path / "main.tf")
    statements = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert [(s.actions, s.resources, s.origin.file, s.origin.line) for s in statements] == [
        (("sqs:SendMessage",), ("*",), str(tmp_path / "base.json"), 2),
        (("sns:Publish",), ("*",), str(tmp_path / "main.tf"), 7),
        # a set iterates in lexical order, as Terraform's does
        (("s3:GetObject",), ("arn:aws:s3:::clean-data/*",), str(tmp_path / "main.tf"), 12),
        (("s3:GetObject",), ("arn:aws:s3:::raw-data/*",), str(tmp_path / "main.tf"), 12),
    ]
    assert not notices.count("terraform-unresolved-policy")


def test_the_older_source_json_and_override_json_are_merged_too(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy_document" "d" {\n'
        '  source_json = jsonencode({Version = "2012-10-17", Statement = [\n'
        '    {Sid = "A", Effect = "Allow", Action = "s3:*", Resource = "*"},\n'
        '    {Effect = "Allow", Action = "logs:PutLogEvents", Resource = "*"}]})\n'
        '  override_json = <<EOT\n'
        '{"Version": "2012-10-17", "Statement": [\n'
        '  {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}\n'
        'EOT\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "r"\n  inline_policy {\n    name = "p"\n'
        '    policy = data.aws_iam_policy_document.d.json\n  }\n}\n')
    grants, _ = _load(tmp_path / "main.tf")
    statements = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/r"].statements
    assert [(s.sid, s.actions) for s in statements] == [
        ("A", ("s3:GetObject",)), (None, ("logs:PutLogEvents",))]


SPLATTED = """\
variable "n" {}
resource "aws_sqs_queue" "q" {
  count = 2
  name  = "jobs-${count.index}"
}
resource "aws_sqs_queue" "unknown" {
  count = var.n
  name  = "u-${count.index}"
}
resource "aws_sqs_queue" "keyed" {
  for_each = toset(["a", "b"])
  name     = each.key
}
resource "aws_dynamodb_table" "t" {
  name = "orders"
}
resource "aws_sns_topic" "later" {
  count       = 2
  name_prefix = "later-"
}
locals {
  objects = [{arn = "arn:aws:s3:::logs"}, {arn = "arn:aws:s3:::data"}]
}
"""


def test_splats_list_every_instances_attribute(tmp_path: Path) -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
    for spelled in ("aws_sqs_queue.q[*].arn", "aws_sqs_queue.q.*.arn"):
        assert _policy_resources(tmp_path, spelled, SPLATTED) == (f"{queue}-0", f"{queue}-1")
    assert _policy_resources(
        tmp_path, 'concat(aws_sqs_queue.q[*].arn, aws_dynamodb_table.t[*].arn, ["*"])',
        SPLATTED) == (f"{queue}-0", f"{queue}-1", table, "*")
    # the legacy splat indexes the list it builds; [*] indexes each element
    assert _policy_resources(tmp_path, "aws_sqs_queue.q.*.arn[1]", SPLATTED) == (
        f"{queue}-1",)
    assert _policy_resources(tmp_path, "aws_sqs_queue.q[1][*].arn", SPLATTED) == (
        f"{queue}-1",)
    assert _policy_resources(tmp_path, "local.objects[*].arn", SPLATTED) == (
        "arn:aws:s3:::logs", "arn:aws:s3:::data")


def test_splats_over_what_is_not_known_stay_unresolved(tmp_path: Path) -> None:
    # a count not known offline, and a for_each resource (a map: Terraform does not
    # splat it): no ARN is made up
    for spelled in ("aws_sqs_queue.unknown[*].arn", "aws_sqs_queue.keyed[*].arn",
                    "aws_sqs_queue.unknown.*.arn"):
        assert _policy_resources(tmp_path, spelled, SPLATTED) == (
            f"<unresolved:{spelled}>",)
    (resource,) = _policy_resources(
        tmp_path, 'concat(aws_sqs_queue.q[*].arn, aws_sqs_queue.unknown[*].arn)', SPLATTED)
    assert resource.startswith("<unresolved:concat(")
    # instances known, their names not: one unresolved ARN each
    assert _policy_resources(tmp_path, "aws_sns_topic.later[*].arn", SPLATTED) == (
        "<unresolved:aws_sns_topic.later.0.arn>", "<unresolved:aws_sns_topic.later.1.arn>")


def test_a_policy_attached_to_a_splat_of_roles_reaches_each(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "w" {\n  count = 2\n  name = "w${count.index}"\n}\n'
        'resource "aws_iam_policy" "p" {\n  name = "p"\n'
        '  policy = jsonencode({Statement = [{Effect = "Allow", Action = "sqs:SendMessage",\n'
        '    Resource = "*"}]})\n}\n'
        'resource "aws_iam_policy_attachment" "a" {\n  name = "a"\n'
        '  roles = aws_iam_role.w[*].name\n  policy_arn = aws_iam_policy.p.arn\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert sorted(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/w0",
                                    f"arn:aws:iam::{ACCOUNT}:role/w1"]
    for role in grants.roles.values():
        assert [s.actions for s in role.statements] == [("sqs:SendMessage",)]
    assert not notices.count("terraform-role-not-in-module")


def test_splats_that_multiply_or_refer_to_themselves_end(tmp_path: Path) -> None:
    # 1,000 queues each listing all 1,000 ARNs, splatted again: a million reads, cut at
    # the evaluation limit (what is past it unresolved); a count that splats its own
    # resource ends as unknown
    extra = (
        'resource "aws_sqs_queue" "wide" {\n  count = 1000\n  name = "w${count.index}"\n'
        '  arns = aws_sqs_queue.wide[*].arn\n}\n'
        'resource "aws_sqs_queue" "self" {\n  count = aws_sqs_queue.self.*.n[0]\n  n = 2\n'
        '  name = aws_sqs_queue.self[*].name[0]\n}\n')
    resources = _policy_resources(tmp_path, "aws_sqs_queue.wide[*].arns[0]", extra)
    first = f"arn:aws:sqs:us-east-1:{ACCOUNT}:w0"
    assert len(resources) == 1000 and resources[0] == first
    assert resources[-1] == "<unresolved:aws_sqs_queue.wide.999.arns.0>"
    assert all(r == first or r.startswith("<unresolved:") for r in resources)
    _, notices = _load(tmp_path / "main.tf")
    assert _limits(notices)
    assert _policy_resources(tmp_path, "aws_sqs_queue.self[*].arn", extra) == (
        "<unresolved:aws_sqs_queue.self[*].arn>",)


def _repeated_calls(root: Path, calls: str) -> Path:
    """modules/fn (FUNCTION_MODULE) called from stacks/ by ``calls``."""
    (root / ".git").mkdir()
    module = root / "modules" / "fn"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(FUNCTION_MODULE)
    (root / "stacks").mkdir()
    (root / "stacks" / "main.tf").write_text(calls)
    return module / "main.tf"


def test_a_module_called_with_for_each_is_read_once_per_key(tmp_path: Path) -> None:
    path = _repeated_calls(tmp_path, (
        'module "fn" {\n  source   = "../modules/fn"\n  for_each = toset(["a", "b"])\n'
        '  name      = "svc-${each.key}"\n'
        '  table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/${each.value}"\n}\n'
        'module "paths" {\n  source   = "../modules/fn"\n'
        '  for_each = {orders = "/orders/", bills = "/bills/"}\n'
        '  name      = each.key\n  path = each.value\n  table_arn = "*"\n}\n'))
    grants, notices = _load(path)
    role = f"arn:aws:iam::{ACCOUNT}:role"
    assert sorted(grants.roles) == [f"{role}/bills/bills-role", f"{role}/orders/orders-role",
                                    f"{role}/svc-a-role", f"{role}/svc-b-role"]
    a = grants.roles[f"{role}/svc-a-role"]
    assert a.origin.logical_id == 'module.fn["a"].aws_iam_role.this'
    assert [p.origin.logical_id for p in a.policies] == ['module.fn["a"].aws_iam_role_policy.data']
    assert [s.resources for s in a.statements] == [
        ("arn:aws:dynamodb:eu-west-1:123456789012:table/a",)]
    assert [s.resources for s in grants.roles[f"{role}/svc-b-role"].statements] == [
        ("arn:aws:dynamodb:eu-west-1:123456789012:table/b",)]
    assert grants.roles[f"{role}/bills/bills-role"].origin.logical_id == (
        'module.paths["bills"].aws_iam_role.this')
    assert {(b.function, b.role, b.names) for b in grants.bindings if "svc" in b.function} == {
        ("svc-a", f"{role}/svc-a-role", ('module.fn["a"].aws_lambda_function.this',)),
        ("svc-b", f"{role}/svc-b-role", ('module.fn["b"].aws_lambda_function.this',))}
    assert not notices.count("terraform-count-not-expanded")
    assert not notices.count("terraform-variable-without-default")


def test_a_module_called_with_count_is_read_once_per_index(tmp_path: Path) -> None:
    path = _repeated_calls(tmp_path, (
        'variable "copies" {\n  default = 2\n}\n'
        'resource "aws_dynamodb_table" "t" {\n  count = var.copies\n'
        '  name  = "t${count.index}"\n}\n'
        'module "worker" {\n  source    = "../modules/fn"\n  count     = var.copies\n'
        '  name      = "worker-${count.index}"\n'
        '  table_arn = aws_dynamodb_table.t[count.index].arn\n}\n'
        'module "off" {\n  source = "../modules/fn"\n  count  = 0\n  name = "off"\n'
        '  table_arn = "*"\n}\n'))
    grants, notices = _load(path)
    role = f"arn:aws:iam::{ACCOUNT}:role"
    assert sorted(grants.roles) == [f"{role}/worker-0-role", f"{role}/worker-1-role"]
    for index in (0, 1):
        worker = grants.roles[f"{role}/worker-{index}-role"]
        assert worker.origin.logical_id == f"module.worker[{index}].aws_iam_role.this"
        assert [s.resources for s in worker.statements] == [
            (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t{index}",)]
    assert sorted(b.names for b in grants.bindings) == [
        ("module.worker[0].aws_lambda_function.this",),
        ("module.worker[1].aws_lambda_function.this",)]
    assert not notices.count("terraform-count-not-expanded")


def test_repeated_calls_through_repeated_calls_are_addressed_by_both(tmp_path: Path) -> None:
    path = _repeated_calls(tmp_path, (
        'variable "env" {}\n'
        'module "api" {\n  source = "../modules/fn"\n  count = 2\n'
        '  name = "api-${var.env}-${count.index}"\n  table_arn = "*"\n}\n'))
    (tmp_path / "main.tf").write_text(
        'module "stack" {\n  source = "./stacks"\n  for_each = toset(["prod", "dev"])\n'
        '  env = each.key\n}\n')
    grants, _ = _load(path)
    assert sorted(r.origin.logical_id for r in grants.roles.values()) == [
        'module.stack["dev"].module.api[0].aws_iam_role.this',
        'module.stack["dev"].module.api[1].aws_iam_role.this',
        'module.stack["prod"].module.api[0].aws_iam_role.this',
        'module.stack["prod"].module.api[1].aws_iam_role.this']
    assert f"arn:aws:iam::{ACCOUNT}:role/api-prod-1-role" in grants.roles


def test_a_module_call_repeated_over_what_is_not_known_is_read_once(tmp_path: Path) -> None:
    path = _repeated_calls(tmp_path, (
        'variable "names" {}\nvariable "n" {}\n'
        'module "each" {\n  source = "../modules/fn"\n  for_each = toset(var.names)\n'
        '  name = "each-${each.key}"\n  table_arn = "*"\n}\n'
        'module "counted" {\n  source = "../modules/fn"\n  count = var.n\n'
        '  name = "counted-${count.index}"\n  table_arn = "*"\n}\n'))
    grants, notices = _load(path)
    assert sorted(r.origin.logical_id for r in grants.roles.values()) == [
        "module.counted.aws_iam_role.this", "module.each.aws_iam_role.this"]
    assert all(r.name is None for r in grants.roles.values())  # each.key: no name made up
    (count,) = [n for n in notices.items() if n.code == "terraform-count-not-expanded"]
    stacks = tmp_path / "stacks" / "main.tf"
    assert count.examples == (f"{stacks}:3 module.each", f"{stacks}:9 module.counted")


def test_instances_of_repeated_module_calls_are_capped(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = _repeated_calls(tmp_path, (
        'module "many" {\n  source = "../modules/fn"\n  count = 100000\n'
        '  name = "many-${count.index}"\n  table_arn = "*"\n}\n'))
    monkeypatch.setattr(terraform, "MAX_INSTANCES", 5)
    grants, notices = _load(path)
    assert len(grants.roles) == 5
    assert not notices.count("terraform-module-calls-capped")
    monkeypatch.setattr(terraform, "MAX_MODULE_CALLS", 3)
    grants, notices = _load(path)
    assert sorted(r.origin.logical_id for r in grants.roles.values()) == [
        f"module.many[{i}].aws_iam_role.this" for i in range(3)]
    assert notices.count("terraform-module-calls-capped") == 1


def test_splats_in_policy_documents_and_function_roles(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_sqs_queue" "q" {\n  count = 2\n  name = "q${count.index}"\n}\n'
        'data "aws_iam_policy_document" "d" {\n  statement {\n'
        '    actions   = ["sqs:SendMessage"]\n    resources = aws_sqs_queue.q[*].arn\n  }\n}\n'
        'resource "aws_iam_role" "r" {\n  count = 1\n  name = "r"\n}\n'
        'resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.r[0].id\n'
        '  policy = data.aws_iam_policy_document.d.json\n}\n'
        'resource "aws_lambda_function" "f" {\n  function_name = "f"\n'
        '  role = aws_iam_role.r.*.arn[0]\n}\n')
    grants, _ = _load(tmp_path / "main.tf")
    role = f"arn:aws:iam::{ACCOUNT}:role/r"
    (statement,) = grants.roles[role].statements
    assert statement.resources == (f"arn:aws:sqs:us-east-1:{ACCOUNT}:q0",
                                   f"arn:aws:sqs:us-east-1:{ACCOUNT}:q1")
    assert [b.role for b in grants.bindings] == [role]


WRAPPED = Path(__file__).parent / "data" / "grants" / "terraform" / "wrapped"


def test_a_function_module_with_counts_and_dynamic_documents_is_read_per_call(
        tmp_path: Path) -> None:
    # Every resource behind `count = local.create_role && ... ? 1 : 0`, documents behind
    # dynamic statement and condition blocks with lookup(..., null), a log group ARN
    # through try() past a data source whose count is 0: the community modules' way.
    shutil.copytree(WRAPPED, tmp_path / "repo")
    (tmp_path / "repo" / ".git").mkdir()
    module = tmp_path / "repo" / "modules" / "function"
    notices = Notices()
    context = ResolveContext(account=ACCOUNT, region="eu-west-1")
    iam = terraform.load(module / "iam.tf", context, notices)
    functions = terraform.load(module / "main.tf", context, notices)
    role = f"arn:aws:iam::{ACCOUNT}:role/orders-api"
    assert list(iam.roles) == [role]  # the module that makes none makes none
    assert iam.roles[role].origin.logical_id == "module.orders.aws_iam_role.lambda[0]"
    logs, inline = iam.roles[role].policies
    (statement,) = logs.statements
    assert statement.actions == ("logs:CreateLogGroup", "logs:CreateLogStream",
                                 "logs:PutLogEvents")
    group = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/orders-api"
    assert statement.resources == (f"{group}:*", f"{group}:*:*")
    assert statement.origin.logical_id == "data.aws_iam_policy_document.logs[0]"
    tables, archive = inline.statements
    assert (tables.sid, tables.effect, tables.actions, tables.resources) == (
        "dynamodb", "Allow", ("dynamodb:GetItem", "dynamodb:PutItem"),
        (f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders",))
    assert not tables.not_actions  # null is unset, not a NotAction
    assert archive.sid == "s3read"  # replace(key, "/[^0-9A-Za-z]*/", "")
    assert archive.conditions == {"StringEquals": {"s3:ExistingObjectTag/team": ("orders",)}}
    assert {(b.function, b.role) for b in functions.bindings} == {
        ("orders-api", role),
        ("reports", f"arn:aws:iam::{ACCOUNT}:role/shared-reports"),  # create_role = false
    }
    assert not notices.count(terraform.COUNT_NOT_EXPANDED)
    assert not notices.count("terraform-dynamic-block")
    assert not notices.count("terraform-unresolved-policy")


def test_a_number_literal_too_long_to_read_is_unknown_not_a_crash(tmp_path: Path) -> None:
    # Python refuses to convert more than 4,300 digits; a pull request may write more.
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  count = ' + "9" * 5000 + '\n  name = "r"\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert list(grants.roles) == [f"arn:aws:iam::{ACCOUNT}:role/r"]  # read once
    assert notices.count(terraform.COUNT_NOT_EXPANDED) == 1


def _downloaded(tmp_path: Path, manifest: list[dict[str, str]]) -> Path:
    """A checkout whose root calls the function module from a registry, as `terraform
    init` leaves it: the module under .terraform/modules, listed in modules.json."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    modules = repo / ".terraform" / "modules"
    shutil.copytree(WRAPPED / "modules" / "function", modules / "orders")
    (modules / "modules.json").write_text(json.dumps({"Modules": manifest}))
    text = (WRAPPED / "main.tf").read_text().replace(
        'source = "./modules/function"', 'source  = "example/function/aws"\n  version = "1.0.0"')
    (repo / "main.tf").write_text(text)
    return repo


ORDERS = {"Key": "orders", "Source": "registry.terraform.io/example/function/aws",
          "Version": "1.0.0", "Dir": ".terraform/modules/orders"}


def test_a_registry_module_terraform_init_downloaded_is_read_with_its_calls_arguments(
        tmp_path: Path) -> None:
    repo = _downloaded(tmp_path, [{"Key": "", "Source": "", "Dir": "."}, ORDERS])
    notices = Notices()
    grants = terraform.load(repo / "main.tf", ResolveContext(account=ACCOUNT,
                                                             region="eu-west-1"), notices)
    role = f"arn:aws:iam::{ACCOUNT}:role/orders-api"
    assert list(grants.roles) == [role]
    assert grants.roles[role].origin.logical_id == "module.orders.aws_iam_role.lambda[0]"
    statements = grants.roles[role].statements
    assert {s.sid for s in statements} == {None, "dynamodb", "s3read"}
    # pointed at the call in the pull request's file, not into .terraform
    assert {(s.origin.file, s.origin.line) for s in statements} == {(str(repo / "main.tf"), 9)}
    assert {b.function for b in grants.bindings} == {"orders-api"}
    # the two calls the manifest does not list are named, with what to do
    assert notices.count("terraform-module-not-followed") == 2
    assert "terraform init" in str(notices.items()[0])


@pytest.mark.parametrize("manifest", [
    [dict(ORDERS, Dir="/etc")],  # outside the checkout
    [dict(ORDERS, Dir="../../outside")],
    [dict(ORDERS, Key="other")],  # lists another call
    "not a manifest",
])
def test_a_manifest_that_does_not_list_the_call_inside_the_checkout_is_not_followed(
        tmp_path: Path, manifest: object) -> None:
    repo = _downloaded(tmp_path, [])
    (repo / ".terraform" / "modules" / "modules.json").write_text(
        manifest if isinstance(manifest, str) else json.dumps({"Modules": manifest}))
    notices = Notices()
    grants = terraform.load(repo / "main.tf", ResolveContext(account=ACCOUNT), notices)
    assert not grants.roles
    assert notices.count("terraform-module-not-followed") == 3


def test_a_manifest_that_sends_a_module_back_to_itself_ends(tmp_path: Path) -> None:
    repo = _downloaded(tmp_path, [ORDERS, dict(ORDERS, Key="orders.again")])
    with (repo / ".terraform" / "modules" / "orders" / "main.tf").open("a") as handle:
        handle.write('\nmodule "again" {\n  source = "example/function/aws"\n}\n')
    grants = terraform.load(repo / "main.tf", ResolveContext(account=ACCOUNT), Notices())
    assert f"arn:aws:iam::{ACCOUNT}:role/orders-api" in grants.roles


def test_downloaded_modules_never_read_what_lies_outside_the_checkout(tmp_path: Path) -> None:
    repo = _downloaded(tmp_path, [ORDERS])
    outside = tmp_path / "outside.tf"
    outside.write_text('resource "aws_iam_role" "secret" {\n  name = "OUTSIDE"\n}\n')
    (repo / ".terraform" / "modules" / "orders" / "secret.tf").symlink_to(outside)
    (repo / ".terraform" / "modules" / "orders" / "zero.tf").symlink_to("/dev/zero")
    notices = Notices()
    grants = terraform.load(repo / "main.tf", ResolveContext(account=ACCOUNT), notices)
    assert f"arn:aws:iam::{ACCOUNT}:role/OUTSIDE" not in grants.roles
    assert f"arn:aws:iam::{ACCOUNT}:role/orders-api" in grants.roles
    assert notices.count("outside-checkout") >= 2
    # a manifest that is a link to an endless file is no manifest
    manifest = repo / ".terraform" / "modules" / "modules.json"
    manifest.unlink()
    manifest.symlink_to("/dev/zero")
    notices = Notices()
    grants = terraform.load(repo / "main.tf", ResolveContext(account=ACCOUNT), notices)
    assert not grants.roles
    assert notices.count("terraform-module-not-followed") == 3


def test_each_downloaded_file_is_read_once_however_many_ways_modules_call_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Five levels of eight files, each file calling the next level four ways: reading a
    # file once per way to reach it would be 32^4 reads.
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    calls = "".join(f'module "m{k}" {{\n  source = "example/x/aws"\n}}\n' for k in range(4))
    (repo / "main.tf").write_text(calls)
    entries, key = [], ""
    for level in range(1, 6):
        folder = repo / ".terraform" / "modules" / f"l{level}"
        folder.mkdir(parents=True)
        for number in range(8):
            (folder / f"f{number}.tf").write_text(calls)
        keys = [f"{key}.m{k}" if key else f"m{k}" for k in range(4)]
        entries += [{"Key": k, "Source": "x", "Dir": f".terraform/modules/l{level}"}
                     for k in keys]
        key = keys[0]
    (repo / ".terraform" / "modules" / "modules.json").write_text(
        json.dumps({"Modules": entries}))
    reads: list[Path] = []
    text_of = terraform.text_of
    monkeypatch.setattr(terraform, "text_of", lambda path: reads.append(path) or text_of(path))
    terraform.load(repo / "main.tf", ResolveContext(account=ACCOUNT), Notices())
    assert len(reads) == len(set(reads)) <= 1 + 5 * 8


def test_a_key_an_object_may_hold_under_a_name_not_known_offline_is_not_absent(
        tmp_path: Path) -> None:
    extra = 'locals {\n  named = {(var.unset) = "arn:aws:s3:::named"}\n}\n'
    (only,) = _policy_resources(tmp_path, 'try(local.named.dev, "arn:aws:s3:::fallback")',
                                extra)
    assert only.startswith("<unresolved:")  # "dev" may be that key: no fallback taken
    (only,) = _policy_resources(tmp_path, 'try(local.buckets.dev, "arn:aws:s3:::fallback")')
    assert only == "arn:aws:s3:::fallback"  # the known object has no such key


def test_a_copy_of_a_managed_policys_document_reads_that_document(tmp_path: Path) -> None:
    # As terraform-aws-modules/lambda copies AWS's network-interface policy into its own
    (tmp_path / "main.tf").write_text(
        'data "aws_partition" "current" {}\n'
        'data "aws_iam_policy" "vpc" {\n  count = 1\n'
        '  arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/'
        'service-role/AWSLambdaVPCAccessExecutionRole"\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "fn"\n}\n'
        'resource "aws_iam_policy" "vpc" {\n  name = "fn-vpc"\n'
        '  policy = data.aws_iam_policy.vpc[0].policy\n}\n'
        'resource "aws_iam_role_policy_attachment" "vpc" {\n  role = aws_iam_role.r.name\n'
        '  policy_arn = aws_iam_policy.vpc.arn\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    (policy,) = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/fn"].policies
    assert policy.name == "fn-vpc"
    assert "ec2:CreateNetworkInterface" in {a for s in policy.statements for a in s.actions}
    assert not notices.count("terraform-unresolved-policy")


def test_a_managed_policy_found_by_a_data_source_is_attached_by_its_arn(
    tmp_path: Path,
) -> None:
    """``policy_arn = data.aws_iam_policy.x.arn``, the data source naming the policy by
    ``arn``, or by ``name`` for an AWS managed policy the tool bundles."""
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy" "logs" {\n'
        '  arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"\n}\n'
        'data "aws_iam_policy" "sqs" {\n  name = "AWSLambdaSQSQueueExecutionRole"\n}\n'
        'data "aws_iam_policy" "elsewhere" {\n  name = "AWSLambdaSQSQueueExecutionRole"\n'
        '  path_prefix = "/teams/"\n}\n'
        'resource "aws_iam_role" "r" {\n  name = "fn"\n}\n'
        'resource "aws_iam_role_policy_attachment" "logs" {\n  role = aws_iam_role.r.name\n'
        '  policy_arn = data.aws_iam_policy.logs.arn\n}\n'
        'resource "aws_iam_role_policy_attachment" "sqs" {\n  role = aws_iam_role.r.name\n'
        '  policy_arn = data.aws_iam_policy.sqs.id\n}\n'
        'resource "aws_iam_role_policy_attachment" "other" {\n  role = aws_iam_role.r.name\n'
        '  policy_arn = data.aws_iam_policy.elsewhere.arn\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    logs, sqs, other = grants.roles[f"arn:aws:iam::{ACCOUNT}:role/fn"].policies
    assert logs.origin.policy_arn == \
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert "logs:PutLogEvents" in logs.statements[0].actions
    assert sqs.origin.policy_arn == \
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    assert "sqs:ReceiveMessage" in sqs.statements[0].actions
    # under another path it is another policy, not known offline
    assert is_placeholder(other)
    assert notices.count("terraform-unresolved-policy-arn") == 1


def test_a_for_each_map_with_a_key_not_known_offline_is_not_expanded(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n  for_each = {(var.unset) = "x", known = "y"}\n'
        '  name = "role-${each.key}"\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert list(grants.roles) == ["aws_iam_role.r"]  # read once, not keyed by source text
    assert notices.count(terraform.COUNT_NOT_EXPANDED) == 1


ECS = Path(__file__).parent / "data" / "grants" / "terraform" / "ecs"


def test_a_task_definition_runs_as_its_task_role_never_its_execution_role() -> None:
    grants, notices = _load(ECS / "main.tf")
    task = f"arn:aws:iam::{ACCOUNT}:role/orders-task"
    # the task family is what a traced ECS principal's ARN ends with (task-definition/FAMILY)
    assert [(b.function, b.role, b.names, b.origin.line) for b in grants.bindings] == [
        ("orders", task, ("aws_ecs_task_definition.orders",), 37)]
    assert [s.actions for s in grants.roles[task].statements] == [
        ("dynamodb:GetItem", "dynamodb:PutItem")]
    assert not notices.count("terraform-unresolved-role")
    # the execution role is ECS's own: no traced code runs as it
    execution = f"arn:aws:iam::{ACCOUNT}:role/orders-execution"
    assert grants.service_roles == grants.untraceable() == {execution}


def test_an_execution_role_passed_to_a_module_or_named_is_the_services_own(
    tmp_path: Path,
) -> None:
    # The usual layout: the roles in the root module, the task definition in a module
    # called with their ARNs; or the execution role named by its name or ARN written out
    (tmp_path / ".git").mkdir()
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "task" {\n  name = "orders-task"\n}\n'
        'resource "aws_iam_role" "execution" {\n  name = "orders-execution"\n}\n'
        'resource "aws_iam_role" "jobs" {\n  name = "jobs-execution"\n}\n'
        'module "svc" {\n  source = "./modules/svc"\n'
        '  task_role_arn = aws_iam_role.task.arn\n'
        '  execution_role_arn = aws_iam_role.execution.arn\n}\n'
        'resource "aws_ecs_task_definition" "jobs" {\n  family = "jobs"\n'
        '  task_role_arn = aws_iam_role.task.arn\n  execution_role_arn = "jobs-execution"\n}\n')
    (tmp_path / "modules" / "svc").mkdir(parents=True)
    (tmp_path / "modules" / "svc" / "main.tf").write_text(
        'variable "task_role_arn" {}\nvariable "execution_role_arn" {}\n'
        'resource "aws_ecs_task_definition" "this" {\n  family = "orders"\n'
        '  task_role_arn = var.task_role_arn\n'
        '  execution_role_arn = var.execution_role_arn\n}\n')
    notices = Notices()
    grants = load_declared([tmp_path / "main.tf", tmp_path / "modules" / "svc" / "main.tf"],
                           ResolveContext(), notices, root=tmp_path)
    task = f"arn:aws:iam::{ACCOUNT}:role/orders-task"
    assert {b.function: b.role for b in grants.bindings} == {"orders": task, "jobs": task}
    assert grants.untraceable() == {f"arn:aws:iam::{ACCOUNT}:role/orders-execution",
                                    f"arn:aws:iam::{ACCOUNT}:role/jobs-execution"}
    assert not notices.count("terraform-unresolved-role")


def test_a_task_definition_whose_task_role_is_null_binds_nothing(tmp_path: Path) -> None:
    # A module's task_role_arn = var.task_role_arn, the variable defaulting to null (or
    # a branch that leaves it null), is a task run as no role: no binding, no warning
    (tmp_path / "main.tf").write_text(
        'variable "task_role_arn" {\n  default = null\n}\n'
        'resource "aws_iam_role" "task" {\n  name = "orders-task"\n}\n'
        'resource "aws_ecs_task_definition" "batch" {\n  family = "batch"\n'
        '  task_role_arn = var.task_role_arn\n}\n'
        'resource "aws_ecs_task_definition" "jobs" {\n  family = "jobs"\n'
        '  task_role_arn = false ? aws_iam_role.task.arn : null\n}\n'
        'resource "aws_ecs_task_definition" "orders" {\n  family = "orders"\n'
        '  task_role_arn = true ? aws_iam_role.task.arn : null\n}\n')
    grants, notices = _load(tmp_path / "main.tf")
    assert [(b.function, b.role) for b in grants.bindings] == [
        ("orders", f"arn:aws:iam::{ACCOUNT}:role/orders-task")]
    assert not notices.count("terraform-unresolved-role")


def test_task_definitions_and_state_machines_are_bound_per_instance(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "task" {\n  for_each = toset(["web", "jobs"])\n'
        '  name = "${each.key}-task"\n}\n'
        'resource "aws_ecs_task_definition" "app" {\n  for_each = toset(["web", "jobs"])\n'
        '  family = "app-${each.key}"\n  task_role_arn = aws_iam_role.task[each.key].arn\n}\n'
        'resource "aws_sfn_state_machine" "flow" {\n  name = "flow"\n'
        '  role_arn = aws_iam_role.task["jobs"].arn\n  definition = "{}"\n}\n')
    grants, _ = _load(tmp_path / "main.tf")
    role = f"arn:aws:iam::{ACCOUNT}:role/"
    assert {(b.function, b.role, b.names) for b in grants.bindings} == {
        ("app-web", role + "web-task", ('aws_ecs_task_definition.app["web"]',)),
        ("app-jobs", role + "jobs-task", ('aws_ecs_task_definition.app["jobs"]',)),
        ("flow", role + "jobs-task", ("aws_sfn_state_machine.flow",)),
    }


def test_an_instance_profile_binds_its_role_and_is_named_by_the_instances_using_it() -> None:
    grants, notices = _load(Path(__file__).parent / "data" / "grants" / "terraform" / "ec2"
                            / "main.tf")
    role = f"arn:aws:iam::{ACCOUNT}:role/"
    assert [(b.function, b.role, b.names, b.kind, b.origin.line) for b in grants.bindings] == [
        ("web-profile", role + "web-role",
         ("aws_iam_instance_profile.web", "aws_instance.web", "aws_launch_template.web",
          "aws_autoscaling_group.web"),  # an Auto Scaling group, by its launch template
         "instance-profile", 30),
        # a role and a profile named by their names: the role's key has its path
        ("batch-profile", role + "jobs/batch-role",
         ("aws_iam_instance_profile.batch", "aws_instance.batch",
          "aws_launch_configuration.batch", "aws_autoscaling_group.batch"),
         "instance-profile", 56),
    ]
    assert not notices.count("terraform-unresolved-role")


@pytest.mark.parametrize(("partition", "region", "suffix"), [
    ("aws", "us-east-1", "amazonaws.com"),
    ("aws-cn", "cn-north-1", "amazonaws.com.cn"),  # botocore's endpoint data says so
])
def test_a_queue_s_url_and_the_dns_suffix_are_the_partition_s(
        tmp_path: Path, partition: str, region: str, suffix: str) -> None:
    (tmp_path / "main.tf").write_text('''
data "aws_partition" "current" {}
resource "aws_sqs_queue" "q" { name = "jobs" }
resource "aws_iam_role" "r" {
  name               = "r"
  assume_role_policy = "{}"
}
resource "aws_iam_role_policy" "p" {
  role   = aws_iam_role.r.id
  policy = jsonencode({Statement = [{Effect = "Allow", Action = "sqs:SendMessage",
    Resource = ["arn:aws:s3:::b/${aws_sqs_queue.q.url}",
                "arn:aws:s3:::b/x.${data.aws_partition.current.dns_suffix}"]}]})
}
''')
    grants, _ = _load(tmp_path / "main.tf", partition=partition, region=region,
                      account=ACCOUNT)
    [role] = grants.roles.values()
    assert set(role.policies[0].statements[0].resources) == {  # (as object keys, any text)
        f"arn:aws:s3:::b/https://sqs.{region}.{suffix}/{ACCOUNT}/jobs",
        f"arn:aws:s3:::b/x.{suffix}"}


def test_an_event_rule_s_arn_names_its_bus_unless_it_is_the_default(tmp_path: Path) -> None:
    rules = '''
variable "bus" {}
resource "aws_cloudwatch_event_bus" "orders" { name = "orders" }
resource "aws_cloudwatch_event_rule" "nightly" { name = "nightly" }
resource "aws_cloudwatch_event_rule" "on_default" {
  name           = "d"
  event_bus_name = "default"
}
resource "aws_cloudwatch_event_rule" "nulled" {
  name           = "n"
  event_bus_name = null
}
resource "aws_cloudwatch_event_rule" "on_bus" {
  name           = "placed"
  event_bus_name = aws_cloudwatch_event_bus.orders.name
}
resource "aws_cloudwatch_event_rule" "by_arn" {
  name           = "a"
  event_bus_name = aws_cloudwatch_event_bus.orders.arn
}
resource "aws_cloudwatch_event_rule" "elsewhere" {
  name           = "x"
  event_bus_name = "arn:aws:events:us-east-1:999999999999:event-bus/shared"
}
resource "aws_cloudwatch_event_rule" "unknown" {
  name           = "u"
  event_bus_name = var.bus
}
'''
    names = ("nightly", "on_default", "nulled", "on_bus", "by_arn", "elsewhere", "unknown")
    resources = _policy_resources(
        tmp_path, "[" + ", ".join(f"aws_cloudwatch_event_rule.{n}.arn" for n in names) + "]",
        rules)
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule"
    assert resources == (
        f"{rule}/nightly", f"{rule}/d", f"{rule}/n",  # the default bus: no bus in the ARN
        f"{rule}/orders/placed", f"{rule}/orders/a",  # a bus by name, or by its ARN here
        # a bus in another account, or one not known offline: unknown, never a guess
        "<unresolved:aws_cloudwatch_event_rule.elsewhere.arn>",
        "<unresolved:aws_cloudwatch_event_rule.unknown.arn>")


def test_arns_of_more_resource_types_are_known_before_apply(tmp_path: Path) -> None:
    declared = '''
resource "aws_rds_cluster" "notes" { cluster_identifier = "notes" }
resource "aws_rds_cluster" "generated" { engine = "aurora-postgresql" }
resource "aws_scheduler_schedule" "plain" { name = "nightly" }
resource "aws_scheduler_schedule" "grouped" {
  name       = "hourly"
  group_name = "reports"
}
resource "aws_iam_user" "ci" {
  name = "ci"
  path = "/robots/"
}
resource "aws_codebuild_project" "build" { name = "build" }
resource "aws_sagemaker_endpoint" "model" { name = "LaBSE" }
resource "aws_athena_workgroup" "queries" { name = "reports" }
'''
    refs = ("aws_rds_cluster.notes.arn", "aws_rds_cluster.generated.arn",
            "aws_scheduler_schedule.plain.arn", "aws_scheduler_schedule.grouped.arn",
            '"arn:aws:s3:::b/${aws_scheduler_schedule.grouped.id}"', "aws_iam_user.ci.arn",
            "aws_codebuild_project.build.arn", "aws_sagemaker_endpoint.model.arn",
            "aws_athena_workgroup.queries.arn")
    here = f"us-east-1:{ACCOUNT}"
    assert _policy_resources(tmp_path, f"[{', '.join(refs)}]", declared) == (
        f"arn:aws:rds:{here}:cluster:notes",
        "<unresolved:aws_rds_cluster.generated.arn>",  # Terraform makes up the name
        f"arn:aws:scheduler:{here}:schedule/default/nightly",  # the group left out: default
        f"arn:aws:scheduler:{here}:schedule/reports/hourly",
        "arn:aws:s3:::b/reports/hourly",  # (an id as an object key: any text)
        f"arn:aws:iam::{ACCOUNT}:user/robots/ci",
        f"arn:aws:codebuild:{here}:project/build",
        f"arn:aws:sagemaker:{here}:endpoint/labse",  # SageMaker's ARNs: names in lowercase
        f"arn:aws:athena:{here}:workgroup/reports")
