"""The Serverless and Terraform knowledge files agree with the IAM catalog."""

from __future__ import annotations

import json
import re
from importlib import resources

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.grants.optional_fields import FIELD

DATA = resources.files("leastpriv_ci.data")


def test_serverless_added_actions_exist() -> None:
    data = json.loads(DATA.joinpath("serverless_iam.json").read_text())
    catalog = get_catalog()
    actions = [a for key in ("shared_role_logs", "per_function_logs", "tracing")
               for statement in data[key] for a in statement["Action"]]
    actions += data["v3_log_actions"]
    actions += [a for group in data["event_actions"].values() for a in group]
    missing = [a for a in actions if not catalog.exists(a)]
    assert missing == []
    assert data["vpc_managed_policy"].endswith(":iam::aws:policy/service-role/"
                                               "AWSLambdaVPCAccessExecutionRole")


def test_terraform_arn_templates_match_the_catalogs_formats() -> None:
    data = json.loads(DATA.joinpath("terraform_arns.json").read_text())
    catalog = get_catalog()
    checked = 0
    for kind, entry in data["types"].items():
        template = entry["attrs"].get("arn")
        if template is None:
            continue
        service, *types = entry["catalog"]
        optional = list(re.findall(r"\{(\w+/)\}", template))
        assert len(types) == (2 if optional else 1), kind  # with its optional parts set
        for set_parts, type_name in zip((False, True), types, strict=False):
            resource_type = catalog.resource_type(service, type_name)
            assert resource_type is not None, kind
            values = {"partition": "aws", "region": "r", "account": "a", "path": "/",
                      "slash": "/", **dict.fromkeys(optional, "N/" if set_parts else "")}
            ours = template.format_map(  # the name and any other argument: N
                {**dict.fromkeys(FIELD.findall(template), "N"), **values})
            theirs = re.sub(r"\$\{(Partition|Region|Account)\}",
                            lambda m: {"Partition": "aws", "Region": "r", "Account": "a"}[m[1]],
                            resource_type.arn_format)
            assert ours == re.sub(r"\$\{\w+\}", "N", theirs), (kind, set_parts)
            checked += 1
    assert checked == 29
    assert {f.rstrip("/") for t in data["types"].values() for a in t["attrs"].values()
            for f in re.findall(r"\{(\w+)/\}", a)} == set(data["optional"]) - {"_comment"}
    arguments = {f for t in data["types"].values() for a in t["attrs"].values()
                 for f in FIELD.findall(a) if f[-1] not in "/|"} - {
        "name", "lowercase_name", "slash", "partition", "region", "account", "url_suffix"}
    assert arguments == set(data["defaults"]) - {"_comment"}  # each has its default
