"""Deploy a SAM template to the local emulator, the way a pipeline deploys staging.

The template is translated offline with AWS's own ``aws-sam-translator`` and created
through the emulator's CloudFormation API, so the table, bucket, topic, role and
function configurations exist as the template declares them. Two things real
CloudFormation does and moto does not are done afterwards: attaching managed policies
and tagging functions with ``aws:cloudformation:*``, so principals resolve to roles and
logical IDs exactly as they would in an account.
"""

from __future__ import annotations

import ast
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leastpriv_ci.emulator import Emulator
from leastpriv_ci.errors import UserError

PLACEHOLDER_CODE = "def handler(event, context):\n    return {}\n"


@dataclass(frozen=True)
class DeployedFunction:
    """A function as deployed: what the staging harness needs to invoke it."""

    key: str  # the handler module's short name, e.g. "create" for notes.create.handler
    logical_id: str
    name: str
    arn: str
    role_arn: str
    handler: str
    environment: dict[str, str]


@dataclass(frozen=True)
class Deployment:
    stack_name: str
    functions: dict[str, DeployedFunction]
    roles: tuple[str, ...]


def translate(template: dict[str, Any], emulator: Emulator, file: str) -> dict[str, Any]:
    """SAM → CloudFormation, offline; local code locations become inline placeholders."""
    from leastpriv_ci.grants.model import ResolveContext
    from leastpriv_ci.grants.sources.sam import translate as sam_translate

    document = copy.deepcopy(template)
    document.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in document.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            properties = resource.setdefault("Properties", {})
            properties.pop("CodeUri", None)
            properties["InlineCode"] = PLACEHOLDER_CODE
    context = ResolveContext(region=emulator.region, account=emulator.account)
    return sam_translate(document, context, file)


def deploy(path: Path, emulator: Emulator, stack_name: str,
           parameters: dict[str, str] | None = None) -> Deployment:
    """Create the stack of the template at ``path`` on the emulator; return its functions."""
    from leastpriv_ci.grants.sources.cloudformation import load_template

    cloudformation = emulator.client("cloudformation")
    template = json.loads(json.dumps(load_template(path)))
    body = translate(template, emulator, str(path))
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v}
                    for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise UserError(f"staging stack {stack_name} failed: {stack.get('StackStatusReason')}")
    resources = cloudformation.list_stack_resources(StackName=stack_name)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in resources["StackResourceSummaries"]}
    _complete_roles(emulator, body, physical)
    functions = _functions(emulator, body, physical, stack)
    roles = tuple(physical[logical] for logical, resource in body["Resources"].items()
                  if resource["Type"] == "AWS::IAM::Role")
    return Deployment(stack_name, functions, roles)


def _complete_roles(emulator: Emulator, body: dict[str, Any],
                             physical: dict[str, str]) -> None:
    iam = emulator.client("iam")
    for logical, resource in body["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        role_name = physical[logical]
        # moto keeps inline policies created by CloudFormation as Python dicts: its IAM API
        # then answers with their repr and its own enforcement cannot read them. Writing
        # them back through the IAM API stores JSON text, as AWS does.
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            if isinstance(document, str):
                document = ast.literal_eval(document)
            iam.put_role_policy(RoleName=role_name, PolicyName=name,
                                PolicyDocument=json.dumps(document))
        attached = {p["PolicyArn"] for p in
                    iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]}
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            if isinstance(arn, str) and arn not in attached:
                iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)


def _functions(emulator: Emulator, body: dict[str, Any], physical: dict[str, str],
               stack: dict[str, Any]) -> dict[str, DeployedFunction]:
    lam = emulator.client("lambda")
    functions: dict[str, DeployedFunction] = {}
    for logical, resource in body["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        config = lam.get_function_configuration(FunctionName=physical[logical])
        lam.tag_resource(Resource=config["FunctionArn"], Tags={
            "aws:cloudformation:logical-id": logical,
            "aws:cloudformation:stack-name": stack["StackName"],
            "aws:cloudformation:stack-id": stack["StackId"],
        })
        handler = config["Handler"]
        key = handler.split(".")[-2]
        functions[key] = DeployedFunction(
            key=key,
            logical_id=logical,
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            role_arn=config["Role"],
            handler=handler,
            environment=dict(config.get("Environment", {}).get("Variables", {})),
        )
    return functions
