"""CloudFormation intrinsic functions, resolved offline from what a template and the scan know.

``Ref``/``Fn::GetAtt`` to resources derive names and ARNs from the resource type and its
properties (the table in ``data/cfn_resources.json``); parameters come from overrides
(``ResolveContext.parameters``), then their ``Default``; pseudo-parameters from the
context. Whatever cannot be known before deployment becomes an explicit
:func:`~leastpriv_ci.policy.model.unresolved` value plus a counted warning — it is never
dropped and never replaced by a wildcard.

Overrides may also name resources: ``parameters["Table"]`` is what ``!Ref Table`` gives
and ``parameters["Table.Arn"]`` what ``!GetAtt Table.Arn`` gives, for physical names
CloudFormation generates; ``parameters["shared-arn"]`` is what ``!ImportValue shared-arn``
gives (an export of another stack). Without one, an export another scanned template
declares (``context.exports``) is used.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, NoReturn

from leastpriv_ci.bundled import load
from leastpriv_ci.errors import UserError, excerpt
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.optional_fields import FIELD, OptionalField, optional_fields, split_field
from leastpriv_ci.loaders import LocatedDict, line_of, mapping_of
from leastpriv_ci.notices import Notices
from leastpriv_ci.partitions import dns_suffix
from leastpriv_ci.policy.model import is_unresolved, unresolved

# A template whose aliases expand past this many values is refused (a YAML bomb would
# otherwise expand exponentially while being resolved).
MAX_NODES = 2_000_000

_UNRESOLVED = (
    "a template value cannot be resolved offline; it stays unresolved, so decisions that "
    "depend on it are conditional"
)
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    """``AWS::NoValue``: the enclosing key or list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_MISSING: Any = object()
_CONTAINERS = (dict, list)


@dataclass(frozen=True)
class ResourceType:
    """What ``Ref``/``Fn::GetAtt`` return for one resource type (``None``: generated)."""

    name_property: str | None
    ref: str | None
    attributes: Mapping[str, str | None]


@dataclass(frozen=True)
class ResourceRules:
    """The bundled table of ``data/cfn_resources.json``."""

    types: Mapping[str, ResourceType]
    defaults: Mapping[str, str]  # the value of a property left out
    optional: Mapping[str, OptionalField]


@dataclass(frozen=True)
class _Unknown:
    """A pattern's field that cannot be known: ``why`` (None: already warned)."""

    label: str
    why: str | None


@cache
def resource_rules() -> ResourceRules:
    """The bundled resource-type table (loaded once)."""
    raw = load("cfn_resources.json")
    types = {
        name: ResourceType(entry["name"], entry["ref"], dict(entry["attrs"]))
        for name, entry in raw["types"].items()
    }
    return ResourceRules(types, dict(raw["property_defaults"]),
                         optional_fields(raw["optional_properties"]))


@cache
def _physical_pattern(ref: str, values: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    """A ``ref`` rule of ``data/cfn_resources.json`` as a pattern of physical IDs with the
    name captured, its other fields the ``values`` given; ``?`` (IAM's any one character:
    a secret's suffix) is any one."""
    known = dict(values)
    parts = []
    named = False
    for text, field in re.findall(r"([^{]*)(?:\{(\w+[|/]?)\})?", ref):
        parts.append(re.escape(text).replace(r"\?", "."))
        if field == "name":
            parts.append("(?P=name)" if named else "(?P<name>.+?)")
            named = True
        elif field:
            parts.append(re.escape(known[field]))
    return re.compile("".join(parts))


def check_expansion(template: Any, file: str, max_values: int = MAX_NODES) -> None:
    """Refuse a template whose aliases expand past ``max_values`` values (counted as
    :meth:`TemplateResolver.resolve` counts them) before anything walks it expanded —
    the SAM translator would hang on an alias bomb. Linear in the distinct nodes: the
    size of a node that aliases share is computed once."""
    if _expanded_size(template, {}, max_values) > max_values:
        raise _alias_bomb(max_values, file)


def _expanded_size(value: Any, sizes: dict[int, int], limit: int) -> int:
    if not isinstance(value, _CONTAINERS):
        return 0
    known = sizes.get(id(value))
    if known is not None:
        return known
    size = 1 + len(value)
    for item in value.values() if isinstance(value, dict) else value:
        size += _expanded_size(item, sizes, limit)
        if size > limit:
            break  # already refused; stop adding
    sizes[id(value)] = size
    return size


def _alias_bomb(max_values: int, file: str) -> UserError:
    return UserError(
        f"the template expands to more than {max_values} values (a YAML alias bomb?); "
        "remove the repeated aliases",
        where=file,
    )


def is_intrinsic(value: object) -> bool:
    """A one-key mapping naming an intrinsic function (or an unknown short-form tag)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Ref" or key.startswith(("Fn::", "!")))


class TemplateResolver:
    """Resolves intrinsic functions in one template (``file`` names it in warnings)."""

    def __init__(
        self,
        template: Mapping[str, Any],
        context: ResolveContext,
        notices: Notices,
        file: str,
        max_values: int = MAX_NODES,
    ) -> None:
        self.template = template
        self.max_values = max_values
        self.context = context
        self.notices = notices
        self.file = file
        self._nodes = 0
        self._conditions: dict[str, bool | None] = {}
        self._evaluating: set[str] = set()
        self._resolving: set[str] = set()
        self._values: dict[tuple[str, str | None], Any] = {}
        self._any_undecided: bool | None = None
        self.imports: set[str] = set()  # Fn::ImportValue names not known here

    def _section(self, name: str) -> Mapping[str, Any]:
        section = self.template.get(name)
        return section if isinstance(section, Mapping) else {}

    # -- public -------------------------------------------------------------------------

    def resolve(self, value: Any, line: int | None = None) -> Any:
        """``value`` with every intrinsic resolved; ``NO_VALUE`` if it resolves to nothing."""
        # Loaded templates hold plain dicts and lists; concrete type checks keep this hot
        # path cheap (ABC isinstance checks cost several times more on large templates),
        # and plain values are copied without a call for each.
        is_dict = isinstance(value, dict)
        if not is_dict and not isinstance(value, list):
            return value
        self._nodes += 1 + len(value)  # counts scalars too
        if self._nodes > self.max_values:
            self._refuse_bomb()
        resolve = self.resolve
        if not is_dict:
            items = []
            for item in value:
                if isinstance(item, _CONTAINERS):
                    item = resolve(item, line)
                if item is not NO_VALUE:
                    items.append(item)
            return items
        own_line = getattr(value, "line", None)
        line = own_line or line
        if len(value) == 1:
            key = next(iter(value))
            if key == "Ref" or (isinstance(key, str) and key.startswith(("Fn::", "!"))):
                return self._intrinsic(key, value[key], line)
        out = LocatedDict()
        out.line = own_line
        for key, item in value.items():
            if isinstance(item, _CONTAINERS):
                item = resolve(item, line)
            if item is not NO_VALUE:
                out[key] = item
        return out

    def choose(self, value: Any, line: int | None = None) -> Any:
        """``value`` with each decided ``Fn::If`` replaced by its branch and
        ``AWS::NoValue`` dropped (``NO_VALUE`` if nothing is left), at the top and in list
        items; other intrinsics stay as written, so a ``Ref`` to a resource can still be
        told from the name it resolves to. An undecidable ``Fn::If`` stays too."""
        if isinstance(value, list):
            self._nodes += 1 + len(value)
            if self._nodes > self.max_values:
                self._refuse_bomb()
            chosen = (self.choose(item, line) for item in value)
            return [item for item in chosen if item is not NO_VALUE]
        if not isinstance(value, Mapping) or len(value) != 1:
            return value
        (key, argument), = value.items()
        line = line_of(value) or line
        if key == "Ref" and argument == "AWS::NoValue":
            return NO_VALUE
        if key == "Fn::If" and isinstance(argument, list) and len(argument) == 3 and (
            isinstance(argument[0], str)
        ):
            decided = self.condition(argument[0], line)
            if decided is not None:
                return self.choose(argument[1] if decided else argument[2], line)
        return value

    def condition(self, name: str, line: int | None = None) -> bool | None:
        """A named condition's value; ``None`` when it depends on something unknown."""
        if name in self._conditions:
            return self._conditions[name]
        conditions = self._section("Conditions")
        if name not in conditions or name in self._evaluating:
            self._unresolved(f"condition {name}", line, "the template does not declare it"
                             if name not in conditions else "it refers to itself")
            return None
        self._evaluating.add(name)
        try:
            result = self._evaluate(conditions[name], line_of(conditions[name]) or line)
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = result
        return result

    def any_undecided(self) -> bool:
        """Whether a condition the template declares cannot be decided offline. Read
        without warnings and forgotten: each is warned about where it is used."""
        if self._any_undecided is None:
            conditions, values = self._conditions, self._values
            self._conditions, self._values = {}, {}
            try:
                with self.silenced():
                    self._any_undecided = any(self.condition(name) is None
                                              for name in self._section("Conditions"))
            finally:
                self._conditions, self._values = conditions, values
        return self._any_undecided

    @contextmanager
    def silenced(self) -> Iterator[Notices]:
        """Resolve without warnings while inside (values nobody asked the scan about);
        what would have been said is handed over."""
        notices, self.notices = self.notices, Notices()
        try:
            yield self.notices
        finally:
            self.notices = notices

    def exported(self, outputs: object) -> Iterator[tuple[str, Any, int | None]]:
        """Each export of an ``Outputs`` section whose name resolves offline: (export
        name, its ``Value`` node, line). Names are read without warnings, and so should
        values be (:meth:`silenced`): an output nobody imports is no concern of the scan."""
        for output in outputs.values() if isinstance(outputs, Mapping) else ():
            export = output.get("Export") if isinstance(output, Mapping) else None
            if not isinstance(export, Mapping) or "Value" not in output:
                continue
            line = line_of(output)
            with self.silenced():
                name = self.text(export.get("Name"), line)
            if name is not None:
                yield name, output["Value"], line

    def resource_included(self, logical_id: str) -> bool | None:
        """Whether a resource exists under its ``Condition`` (``None``: unknown)."""
        resource = self._section("Resources").get(logical_id)
        if not isinstance(resource, Mapping) or "Condition" not in resource:
            return True
        name = resource["Condition"]
        return self.condition(name, line_of(resource)) if isinstance(name, str) else None

    def ref(self, name: str, line: int | None = None) -> Any:
        """What ``{"Ref": name}`` gives."""
        return self._intrinsic("Ref", name, line)

    def text(self, value: Any, line: int | None = None) -> str | None:
        """``value`` resolved to a known string, or ``None`` (unresolved, already warned)."""
        resolved = self.resolve(value, line)
        if isinstance(resolved, bool):
            return str(resolved).lower()
        if isinstance(resolved, int | float):
            return str(resolved)
        if isinstance(resolved, str) and not is_unresolved(resolved):
            return resolved
        return None

    # -- intrinsics ---------------------------------------------------------------------

    def _intrinsic(self, key: str, argument: Any, line: int | None) -> Any:
        handler = _HANDLERS.get(key)
        if handler is None:
            spelled = key if key.startswith("!") else f"{key} (unknown intrinsic function)"
            self.notices.add(
                "unknown-intrinsic",
                "the template uses a tag or intrinsic function this tool does not know; "
                "the value stays unresolved",
                self._where(line, spelled),
            )
            return unresolved(spelled)
        return handler(self, argument, line)

    def _ref(self, argument: Any, line: int | None) -> Any:
        if not isinstance(argument, str):
            return self._unresolved(f"Ref {excerpt(argument)}", line, "Ref takes a name")
        if argument == "AWS::NoValue":
            return NO_VALUE
        if argument.startswith("AWS::"):
            return self._pseudo(argument, line)
        if argument in self.context.parameters:
            return self._parameter_value(argument, self.context.parameters[argument])
        parameters = self._section("Parameters")
        if argument in parameters:
            return self._parameter(argument, parameters[argument], line)
        if argument in self._section("Resources"):
            return self._resource_value(argument, None, line)
        return self._unresolved(f"Ref {argument}", line, "the template declares no such "
                                "parameter or resource")

    def _pseudo(self, name: str, line: int | None) -> Any:
        context = self.context
        if name in context.parameters:
            return context.parameters[name]
        known = {
            "AWS::Region": context.region,
            "AWS::AccountId": context.account,
            "AWS::Partition": context.partition,
            "AWS::URLSuffix": dns_suffix(context.partition),
        }
        if name == "AWS::StackName" and context.stack_name:
            return context.stack_name
        if name in known:
            return known[name]
        if name == "AWS::StackName":
            return self._unresolved(name, line, "known only once the stack is deployed; set "
                                    "stack-name, or AWS::StackName in the parameters")
        return self._unresolved(name, line, "known only once the stack is deployed; set it "
                                "in the parameters")

    def _parameter(self, name: str, declaration: Any, line: int | None) -> Any:
        if not isinstance(declaration, Mapping):
            return self._unresolved(f"parameter {name}", line, "malformed declaration")
        kind = str(declaration.get("Type", "String"))
        if kind.startswith("AWS::SSM::Parameter::Value"):
            return self._unresolved(f"parameter {name}", line, "read from SSM at deploy time; "
                                    "set it in the parameters")
        if "Default" not in declaration:
            return self._unresolved(f"parameter {name}", line, "no Default; set it in the "
                                    "parameters")
        default = declaration["Default"]
        if kind.startswith(("List<", "CommaDelimitedList")) and isinstance(default, str):
            return [item.strip() for item in default.split(",")]
        return str(default).lower() if isinstance(default, bool) else str(default)

    def _parameter_value(self, name: str, value: str) -> Any:
        declaration = self._section("Parameters").get(name)
        kind = str(declaration.get("Type", "")) if isinstance(declaration, Mapping) else ""
        if kind.startswith(("List<", "CommaDelimitedList")):
            return [item.strip() for item in value.split(",")]
        return value

    def _resource_value(self, logical_id: str, attribute: str | None, line: int | None) -> Any:
        # Pure in the template and context: computed once per resource and attribute (a
        # large template refers to the same table from hundreds of statements).
        key = (logical_id, attribute)
        if key not in self._values:
            self._values[key] = self._derive(logical_id, attribute, line)
            return self._values[key]
        value = self._values[key]
        if isinstance(value, str) and is_unresolved(value):
            # Each use is counted, so the warning says how many places depend on it.
            self.notices.add("unresolved-value", _UNRESOLVED, self._where(line, value))
        return value

    def _derive(self, logical_id: str, attribute: str | None, line: int | None) -> Any:
        spelled = f"{logical_id}.{attribute}" if attribute else logical_id
        label = f"GetAtt {spelled}" if attribute else f"Ref {spelled}"
        if spelled in self.context.parameters:
            return self.context.parameters[spelled]
        resource = self._section("Resources").get(logical_id)
        if not isinstance(resource, Mapping):
            return self._unresolved(label, line, "the template declares no such resource")
        kind = resource.get("Type")
        rules = resource_rules()
        known = rules.types.get(kind) if isinstance(kind, str) else None
        if known is None:
            return self._unresolved(label, line, f"no rule for type {kind}")
        pattern = known.attributes.get(attribute) if attribute else known.ref
        if pattern is None:
            why = (f"{kind} has no attribute {attribute}" if attribute
                   and attribute not in known.attributes else "generated by CloudFormation")
            return self._unresolved(label, line, why)
        if spelled in self._resolving:
            return self._unresolved(label, line, "it refers to itself")
        self._resolving.add(spelled)
        try:
            values = self._fields(pattern, resource, rules, label, line)
            if isinstance(values, dict) and ("{name}" in pattern
                                             or "{lowercase_name}" in pattern):
                values = self._name(values, resource, known, rules, label, line, logical_id)
                if isinstance(values, dict):
                    values["lowercase_name"] = values["name"].lower()
            if isinstance(values, _Unknown):
                if values.why is None:
                    return unresolved(values.label)
                return self._unresolved(values.label, line, values.why)
            return pattern.format_map(values)
        finally:
            self._resolving.discard(spelled)

    def _name(self, values: dict[str, str], resource: Mapping[str, Any], known: ResourceType,
              rules: ResourceRules, label: str, line: int | None,
              logical_id: str) -> dict[str, str] | _Unknown:
        """``values`` with the resource's name: its property's, else the deployed one's."""
        properties = mapping_of(resource.get("Properties"))
        prop = known.name_property
        if prop is not None and prop in properties:
            text = self.text(properties[prop], line_of(resource) or line)
            if text is None:
                return _Unknown(f"{label} ({prop} unresolved)", None)
            return {**values, "name": text}
        deployed = self._deployed_name(logical_id, resource, known, rules)
        if deployed is not None:
            return {**values, "name": deployed}  # the name CloudFormation gave it when deployed
        if prop is not None and prop in rules.defaults:
            return {**values, "name": rules.defaults[prop]}
        return _Unknown(label, f"{prop or 'its name'} is not set, so CloudFormation "
                        "generates it; set it, have it read from the deployed stack "
                        "(stack-name or a CDK app's manifest, in a scan with AWS access) or "
                        "pass the value in the parameters")

    def _deployed_name(self, logical_id: str, resource: Mapping[str, Any],
                       known: ResourceType, rules: ResourceRules) -> str | None:
        """The name CloudFormation gave the resource in the configured stack as deployed,
        read off its physical ID (what ``Ref`` gives) for a resource of the same type
        there, in this partition, region and account; else None."""
        deployed = self.context.deployed.get(logical_id)
        if deployed is None or deployed.type != resource.get("Type") or known.ref is None \
                or "{name}" not in known.ref:  # a name only in lowercase: its case is lost
            return None
        values = self._fields(known.ref, resource, rules, "", None)
        if isinstance(values, _Unknown):
            return None
        found = _physical_pattern(known.ref, tuple(sorted(values.items()))).fullmatch(
            deployed.physical_id)
        return found.group("name") if found is not None else None

    def _fields(self, pattern: str, resource: Mapping[str, Any], rules: ResourceRules,
                label: str, line: int | None) -> dict[str, str] | _Unknown:
        """The values of ``pattern``'s fields but its name, or the first one unknown."""
        properties = mapping_of(resource.get("Properties"))
        line = line_of(resource) or line
        location = self.context.location()
        values = dict(location)
        for field in FIELD.findall(pattern):
            if field in values or field in ("name", "lowercase_name"):
                continue
            prop, separator = split_field(field)
            if prop not in properties:
                if separator:
                    values[field] = ""
                elif prop in rules.defaults:
                    values[field] = rules.defaults[prop]
                else:
                    return _Unknown(label, f"{prop} is not set; set it or pass the value "
                                    "in the parameters")
                continue
            text = self.text(properties[prop], line)
            if text is None:
                return _Unknown(f"{label} ({prop} unresolved)", None)
            if separator:
                part = rules.optional[prop].part(text, separator, location)
                if part is None:
                    return _Unknown(label, f"{prop} is in another account or Region, where "
                                    "the resource is then created; pass the value in the "
                                    "parameters")
                text = part
            values[field] = text
        return values

    def _get_att(self, argument: Any, line: int | None) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            return self._unresolved(f"GetAtt {excerpt(argument)}", line, "expects [Resource, "
                                    "Attribute]")
        logical_id, attribute = argument
        attribute = self.text(attribute, line) if not isinstance(attribute, str) else attribute
        if not isinstance(logical_id, str) or attribute is None:
            return unresolved(f"GetAtt {excerpt(argument)}")
        return self._resource_value(logical_id, attribute, line)

    def _sub(self, argument: Any, line: int | None) -> Any:
        variables: Mapping[str, Any] = {}
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], Mapping):
            argument, variables = argument
        if not isinstance(argument, str):
            return self._unresolved(f"Sub {excerpt(argument)}", line, "expects a string")
        missing = False

        def replace(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = self.resolve(variables[name], line)
            elif "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                value = self._resource_value(logical_id, attribute, line)
            else:
                value = self._ref(name, line)
            if isinstance(value, int | float | bool):
                value = str(value).lower() if isinstance(value, bool) else str(value)
            if not isinstance(value, str) or is_unresolved(value):
                missing = True
                return match.group(0)
            return value

        result = _SUB_VARIABLE.sub(replace, argument)
        return unresolved(f"Sub {result}") if missing else result

    def _join(self, argument: Any, line: int | None) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return self._unresolved(f"Join {excerpt(argument)}", line, "expects [delimiter, list]")
        delimiter = self.text(argument[0], line)
        items = self.resolve(argument[1], line)
        if delimiter is None or not isinstance(items, list):
            return unresolved(f"Join {excerpt(argument)}")
        parts = [self.text(item, line) if not isinstance(item, str) else item for item in items]
        if any(part is None or is_unresolved(part) for part in parts):
            shown = [p if p is not None and not is_unresolved(p) else "?" for p in parts]
            return unresolved(f"Join {delimiter.join(str(p) for p in shown)}")
        return delimiter.join(str(part) for part in parts)

    def _select(self, argument: Any, line: int | None) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return self._unresolved(f"Select {excerpt(argument)}", line, "expects [index, list]")
        index = self.text(argument[0], line)
        items = self.resolve(argument[1], line)
        if index is None or not isinstance(items, list):
            return unresolved(f"Select {excerpt(argument)}")
        if not index.isdigit() or int(index) >= len(items):
            return self._unresolved(f"Select {index}", line, f"index out of range (list of "
                                    f"{len(items)})")
        return items[int(index)]

    def _split(self, argument: Any, line: int | None) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return self._unresolved(f"Split {excerpt(argument)}", line, "expects [delimiter, text]")
        delimiter = self.text(argument[0], line)
        source = self.text(argument[1], line)
        if not delimiter or source is None:
            return unresolved(f"Split {excerpt(argument)}")
        return source.split(delimiter)

    def _find_in_map(self, argument: Any, line: int | None) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            return self._unresolved(f"FindInMap {excerpt(argument)}", line,
                                    "expects [map, top-level key, second-level key]")
        keys = [self.text(item, line) for item in argument[:3]]
        if any(key is None for key in keys):
            return unresolved(f"FindInMap {excerpt(argument)}")
        map_name, top, second = (str(key) for key in keys)
        entry = _entry(_entry(self._section("Mappings"), map_name), top)
        found = _entry(entry, second)
        if found is not _MISSING:
            # CloudFormation takes no intrinsic functions in Mappings: a value is a string,
            # a number or a list of them. Resolving a mapping's object could loop (a
            # FindInMap inside the value it finds).
            if isinstance(found, Mapping) or (isinstance(found, list) and any(
                    isinstance(item, _CONTAINERS) for item in found)):
                return self._unresolved(f"FindInMap {map_name}/{top}/{second}", line,
                                        "a Mappings value is a string or a list of strings")
            return list(found) if isinstance(found, list) else found
        default = argument[3] if len(argument) == 4 else None
        if isinstance(default, Mapping) and "DefaultValue" in default:
            return self.resolve(default["DefaultValue"], line)
        return self._unresolved(f"FindInMap {map_name}/{top}/{second}", line, "no such entry")

    def _if(self, argument: Any, line: int | None) -> Any:
        if not isinstance(argument, list) or len(argument) != 3 or not isinstance(argument[0], str):
            return self._unresolved(f"If {excerpt(argument)}", line, "expects [condition, "
                                    "value if true, value if false]")
        decided = self.condition(argument[0], line)
        if decided is None:
            return unresolved(f"If {argument[0]}")
        return self.resolve(argument[1] if decided else argument[2], line)

    def _base64(self, argument: Any, line: int | None) -> Any:
        text = self.text(argument, line)
        if text is None:
            return unresolved("Base64")
        return base64.b64encode(text.encode()).decode()

    def _length(self, argument: Any, line: int | None) -> Any:
        items = self.resolve(argument, line)
        return len(items) if isinstance(items, list) else unresolved("Length")

    def _to_json(self, argument: Any, line: int | None) -> Any:
        return json.dumps(self.resolve(argument, line), separators=(",", ":"))

    def _deploy_time(self, name: str) -> Any:
        def handler(resolver: TemplateResolver, argument: Any, line: int | None) -> Any:
            if name == "ImportValue":
                export = resolver.text(argument, line)
                if export is not None and export in resolver.context.parameters:
                    return resolver.context.parameters[export]
                if export is not None and export in resolver.context.exports:
                    return resolver.context.exports[export]
                if export is not None:
                    resolver.imports.add(export)
                shown = export or excerpt(argument)
                why = resolver.context.unknown_exports.get(export or "")
                if why is not None:
                    return resolver._unresolved(f"ImportValue {shown}", line, "exported by "
                                                f"another scanned template, where {why}")
                return resolver._unresolved(f"ImportValue {shown}", line, "exported by another "
                                            "stack; scan the template that exports it, or pass "
                                            "the value in the parameters")
            return resolver._unresolved(name, line, "known only at deploy time")

        return handler

    # -- conditions ---------------------------------------------------------------------

    def _evaluate(self, expression: Any, line: int | None) -> bool | None:
        if isinstance(expression, bool):
            return bool(expression)
        if isinstance(expression, str) and expression.lower() in ("true", "false"):
            return expression.lower() == "true"
        if not isinstance(expression, Mapping) or len(expression) != 1:
            self._unresolved(f"condition {excerpt(expression)}", line, "not a condition function")
            return None
        key, argument = next(iter(expression.items()))
        line = line_of(expression) or line
        if key == "Condition" and isinstance(argument, str):
            decided: bool | None = self.condition(argument, line)
            return decided
        if key == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            left, right = (self.text(item, line) for item in argument)
            if left is None or right is None:
                return None
            return left == right
        if key == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
            inner = self._evaluate(argument[0], line)
            return None if inner is None else not inner
        if key in ("Fn::And", "Fn::Or") and isinstance(argument, list):
            decisive: bool = key == "Fn::Or"  # any True decides Or; any False decides And
            unknown = False
            for item in argument:  # in order, stopping early as CloudFormation would
                result = self._evaluate(item, line)
                if result is decisive:
                    return decisive
                unknown = unknown or result is None
            return None if unknown else not decisive
        self._unresolved(f"condition {key}", line, "not a condition function")
        return None

    # -- helpers ------------------------------------------------------------------------

    def _refuse_bomb(self) -> NoReturn:
        raise _alias_bomb(self.max_values, self.file)

    def _unresolved(self, description: str, line: int | None, why: str) -> str:
        self.notices.add("unresolved-value", _UNRESOLVED,
                         self._where(line, f"{description}: {why}"))
        return unresolved(description)

    def _where(self, line: int | None, what: str) -> str:
        return f"{self.file}:{line}: {what}" if line else f"{self.file}: {what}"


def _entry(mapping: Any, key: str) -> Any:
    """``mapping[key]`` comparing keys as text (YAML reads ``123456789012:`` as a number,
    CloudFormation as a string); ``_MISSING`` if absent."""
    if not isinstance(mapping, Mapping):
        return _MISSING
    if key in mapping:
        return mapping[key]
    for name, value in mapping.items():
        if isinstance(name, int | float | bool) and _scalar_text(name) == key:
            return value
    return _MISSING


def _scalar_text(value: int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


_Handler = Any
_HANDLERS: dict[str, _Handler] = {
    "Ref": TemplateResolver._ref,
    "Fn::GetAtt": TemplateResolver._get_att,
    "Fn::Sub": TemplateResolver._sub,
    "Fn::Join": TemplateResolver._join,
    "Fn::Select": TemplateResolver._select,
    "Fn::Split": TemplateResolver._split,
    "Fn::FindInMap": TemplateResolver._find_in_map,
    "Fn::If": TemplateResolver._if,
    "Fn::Base64": TemplateResolver._base64,
    "Fn::Length": TemplateResolver._length,
    "Fn::ToJsonString": TemplateResolver._to_json,
}
for _name in ("ImportValue", "GetAZs", "Cidr", "Transform"):
    _HANDLERS[f"Fn::{_name}"] = TemplateResolver._deploy_time(None, _name)  # type: ignore[arg-type]
