"""Serverless and Terraform files go through discovery and the dispatcher like every source."""

from __future__ import annotations

from pathlib import Path

from leastpriv_ci.grants.declared import discover, load_declared, source_for
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.notices import Notices

DATA = Path(__file__).parent / "data" / "grants"


def test_sources_are_chosen_by_file() -> None:
    picked = {path.relative_to(DATA).as_posix(): source_for(path).NAME  # type: ignore[union-attr]
              for path in discover(DATA, ["serverless/*/serverless.yml", "terraform/**/*.tf",
                                          "terraform/**/plan.json"])}
    assert picked == {
        "serverless/hostile/serverless.yml": "serverless",
        "serverless/v1/serverless.yml": "serverless",
        "serverless/v3/serverless.yml": "serverless",
        "terraform/app/iam.tf": "terraform",
        "terraform/app/storage.tf": "terraform",
        "terraform/app/variables.tf": "terraform",
        "terraform/ec2/main.tf": "terraform",
        "terraform/ecs/main.tf": "terraform",
        "terraform/plan/plan.json": "terraform-plan",
        "terraform/resource-policies/main.tf": "terraform",
        "terraform/wrapped/main.tf": "terraform",
        "terraform/wrapped/modules/function/iam.tf": "terraform",
        "terraform/wrapped/modules/function/main.tf": "terraform",
        "terraform/wrapped/modules/function/variables.tf": "terraform",
    }


def test_loaded_with_repository_relative_origins() -> None:
    paths = [DATA / "serverless" / "v1" / "serverless.yml", DATA / "terraform" / "app" / "iam.tf"]
    grants = load_declared(paths, ResolveContext(), Notices(), root=DATA)
    api = grants.roles["arn:aws:iam::123456789012:role/service/notes-staging-api"]
    assert str(api.statements[0].origin).startswith("terraform/app/iam.tf:27")
    shared = grants.roles["arn:aws:iam::123456789012:role/notes-api-dev-us-east-1-lambdaRole"]
    assert shared.statements[3].origin.file == "serverless/v1/serverless.yml"
    assert {b.function for b in grants.bindings} == {
        "notes-api-dev-list", "notes-api-dev-create", "notes-exporter-dev",
        "notes-staging-api", "notes-staging-worker"}
