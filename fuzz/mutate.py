"""Mutations of input files: text edits with hostile tokens, and structural edits of the
decoded document (a value swapped for an intrinsic, another node, or nothing)."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from typing import Any

# Tokens that break parsers, resolvers and escaping when dropped into text
HOSTILE_TEXT = [
    "!Ref", "!GetAtt", "!Sub", "!ImportValue", "!If", "{}", "[]", "null", "~", "1e999", "-1", "*",
    "${aws:username}", "${self:custom.x}", "${var.x}", "Fn::Sub", "Fn::Join", "Ref", "Fn::GetAtt",
    "Fn::ImportValue", "Fn::If", "Condition", "'", '"', ":", "- ", "&a", "*a", "<<: *a", "[[[[",
    "}}}", "0x10", "!!float", "!!int", "true", "NotAction", "NotResource", "Deny",
    "AWS::IAM::Role", "AWS::Serverless::Function", "Policies", "Statement", "Action", "Resource",
    "Effect", "arn:aws:iam::aws:policy/AdministratorAccess", "#", "\t", "\\", "${", "}", "count",
    "for_each", "module", "data", "jsonencode(", ")", "=", "\u202e", "\x00",
]
HOSTILE_BYTES = [
    b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"null", b"1e999", b"-", b"\n", b"\xff\xfe",
    b'"Traces"', b'"Segments"', b'"Document"', b'"Id"', b'"LimitExceeded": true', b"[[[[[[[[",
    b"\x00", b'{"Id": null}', b'"Document": {}', b'"Document": "{\\"id\\": 1}"', b"\\u0000",
    b"\\ud800", b"2.2e15", b"1e300", b"\x0b", b"\x0c", b"}, {", b'}, {"Id": "1-',
]
# Values a structural edit puts in a node's place
VALUES: list[Any] = [
    {"Ref": "X"}, {"Ref": "AWS::AccountId"}, {"Fn::GetAtt": ["A", "Arn"]}, {"Fn::GetAtt": "A.Arn"},
    {"Fn::Sub": "${A}-${AWS::Region}"}, {"Fn::Sub": ["${x}", {"x": {"Ref": "Y"}}]},
    {"Fn::Join": ["", ["a", {"Ref": "B"}]]}, {"Fn::Join": [1, 2]}, {"Fn::If": ["C", 1, 2]},
    {"Fn::ImportValue": "x"}, {"Fn::Select": [9, []]}, {"Fn::Split": [",", 1]},
    {"Fn::FindInMap": ["M", "a", "b"]}, {"Condition": "C"}, [], {}, None, 1, -1, 1.5, True, "*",
    "", "arn:aws:iam::123456789012:role/x", "${aws:username}", "${self:custom.a}",
    "${file(x.yml)}", "${cf:stack.out}", {"Statement": []}, {"Statement": {"Effect": "Allow"}},
    {"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": ["s3:*"]},
    {"DateGreaterThan": {"aws:CurrentTime": "99999999999999999"}},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["x:y"],
                                              "Resource": [[]]}]},
    "AWS::IAM::Role", "AWS::Serverless::Function", "AWS::IAM::Policy", "AWS::Lambda::Function",
]
MAX_NODES = 3000  # nodes a structural edit picks from


def text(source: str, rng: random.Random) -> str:
    """One to four line edits: delete, duplicate, re-indent, or swap a word."""
    lines = source.split("\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        roll = rng.random()
        if roll < 0.15:
            del lines[i]
        elif roll < 0.3:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif roll < 0.45:
            lines[i] = " " * rng.randint(0, 8) + lines[i].lstrip()
        else:
            words = lines[i].split(" ")
            j = rng.randrange(len(words))
            other = rng.choice(lines).split(" ")
            words[j] = rng.choice(HOSTILE_TEXT) if rng.random() < 0.6 else rng.choice(other)
            lines[i] = " ".join(words)
    return "\n".join(lines)


def raw(source: bytes, rng: random.Random) -> bytes:
    """One to five byte edits: insert a hostile token, delete, truncate, copy, or flip."""
    data = bytearray(source)
    for _ in range(rng.randint(1, 5)):
        if not data:
            data += rng.choice(HOSTILE_BYTES)
            continue
        i = rng.randrange(len(data))
        roll = rng.random()
        if roll < 0.3:
            data[i:i] = rng.choice(HOSTILE_BYTES)
        elif roll < 0.5:
            del data[i:i + rng.randint(1, 20)]
        elif roll < 0.6:
            del data[i:]
        elif roll < 0.8:
            j = rng.randrange(len(data))
            data[i:i] = data[j:j + rng.randint(1, 200)]
        else:
            data[i] = rng.randrange(256)
    return bytes(data)


def structure(document: Any, rng: random.Random) -> Any:
    """One to three node edits of a decoded document (a tree: aliases expanded)."""
    tree = json.loads(json.dumps(document, default=str))
    found = list(itertools.islice(_nodes(tree), MAX_NODES))
    for _ in range(rng.randint(1, 3)):
        path, _node = rng.choice(found)
        if not path:
            continue
        try:
            parent = tree
            for step in path[:-1]:
                parent = parent[step]
            roll = rng.random()
            if roll > 0.9 and isinstance(parent, dict):
                del parent[path[-1]]
                continue
            value = rng.choice(VALUES) if roll < 0.6 else rng.choice(found)[1]
            parent[path[-1]] = json.loads(json.dumps(value, default=str))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit replaced the way there
    return tree


def _nodes(tree: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, tree
    if isinstance(tree, dict):
        for key, value in list(tree.items()):
            yield from _nodes(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _nodes(value, (*path, index))
