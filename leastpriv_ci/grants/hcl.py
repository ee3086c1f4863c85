"""Terraform HCL: blocks with line numbers, and a small offline expression evaluator.

``python-hcl2``'s dict output re-serialises expressions as text and drops line numbers,
so this module walks its Lark parse tree instead (``hcl_parser``: a node's position is
read from its tokens).
The evaluator knows literals, strings with interpolations, heredocs, tuples, objects, splats,
``jsonencode``, ``file`` (inside the module folder), a few string functions, and
references; what it cannot know is an :class:`Unknown` carrying the source text.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.checkout import inside
from leastpriv_ci.grants.hcl_functions import FUNCTIONS, UNDECIDED, binary, number_literal, unary
from leastpriv_ci.grants.hcl_parser import line as line_of_tree
from leastpriv_ci.grants.hcl_parser import parse, span
from leastpriv_ci.grants.hcl_values import (
    MAX_STRING,
    MAX_VALUES,
    Absent,
    Encoded,
    Unknown,
    holds_absent,
    known_keys,
    pairs_of,
    within,
)
from leastpriv_ci.grants.hcl_values import scalar as _scalar
from leastpriv_ci.loaders import LocatedDict, read_text

MAX_EVAL_DEPTH = 64
EVAL_LIMIT = "terraform-eval-limit"
EVAL_LIMIT_TEXT = "expression evaluation past its limits; value left unresolved"
MAX_STEPS = 200_000  # expression nodes evaluated per top-level attribute
MAX_LOAD_STEPS = 1_000_000  # expression nodes evaluated per load, all modules together
MAX_LOAD_DEPTH = 100  # evaluations nested across modules (Python's stack)
@dataclass(frozen=True)
class FileText:
    """A string read by ``file(...)``: ``path`` becomes the origin of what it holds."""

    text: str
    path: Path


@dataclass(frozen=True)
class Expression:
    """An attribute's expression: its parse tree, line, and the file it sits in."""

    tree: Tree[Any]
    line: int
    source: HclFile


@dataclass(frozen=True)
class Block:
    """``type "label" "label" { ... }`` with its attributes and nested blocks."""

    type: str
    labels: tuple[str, ...]
    attributes: Mapping[str, Expression]
    blocks: tuple[Block, ...]
    line: int
    source: HclFile

    def nested(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.type == kind]


@dataclass(frozen=True)
class HclFile:
    """One parsed ``.tf`` file."""

    path: Path
    text: str = field(repr=False)
    blocks: tuple[Block, ...] = ()

    def snippet(self, tree: Tree[Any]) -> str:
        found = span(tree)
        return "<expression>" if found is None else self.text[found[0]:found[1]]


def parse_hcl(path: Path, text: str | None = None) -> HclFile:
    """Parse a ``.tf`` file; a syntax error is a :class:`UserError` naming file and line."""
    text = read_text(path) if text is None else text
    try:
        tree = parse(text)
    except UnexpectedInput as exc:
        raise UserError(
            f"Terraform syntax error at column {exc.column}; fix the HCL",
            where=f"{path}:{exc.line}",
        ) from None
    except (LarkError, RecursionError) as exc:
        raise UserError(f"cannot parse Terraform HCL ({type(exc).__name__}); fix the HCL",
                        where=str(path)) from None
    source = HclFile(path, text)
    body = _child_trees(tree, "body")
    blocks = tuple(_block(b, source) for b in _child_trees(body[0], "block")) if body else ()
    object.__setattr__(source, "blocks", blocks)
    return source


def _child_trees(tree: Tree[Any], kind: str) -> list[Tree[Any]]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data == kind]


def _block(tree: Tree[Any], source: HclFile) -> Block:
    kind = ""
    labels: list[str] = []
    attributes: dict[str, Expression] = {}
    blocks: list[Block] = []
    for child in tree.children:
        if isinstance(child, Tree) and child.data == "body":
            for item in child.children:
                if isinstance(item, Tree) and item.data == "attribute":
                    name = _name(item.children[0])
                    attributes[name] = Expression(item.children[-1], line_of_tree(item), source)
                elif isinstance(item, Tree) and item.data == "block":
                    blocks.append(_block(item, source))
        elif isinstance(child, Tree) and child.data in ("identifier", "keyword", "literal_value",
                                                        "string"):
            text = _name(child) if child.data != "string" else _literal_string(child)
            if not kind:
                kind = text
            else:
                labels.append(text)
    return Block(kind, tuple(labels), attributes, tuple(blocks), line_of_tree(tree), source)


def _name(tree: Tree[Any] | Token) -> str:
    if isinstance(tree, Token):
        return str(tree)
    for token in tree.scan_values(lambda v: isinstance(v, Token)):
        return str(token)
    return ""


def _literal_string(tree: Tree[Any]) -> str:
    return "".join(str(t) for t in tree.scan_values(
        lambda v: isinstance(v, Token) and v.type == "STRING_CHARS"))


Resolver = Callable[[list[str], "Evaluator"], Any]
# A splat's operand reference → the references its elements are (one per instance of a
# repeated resource); None: the operand is an ordinary value, Unknown: not known offline.
Splatter = Callable[[list[str]], "list[list[str]] | Unknown | None"]


@dataclass
class Spent:
    """Evaluation spent by every evaluator of one load (one per module it reads): each
    evaluator's own budget is per attribute, and a pull request can multiply both."""

    steps: int = 0
    depth: int = 0


@dataclass
class Evaluator:
    """Evaluates expressions; ``resolve`` answers references (``var.x``, ``aws_s3_bucket.b.id``)."""

    resolve: Resolver
    module_dir: Path
    notices_add: Callable[[str, str, str], None]
    spent: Spent = field(default_factory=Spent)  # shared by the evaluators of one load
    splat: Splatter | None = None  # what a splat over a reference spans
    steps: int = 0
    depth: int = 0
    # Variables in scope: a for expression's, a dynamic block's iterator, each/count
    scopes: list[dict[str, Any]] = field(default_factory=list)

    def value(self, expression: Expression, scope: dict[str, Any] | None = None) -> Any:
        """The value of an attribute expression (each top-level evaluation has its budget),
        with ``scope``'s variables defined (a dynamic block's iterator, a resource
        instance's ``each`` or ``count``).

        A referenced expression (a local, another attribute) sees no variables of the
        expression that referenced it."""
        if self.depth == 0:
            self.steps = 0
        scopes, self.scopes = self.scopes, [scope] if scope else []
        try:
            return self.evaluate(expression.tree, expression.source)
        finally:
            self.scopes = scopes

    def evaluate(self, tree: Tree[Any] | Token, source: HclFile) -> Any:
        spent = self.spent
        if self._spend(1) or self.depth > MAX_EVAL_DEPTH or spent.depth > MAX_LOAD_DEPTH:
            self.notices_add(EVAL_LIMIT, EVAL_LIMIT_TEXT, str(source.path))
            return Unknown(source.snippet(tree) if isinstance(tree, Tree) else str(tree))
        self.depth += 1
        spent.depth += 1
        try:
            return self._evaluate(tree, source)
        finally:
            self.depth -= 1
            spent.depth -= 1

    def _spend(self, steps: int) -> bool:
        """Count ``steps`` against this evaluation's and the load's budgets; True once
        either is spent."""
        self.steps += steps
        self.spent.steps += steps
        return self.steps > MAX_STEPS or self.spent.steps > MAX_LOAD_STEPS

    def _evaluate(self, tree: Tree[Any] | Token, source: HclFile) -> Any:
        if isinstance(tree, Token):
            return str(tree)
        kind = tree.data
        kids = [c for c in tree.children
                if not (isinstance(c, Tree) and c.data == "new_line_or_comment")]
        if kind == "expr_term":
            inner = [c for c in kids if isinstance(c, Tree)]
            return self.evaluate(inner[0], source) if inner else None
        if kind == "int_lit":
            number = number_literal(str(kids[0]))
            return Unknown(source.snippet(tree)) if number is UNDECIDED else number
        if kind == "float_lit":
            return float(str(kids[0]))
        if kind == "literal_value":
            return {"true": True, "false": False, "null": None}[str(kids[0])]
        if kind == "string":
            return self._string(tree, kids, source)
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return self._heredoc(str(kids[0]), kind.endswith("trim"), tree, source)
        if kind == "tuple":
            return [self.evaluate(c, source) for c in kids if isinstance(c, Tree)]
        if kind == "object":
            return self._object(tree, kids, source)
        if kind == "function_call":
            return self._call(tree, kids, source)
        if kind in ("identifier", "get_attr_expr_term", "index_expr_term"):
            path = traversal(tree, lambda index: index_text(self.evaluate(index, source)))
            if path is None:
                return Unknown(source.snippet(tree))
            for scope in reversed(self.scopes):
                if path[0] in scope:
                    return descend(scope[path[0]], path[1:], ".".join(path))
            return self.resolve(path, self)
        if kind in ("full_splat_expr_term", "attr_splat_expr_term"):
            return self._splat(tree, kids, source)
        if kind in ("for_tuple_expr", "for_object_expr"):
            return self._for(tree, kids, source)
        if kind == "binary_op":
            return self._binary(tree, kids, source)
        if kind == "unary_op":
            operand = next((c for c in kids if isinstance(c, Tree)), None)
            value = unary(str(kids[0]), self.evaluate(operand, source)) \
                if operand is not None else UNDECIDED
            return self._known(value, tree, source)
        if kind == "conditional":
            condition = self.evaluate(kids[0], source)
            branches = [c for c in kids[1:] if isinstance(c, Tree)]
            if isinstance(condition, bool) and len(branches) == 2:
                return self.evaluate(branches[0] if condition else branches[1], source)
        return Unknown(source.snippet(tree))

    def _for(self, tree: Tree[Any], kids: list[Any], source: HclFile) -> Any:
        """``[for x in xs : f(x) if c(x)]`` or ``{for k, v in m : k => f(v)}``; grouping
        (``...``) and conditions that are not true or false stay unresolved."""
        unknown = Unknown(source.snippet(tree))
        trees = [c for c in kids if isinstance(c, Tree)]
        intro, body = trees[0], trees[1:]
        names = [_name(c) for c in intro.children
                 if isinstance(c, Tree) and c.data == "identifier"]
        collected = [c for c in intro.children if isinstance(c, Tree)
                     and c.data not in ("identifier", "new_line_or_comment")]
        condition = None
        if body and body[-1].data == "for_cond":
            condition = [c for c in body.pop().children if isinstance(c, Tree)
                         and c.data != "new_line_or_comment"][-1]
        tuple_form = tree.data == "for_tuple_expr"
        if (len(names) not in (1, 2) or len(collected) != 1
                or len(body) != (1 if tuple_form else 2)
                or any(isinstance(c, Token) and str(c) == "..." for c in kids)):
            return unknown
        pairs = pairs_of(self.evaluate(collected[0], source))
        if pairs is None:
            return unknown
        items: list[Any] = []
        mapping = LocatedDict()
        mapping.line = line_of_tree(tree)
        for key, item in pairs:
            self.scopes.append({names[0]: item} if len(names) == 1
                               else {names[0]: key, names[1]: item})
            try:
                keep = True if condition is None else self.evaluate(condition, source)
                if not isinstance(keep, bool):
                    return unknown
                if not keep:
                    continue
                if tuple_form:
                    items.append(self.evaluate(body[0], source))
                    continue
                name = index_text(self.evaluate(body[0], source))  # keys become text
                if name is None:
                    return unknown
                mapping[name] = self.evaluate(body[1], source)
            finally:
                self.scopes.pop()
        return items if tuple_form else mapping

    def _splat(self, tree: Tree[Any], kids: list[Any], source: HclFile) -> Any:
        """``xs[*].a.b`` is ``[for x in xs : x.a.b]``; the legacy ``xs.*.a[0]`` takes only
        the attributes per element, then indexes the list. A value that is no list is one
        element (``null``: none); a repeated resource's elements are its instances."""
        unknown = Unknown(source.snippet(tree))
        operand, splat = kids[0], kids[-1]
        steps: list[str] = []
        each = None  # steps taken per element (the rest apply to the list)
        for step in splat.children if isinstance(splat, Tree) else []:
            if not isinstance(step, Tree) or step.data == "new_line_or_comment":
                continue
            if step.data == "get_attr":
                steps.append(_name(step.children[-1]))
                continue
            if each is None and tree.data == "attr_splat_expr_term":
                each = len(steps)
            if step.data == "short_index":
                steps.append(str(step.children[-1]))
                continue
            inner = [c for c in step.children if isinstance(c, Tree)
                     and c.data != "new_line_or_comment"]
            index = index_text(self.evaluate(inner[0], source)) if inner else None
            if index is None:
                return unknown
            steps.append(index)
        each = len(steps) if each is None else each
        path = traversal(operand) if isinstance(operand, Tree) else None
        spelled = source.snippet(tree)
        references = self.splat(path) if path is not None and self.splat is not None \
            and not any(path[0] in scope for scope in self.scopes) else None
        if isinstance(references, Unknown):
            return unknown
        # Each element is a reference read: counted as a step, so splats over splats of
        # many instances end at the evaluation limits.
        if self._spend(len(references or ())):
            self.notices_add(EVAL_LIMIT, EVAL_LIMIT_TEXT, str(source.path))
            return unknown
        if references is not None:
            items = [self.resolve(reference + steps[:each], self) for reference in references]
        else:
            value = self.evaluate(operand, source)
            if isinstance(value, Unknown):
                return unknown
            elements = [] if value is None else value if isinstance(value, list) else [value]
            items = [descend(element, steps[:each], spelled) for element in elements]
        return descend(items, steps[each:], spelled)

    def _binary(self, tree: Tree[Any], kids: list[Any], source: HclFile) -> Any:
        """``a OP b``. A known side that decides ``&&`` or ``||`` decides it when the other
        side is a bool or not known offline; a side that fails (absent) fails it, as
        Terraform evaluates both."""
        trees = [c for c in kids if isinstance(c, Tree)]
        if len(trees) == 2 and trees[1].data == "binary_term":
            symbol = next((str(c.children[0]) for c in trees[1].children
                           if isinstance(c, Tree) and c.data == "binary_operator"), "")
            right = [c for c in trees[1].children
                     if isinstance(c, Tree) and c.data not in ("binary_operator",
                                                                 "new_line_or_comment")]
            if len(right) == 1:
                deciding = {"&&": False, "||": True}.get(symbol)
                left_value = self.evaluate(trees[0], source)
                right_value = self.evaluate(right[0], source)
                if isinstance(left_value, Absent) or isinstance(right_value, Absent):
                    return Absent(source.snippet(tree))  # Terraform evaluates both sides
                if deciding is not None and (left_value is deciding or right_value is deciding) \
                        and all(isinstance(v, bool | Unknown) for v in (left_value, right_value)):
                    return deciding
                return self._known(binary(symbol, left_value, right_value), tree, source)
        return Unknown(source.snippet(tree))

    def _known(self, value: Any, tree: Tree[Any], source: HclFile) -> Any:
        """An operator's or function's answer, an unknown one spelled as its source."""
        if isinstance(value, Unknown):
            return type(value)(source.snippet(tree))
        return value

    def _string(self, tree: Tree[Any], kids: list[Any], source: HclFile) -> Any:
        parts = [p for p in kids if isinstance(p, Tree) and p.data == "string_part"]
        if len(parts) == 1 and isinstance(parts[0].children[0], Tree) \
                and parts[0].children[0].data == "interpolation":
            # "${x}" is x itself, whatever its type (Terraform 0.11 style).
            lone = [c for c in parts[0].children[0].children if isinstance(c, Tree)]
            return self.evaluate(lone[0], source)
        pieces: list[str] = []
        size = 0
        for part in kids:
            if not isinstance(part, Tree) or part.data != "string_part":
                continue
            inner = part.children[0]
            if isinstance(inner, Token):
                text = str(inner)
                if inner.type == "ESCAPED_INTERPOLATION":
                    text = text[1:]
                pieces.append(_unescape(text))
                size += len(pieces[-1])
                continue
            if inner.data != "interpolation":
                return Unknown(source.snippet(tree)[1:-1])  # %{ if } directives
            value = self.evaluate(next(c for c in inner.children if isinstance(c, Tree)), source)
            if isinstance(value, FileText):
                value = value.text
            if not isinstance(value, str | int | float | bool) or value is None:
                return Unknown(source.snippet(tree)[1:-1])
            pieces.append(_scalar(value))
            size += len(pieces[-1])  # a running total: summing every piece each time was
            if size > MAX_STRING:  # quadratic (30,000 interpolations: 26 s)
                return Unknown(source.snippet(tree)[1:80])
        return "".join(pieces)

    def _heredoc(self, token: str, trim: bool, tree: Tree[Any], source: HclFile) -> Any:
        body = token.split("\n", 1)[1] if "\n" in token else ""
        body = body.rstrip("\n")
        body = body.rsplit("\n", 1)[0] + "\n" if "\n" in body else ""
        if trim:
            body = textwrap.dedent(body)
        text = self.interpolate(body, source)
        return HeredocText(text, line_of_tree(tree) + 1)

    def interpolate(self, text: str, source: HclFile) -> str:
        """Replace ``${expr}`` in heredoc text; unknown ones are kept as written."""

        def replace(match: re.Match[str]) -> str:
            if match.group(0).startswith("$$"):
                return match.group(0)[1:]
            value = self.evaluate_text(match.group(1), source)
            if isinstance(value, str | int | float | bool) and not isinstance(value, Unknown):
                return _scalar(value)
            return match.group(0)

        return re.sub(r"\$?\$\{([^{}]*)\}", replace, text)

    def evaluate_text(self, expression: str, source: HclFile) -> Any:
        """Evaluate an expression given as text (from a heredoc interpolation)."""
        try:
            tree = parse(f"x = {expression}\n")
        except (LarkError, RecursionError):
            return Unknown("${" + expression + "}")
        attribute = next(tree.find_data("attribute"), None)
        if attribute is None:
            return Unknown("${" + expression + "}")
        shadow = HclFile(source.path, f"x = {expression}\n")
        value = self.evaluate(attribute.children[-1], shadow)
        return Unknown("${" + expression + "}") if isinstance(value, Unknown) else value

    def _object(self, tree: Tree[Any], kids: list[Any], source: HclFile) -> Any:
        out = LocatedDict()
        out.line = line_of_tree(tree)
        for elem in kids:
            if not isinstance(elem, Tree) or elem.data != "object_elem":
                continue
            key_tree = elem.children[0]
            key_expr = [c for c in key_tree.children if isinstance(c, Tree)]
            path = traversal(key_expr[0].children[0]) if key_expr and key_expr[0].children \
                and isinstance(key_expr[0].children[0], Tree) else None
            if path is not None and len(path) == 1:
                key: Any = path[0]  # bare identifiers are literal keys
            else:
                key = self.evaluate(key_expr[0], source) if key_expr else _name(key_tree)
            value = self.evaluate(elem.children[-1], source)
            if isinstance(key, Unknown) or not isinstance(key, str | int | float | bool):
                out.unknown_keys = True  # type: ignore[attr-defined]  # see known_keys
                key = key.text if isinstance(key, Unknown) else key
            out[str(key)] = value
        return out

    def _call(self, tree: Tree[Any], kids: list[Any], source: HclFile) -> Any:
        name = _name(kids[0])
        arguments = next((c for c in kids if isinstance(c, Tree) and c.data == "arguments"),
                         None)
        args = [c for c in arguments.children if isinstance(c, Tree)
                and c.data != "new_line_or_comment"] if arguments else []
        if name == "jsonencode" and len(args) == 1:
            return Encoded(self.evaluate(args[0], source))
        if name == "file" and len(args) == 1:
            return self._file(self.evaluate(args[0], source), tree, source)
        if name in ("try", "can") and args:
            return self._try(name, args, tree, source)
        function = FUNCTIONS.get(name)
        if function is not None:
            values = [self.evaluate(a, source) for a in args]
            if not within(values, MAX_VALUES):
                self.notices_add(EVAL_LIMIT, EVAL_LIMIT_TEXT, f"{source.path}:{line_of_tree(tree)}")
                return Unknown(source.snippet(tree))
            try:
                result = function(values)
            except (TypeError, ValueError, IndexError, KeyError, StopIteration,
                    OverflowError, MemoryError):
                result = UNDECIDED  # refused here, whatever Terraform would say
            if isinstance(result, Unknown) or not within(result, MAX_VALUES) or (
                    isinstance(result, str) and len(result) > MAX_STRING):
                return self._known(result if isinstance(result, Unknown) else UNDECIDED,
                                   tree, source)
            return result
        if name == "templatefile":
            self.notices_add("terraform-templatefile",
                             "templatefile(...) is not rendered; its policy stays unresolved",
                             f"{source.path}:{line_of_tree(tree)}")
        return Unknown(source.snippet(tree))

    def _try(self, name: str, args: list[Tree[Any]], tree: Tree[Any], source: HclFile) -> Any:
        """``try(a, b, ...)``: the first argument that exists (one not known offline
        answers unknown: it may exist); ``can(a)``: whether it exists."""
        for argument in args if name == "try" else args[:1]:
            value = self.evaluate(argument, source)
            if isinstance(value, Absent) or holds_absent(value):
                continue  # [var.m.missing] fails as a whole
            if isinstance(value, Unknown):
                return Unknown(source.snippet(tree))
            return value if name == "try" else True
        return Absent(source.snippet(tree)) if name == "try" else False

    def _file(self, value: Any, tree: Tree[Any], source: HclFile) -> Any:
        if not isinstance(value, str):
            return Unknown(source.snippet(tree))
        if not inside(self.module_dir / value, self.module_dir):
            self.notices_add("terraform-file-outside-module",
                             "file(...) outside the module folder is refused",
                             f"{source.path}:{line_of_tree(tree)}: {value}")
            return Unknown(source.snippet(tree))
        try:
            # Spelled from the module folder as given, so origins stay relative when the
            # scan's paths are.
            shown = Path(os.path.normpath(self.module_dir / value))
            return FileText(read_text((self.module_dir / value).resolve()), shown)
        except (OSError, ValueError) as exc:
            self.notices_add("terraform-file-unreadable", "file(...) could not be read",
                             f"{source.path}:{line_of_tree(tree)}: {exc}")
            return Unknown(source.snippet(tree))


@dataclass(frozen=True)
class HeredocText:
    """A heredoc's text (interpolated) and the line its body starts on."""

    text: str
    line: int


def descend(value: Any, rest: list[str], spelled: str) -> Any:
    """``value`` followed along ``rest`` (keys, list indexes): unknown past an unknown
    part, absent past a known one's end."""
    for key in rest:
        if isinstance(value, Unknown):
            return value if isinstance(value, Absent) else Unknown(spelled)
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, Mapping) and not known_keys(value):
            return Unknown(spelled)  # one of the keys not known offline may be it
        elif isinstance(value, Mapping | list | str | int | float | bool) or value is None:
            return Absent(spelled)
        else:
            return Unknown(spelled)
    return value


IndexValue = Callable[[Tree[Any]], "str | None"]


def traversal(tree: Tree[Any], index_value: IndexValue | None = None) -> list[str] | None:
    """``a.b["c"][0]`` → ``["a", "b", "c", "0"]``; ``None`` for anything else. An index
    that is no literal (``[each.key]``) is given by ``index_value``, when there is one.
    Walked without recursion: a reference may be thousands of steps long."""
    steps: list[str] = []  # last step first
    node = tree
    while True:
        if node.data == "expr_term":
            inner = [c for c in node.children if isinstance(c, Tree)]
            if len(inner) != 1:
                return None
            node = inner[0]
        elif node.data == "identifier":
            steps.append(_name(node))
            return steps[::-1]
        elif node.data == "get_attr_expr_term":
            steps.append(_name(node.children[1].children[-1]))
            node = node.children[0]
        elif node.data == "index_expr_term":
            index = node.children[1]
            if index.data == "short_index":
                steps.append(str(index.children[-1]))
            else:
                inner = [c for c in index.children if isinstance(c, Tree)]
                literal = _literal_index(inner[0]) if inner else None
                if literal is None and inner and index_value is not None:
                    literal = index_value(inner[0])
                if literal is None:
                    return None
                steps.append(literal)
            node = node.children[0]
        else:
            return None


def _literal_index(tree: Tree[Any]) -> str | None:
    for node in tree.iter_subtrees_topdown():  # type: ignore[no-untyped-call]
        if node.data == "int_lit":
            return str(node.children[0])
        if node.data == "string":
            if next(node.find_data("interpolation"), None) is not None:
                return None  # "${each.key}": not a literal
            return _literal_string(node)
        if node.data not in ("expr_term",):
            return None
    return None


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    try:
        decoded: str = json.loads(f'"{text}"')
    except ValueError:
        return text
    return decoded


def index_text(value: Any) -> str | None:
    """An index's value as a traversal step (a key or a list position)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)
