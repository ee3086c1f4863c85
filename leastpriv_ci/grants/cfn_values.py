"""CloudFormation syntax inside Serverless configs: short-form tags and intrinsic functions.

A small resolver for the intrinsics that appear in ``serverless.yml`` statements and
``resources.Resources``: ``Ref``/``Fn::GetAtt`` (pseudo-parameters, and ARNs derived from
the referenced resource's type and name), ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``,
``Fn::Split``. Anything else (``Fn::ImportValue``, unknown resources) becomes an explicit
*unresolved* value with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from leastpriv_ci.loaders import LocatedDict, SafeLocatedLoader, loads_yaml
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import is_unresolved, unresolved

_SUB = re.compile(r"\$\{([^}!][^}]*)\}")

# Resource type → (attribute → ARN template); {name} is the resource's name property.
_ARNS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "AWS::DynamoDB::Table": ("TableName", {
        "Arn": "arn:{partition}:dynamodb:{region}:{account}:table/{name}"}),
    "AWS::S3::Bucket": ("BucketName", {"Arn": "arn:{partition}:s3:::{name}"}),
    "AWS::SQS::Queue": ("QueueName", {"Arn": "arn:{partition}:sqs:{region}:{account}:{name}"}),
    "AWS::SNS::Topic": ("TopicName", {"TopicArn": "arn:{partition}:sns:{region}:{account}:{name}"}),
    "AWS::IAM::Role": ("RoleName", {"Arn": "arn:{partition}:iam::{account}:role/{name}"}),
    "AWS::Lambda::Function": ("FunctionName", {
        "Arn": "arn:{partition}:lambda:{region}:{account}:function:{name}"}),
}
# What Ref returns: the name, except for resources whose Ref is an ARN or URL.
_REF_IS_ARN = {"AWS::SNS::Topic": "TopicArn"}


class CfnTagLoader(SafeLocatedLoader):
    """The safe located loader plus CloudFormation short-form tags (``!Ref``, ``!Sub``…)."""


def _construct_tag(loader: CfnTagLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        key = "Ref"
    elif suffix == "Condition":
        key = "Condition"
    else:
        key = f"Fn::{suffix}"
    if key == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    located = LocatedDict({key: value})
    located.line = node.start_mark.line + 1
    return located


CfnTagLoader.add_multi_constructor("!", _construct_tag)


def loads_cfn_yaml(text: str) -> Any:
    """Parse YAML safely, with CloudFormation short-form tags as long-form mappings."""
    return loads_yaml(text, loader=CfnTagLoader)


@dataclass(frozen=True)
class Scope:
    """What intrinsics resolve against."""

    region: str
    account: str
    partition: str
    stack_name: str
    resources: Mapping[str, Any]
    notices: Notices
    where: str


def referenced_logical_id(value: Mapping[str, Any]) -> str | None:
    """``X`` for ``{"Ref": X}`` / ``{"Fn::GetAtt": [X, "Arn"]}`` (``!GetAtt X.Arn``)."""
    if "Ref" in value and isinstance(value["Ref"], str):
        return value["Ref"]
    target = value.get("Fn::GetAtt")
    if isinstance(target, list) and target and isinstance(target[0], str):
        return target[0]
    if isinstance(target, str):
        return target.split(".", 1)[0]
    return None


def resolve(value: Any, scope: Scope) -> Any:
    """``value`` with intrinsic functions replaced by their values (or *unresolved*)."""
    if isinstance(value, list):
        return [resolve(item, scope) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return _intrinsic(str(key), argument, scope)
    out = LocatedDict()
    out.line = getattr(value, "line", None)
    for key, item in value.items():
        out[key] = resolve(item, scope)
    return out


def _intrinsic(key: str, argument: Any, scope: Scope) -> Any:
    if key == "Ref":
        return _ref(str(argument), scope)
    if key == "Fn::GetAtt":
        parts = argument.split(".", 1) if isinstance(argument, str) else argument
        if isinstance(parts, list) and len(parts) == 2:
            return _get_att(str(parts[0]), str(parts[1]), scope)
    if key == "Fn::Sub":
        return _sub(argument, scope)
    if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        items = resolve(argument[1], scope)
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            if any(is_unresolved(i) for i in items):
                return unresolved(f"Fn::Join {items!r}")
            return str(argument[0]).join(items)
    if key == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
        items = resolve(argument[1], scope)
        index = resolve(argument[0], scope)
        if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
            return items[int(index)]
    if key == "Fn::Split" and isinstance(argument, list) and len(argument) == 2:
        text = resolve(argument[1], scope)
        if isinstance(text, str) and not is_unresolved(text):
            return text.split(str(argument[0]))
    scope.notices.add("unresolved-intrinsic", "CloudFormation intrinsic not resolved offline",
                      f"{scope.where}: {key}")
    return unresolved(f"{key} {argument!r}")


def _pseudo(name: str, scope: Scope) -> str | None:
    return {
        "AWS::Region": scope.region,
        "AWS::AccountId": scope.account,
        "AWS::Partition": scope.partition,
        "AWS::StackName": scope.stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }.get(name)


def _ref(name: str, scope: Scope) -> Any:
    pseudo = _pseudo(name, scope)
    if pseudo is not None:
        return pseudo
    resource = scope.resources.get(name)
    if isinstance(resource, Mapping) and resource.get("Type") in _ARNS:
        kind = str(resource["Type"])
        if kind in _REF_IS_ARN:
            return _get_att(name, _REF_IS_ARN[kind], scope)
        found = _name(resource, scope)
        if found is not None:
            return found
    scope.notices.add("unresolved-ref", "Ref to a resource whose name is not declared",
                      f"{scope.where}: {name}")
    return unresolved(f"Ref {name}")


def _name(resource: Mapping[str, Any], scope: Scope) -> str | None:
    prop, _ = _ARNS[str(resource["Type"])]
    properties = resource.get("Properties")
    raw = properties.get(prop) if isinstance(properties, Mapping) else None
    name = resolve(raw, scope) if raw is not None else None
    return name if isinstance(name, str) and not is_unresolved(name) else None


def _get_att(logical: str, attribute: str, scope: Scope) -> str:
    resource = scope.resources.get(logical)
    if isinstance(resource, Mapping) and resource.get("Type") in _ARNS:
        _, templates = _ARNS[str(resource["Type"])]
        name = _name(resource, scope)
        if attribute in templates and name is not None:
            return templates[attribute].format(
                partition=scope.partition, region=scope.region, account=scope.account,
                name=name)
    scope.notices.add("unresolved-getatt", "Fn::GetAtt not resolvable offline",
                      f"{scope.where}: {logical}.{attribute}")
    return unresolved(f"Fn::GetAtt {logical}.{attribute}")


def _sub(argument: Any, scope: Scope) -> Any:
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], Mapping):
        text, variables = argument[0], resolve(argument[1], scope)
    else:
        text, variables = argument, {}
    if not isinstance(text, str):
        return unresolved(f"Fn::Sub {argument!r}")
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in variables and isinstance(variables[name], str):
            value: Any = variables[name]
        elif _pseudo(name, scope) is not None:
            value = _pseudo(name, scope)
        elif "." in name:
            logical, attribute = name.split(".", 1)
            value = _get_att(logical, attribute, scope)
        else:
            value = _ref(name, scope)
        if not isinstance(value, str) or is_unresolved(value):
            missing.append(name)
            return match.group(0)
        return value

    result = _SUB.sub(replace, text).replace("${!", "${")
    return unresolved(f"Fn::Sub {text}") if missing else result
