"""AWS SAM templates, translated offline to CloudFormation with ``aws-sam-translator``.

The translator creates each function's implicit role (``<Function>Role``) with
``AWSLambdaBasicExecutionRole``, the X-Ray write policy under ``Tracing: Active``, the
expanded SAM policy templates and inline documents from ``Policies`` — and no role when
``Role`` is set. Its bundled managed-policy map resolves names offline. The translated
resources are then read like any CloudFormation template; their lines are mapped back to
the source: each generated policy to its ``Policies`` entry, the implicit managed
policies to the function (or its ``Tracing`` key).

Templates are parsed with this tool's safe loader; the translator's own YAML helper
(which patches PyYAML's global ``SafeLoader``) is never called.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.cfn_yaml import key_line
from leastpriv_ci.grants.foreach import expand_loops
from leastpriv_ci.grants.intrinsics import check_expansion
from leastpriv_ci.grants.model import GrantSet, ResolveContext
from leastpriv_ci.grants.sources import sniff
from leastpriv_ci.grants.sources.cloudformation import (
    SAM_TRANSFORM,
    SUFFIXES,
    check_resource_types,
    grants_from_template,
    load_template,
)
from leastpriv_ci.loaders import LocatedDict, line_of
from leastpriv_ci.notices import Notices

NAME = "sam"
PRIORITY = 10

# Local artifact paths that ``sam package`` would upload; the translator insists on S3.
_ARTIFACTS = {
    "AWS::Serverless::Function": ("CodeUri", "s3://leastpriv-ci-offline/code.zip"),
    "AWS::Serverless::LayerVersion": ("ContentUri", "s3://leastpriv-ci-offline/layer.zip"),
    "AWS::Serverless::Api": ("DefinitionUri", "s3://leastpriv-ci-offline/api.yaml"),
    "AWS::Serverless::HttpApi": ("DefinitionUri", "s3://leastpriv-ci-offline/api.yaml"),
    "AWS::Serverless::StateMachine": ("DefinitionUri", "s3://leastpriv-ci-offline/sfn.json"),
}
_GLOBAL_SECTIONS = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api",
                    "AWS::Serverless::HttpApi": "HttpApi"}
_XRAY = re.compile(r"AWSXray|AWSXRay")
_BASIC = re.compile(r"AWSLambda\w*ExecutionRole$")
# The translator keeps its region in a class attribute: one translation at a time.
_TRANSLATOR_LOCK = threading.Lock()


def detect(path: Path) -> bool:
    """A template whose ``Transform`` names the SAM transform."""
    if path.suffix.lower() not in SUFFIXES:
        return False
    text = sniff(path)
    return SAM_TRANSFORM in text and "Transform" in text


def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    """Roles and bindings of a SAM template, including the roles SAM creates."""
    template = load_template(path)
    if not isinstance(template, Mapping) or not isinstance(template.get("Resources"), Mapping):
        return GrantSet()
    template = expand_loops(template, context, notices, str(path))
    check_resource_types(template["Resources"], str(path))
    check_expansion(template, str(path))
    # The translator rewrites the resources in place; keep the declarations with their lines.
    source = copy.deepcopy(template["Resources"])
    globals_ = copy.deepcopy(template.get("Globals"))
    _localise_artifacts(template)
    translated = translate(template, context, str(path))
    _map_lines(translated, source, globals_, notices, str(path))
    return grants_from_template(translated, str(path), context, notices)


def translate(template: Mapping[str, Any], context: ResolveContext, file: str) -> dict[str, Any]:
    """Translate a SAM template to CloudFormation offline (a :class:`UserError` on failure)."""
    from samtranslator.model.exceptions import InvalidDocumentException, InvalidTemplateException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    class _Region:  # all the translator reads from a boto3 session
        region_name = context.region

    # The translator's metrics object warns on stderr that nobody published it.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    with _TRANSLATOR_LOCK:
        translator = Translator({}, Parser(), boto_session=_Region())
        try:
            result: dict[str, Any] = translator.translate(
                dict(template), parameter_values=dict(context.parameters)
            )
        except InvalidDocumentException as exc:
            messages = "; ".join(str(getattr(e, "message", e)) for e in exc.causes)
            raise UserError(f"SAM cannot translate the template: {messages}", where=file) from None
        except InvalidTemplateException as exc:
            raise UserError(f"SAM cannot translate the template: {exc.message}",
                            where=file) from None
    return result


def _localise_artifacts(template: Mapping[str, Any]) -> None:
    """Point local code paths at placeholder S3 URIs (they do not affect permissions)."""
    globals_ = template.get("Globals")
    for resource in template["Resources"].values():
        if not isinstance(resource, Mapping) or resource.get("Type") not in _ARTIFACTS:
            continue
        prop, uri = _ARTIFACTS[resource["Type"]]
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        section = _GLOBAL_SECTIONS.get(resource["Type"])
        inherited = (globals_.get(section, {}) if isinstance(globals_, Mapping) and section
                     else {})
        value = props.get(prop, inherited.get(prop) if isinstance(inherited, Mapping) else None)
        needs_code = resource["Type"] == "AWS::Serverless::Function" and not any(
            key in props for key in ("InlineCode", "ImageUri")
        )
        local = isinstance(value, str) and not value.startswith("s3://")
        if local or (value is None and needs_code and props.get("PackageType") != "Image"):
            props[prop] = uri


def _map_lines(
    translated: dict[str, Any],
    source: Mapping[str, Any],
    globals_: Any,
    notices: Notices,
    file: str,
) -> None:
    """Give the generated resources the lines of the SAM declarations they come from."""
    resources = translated["Resources"]
    for logical, resource in list(resources.items()):
        if logical in source and isinstance(resource, dict) and line_of(resource) is None:
            resources[logical] = _located(resource, line_of(source[logical]))
    # What SAM generates is named after its declaration: a connector's
    # WriterToTablePolicy, a state machine's MachineRole. Functions' roles get finer
    # lines below.
    declared = sorted((k for k in source if isinstance(source[k], Mapping)), key=len,
                      reverse=True)
    for logical, resource in list(resources.items()):
        if isinstance(resource, dict) and line_of(resource) is None:
            owner = next((k for k in declared if logical.startswith(k)), None)
            if owner is not None and line_of(source[owner]) is not None:
                resources[logical] = _located(resource, line_of(source[owner]))
    for logical, declaration in source.items():
        if not isinstance(declaration, Mapping) or declaration.get("Type") != (
            "AWS::Serverless::Function"
        ):
            continue
        props = declaration.get("Properties") or LocatedDict()
        if "Role" in props and "Policies" in props and not _may_create_role(props["Role"]):
            notices.add(
                "sam-policies-ignored",
                "a SAM function with Role ignores its Policies; remove them or drop Role",
                f"{file}:{key_line(props, 'Policies')}: {logical}",
            )
        role = resources.get(f"{logical}Role")
        if f"{logical}Role" in source or not isinstance(role, Mapping):
            continue
        _map_role(resources, f"{logical}Role", declaration, props, globals_)


def _may_create_role(role: Any) -> bool:
    """``Role: !If [C, ..., !Ref AWS::NoValue]``: SAM creates the role (with the
    function's ``Policies``) when the branch taken is ``AWS::NoValue``."""
    argument = role.get("Fn::If") if isinstance(role, Mapping) and len(role) == 1 else None
    return isinstance(argument, list) and len(argument) == 3 and any(
        branch == {"Ref": "AWS::NoValue"} for branch in argument[1:])


def _map_role(
    resources: dict[str, Any],
    role_id: str,
    declaration: Mapping[str, Any],
    props: Mapping[str, Any],
    globals_: Any,
) -> None:
    function_line = line_of(declaration)
    role = _located(resources[role_id], function_line)
    resources[role_id] = role
    role_props = role.get("Properties")
    if not isinstance(role_props, dict):
        return
    role_props = _located(role_props, function_line)
    role["Properties"] = role_props
    policies_source = props.get("Policies")
    entries = policies_source if isinstance(policies_source, list) else [policies_source]
    inline = role_props.get("Policies", [])
    for position, policy in enumerate(inline if isinstance(inline, list) else []):
        match = re.fullmatch(re.escape(role_id) + r"Policy(\d+)", str(policy.get("PolicyName")))
        index = int(match.group(1)) if match else None
        line = key_line(props, "Policies", index) if index is not None else function_line
        inline[position] = _located(policy, line)
    key_lines: dict[str, int] = {}
    tracing_line = (key_line(props, "Tracing") if "Tracing" in props
                    else _globals_line(globals_, "Tracing"))
    managed = role_props.get("ManagedPolicyArns", [])
    for i, arn in enumerate(managed if isinstance(managed, list) else []):
        name = str(arn).rsplit("/", 1)[-1] if isinstance(arn, str) else None
        line = function_line
        for index, entry in enumerate(entries):
            if isinstance(entry, str) and name and entry.rsplit("/", 1)[-1] == name:
                line = key_line(props, "Policies", index)
                break
        else:
            if name and _XRAY.match(name) and tracing_line:
                line = tracing_line
        if line:
            key_lines[f"ManagedPolicyArns[{i}]"] = line
    role_props.key_lines = key_lines  # type: ignore[attr-defined]


def _globals_line(globals_: Any, key: str) -> int | None:
    section = globals_.get("Function") if isinstance(globals_, Mapping) else None
    return key_line(section, key) if isinstance(section, Mapping) and key in section else None


def _located(value: Mapping[str, Any], line: int | None) -> LocatedDict:
    if isinstance(value, LocatedDict) and value.line is not None:
        return value
    located = LocatedDict(value)
    located.line = line
    if hasattr(value, "key_lines"):
        located.key_lines = value.key_lines  # type: ignore[attr-defined]
    return located
