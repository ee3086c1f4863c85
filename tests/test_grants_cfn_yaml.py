from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leastpriv_ci.grants.cfn_yaml import key_line, loads_cfn_yaml
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.sources import cloudformation
from leastpriv_ci.loaders import LoadError
from leastpriv_ci.notices import Notices


def test_short_form_tags_become_long_form() -> None:
    doc = loads_cfn_yaml(
        "A: !Ref Bucket\n"
        "B: !GetAtt Table.StreamArn\n"
        "C: !Sub ['${X}-a', {X: !ImportValue shared}]\n"
        "D: !If [IsProd, !Join [',', [a, b]], !Ref AWS::NoValue]\n"
        "E: !Select [0, !Split [',', !FindInMap [M, k, v]]]\n"
        "F: !Not [!Equals [!Condition C, !Or [x, !And [y, z]]]]\n"
        "G: !GetAZs ''\n"
        "H: !Base64 {'Fn::Cidr': [a, 1, 2]}\n"
    )
    assert doc == {
        "A": {"Ref": "Bucket"},
        "B": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "C": {"Fn::Sub": ["${X}-a", {"X": {"Fn::ImportValue": "shared"}}]},
        "D": {"Fn::If": ["IsProd", {"Fn::Join": [",", ["a", "b"]]}, {"Ref": "AWS::NoValue"}]},
        "E": {"Fn::Select": [0, {"Fn::Split": [",", {"Fn::FindInMap": ["M", "k", "v"]}]}]},
        "F": {"Fn::Not": [{"Fn::Equals": [{"Condition": "C"},
                                          {"Fn::Or": ["x", {"Fn::And": ["y", "z"]}]}]}]},
        "G": {"Fn::GetAZs": ""},
        "H": {"Fn::Base64": {"Fn::Cidr": ["a", 1, 2]}},
    }


def test_tags_remember_their_line_and_keys_their_lines() -> None:
    doc = loads_cfn_yaml("Props:\n  Arns:\n    - a\n    - !Ref B\n  Name: x\n")
    assert doc["Props"]["Arns"][1].line == 4
    assert key_line(doc["Props"], "Arns", 0) == 3
    assert key_line(doc["Props"], "Name") == 5


def test_dates_stay_strings() -> None:
    assert loads_cfn_yaml("Version: 2012-10-17")["Version"] == "2012-10-17"


def test_unknown_tag_is_kept_for_the_resolver() -> None:
    assert loads_cfn_yaml("A: !Frobnicate x") == {"A": {"!Frobnicate": "x"}}


def test_global_pyyaml_loaders_are_untouched() -> None:
    loads_cfn_yaml("A: !Ref x")
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("A: !Ref x")
    assert yaml.safe_load("V: 2012-10-17")["V"] != "2012-10-17"  # still a date there


def test_python_tags_are_refused() -> None:
    with pytest.raises(LoadError, match="constructor"):
        loads_cfn_yaml("A: !!python/object/apply:os.system ['echo pwned']")


def test_recursive_alias_is_an_error() -> None:
    with pytest.raises(LoadError):
        loads_cfn_yaml("a: &a [*a]")


def shape(value: object) -> object:
    """A value with everything the loaders record: types, lines and key lines, key order."""
    if isinstance(value, dict):
        return ("mapping", type(value).__name__, getattr(value, "line", None),
                getattr(value, "key_lines", None), [(k, shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return [shape(item) for item in value]
    return (type(value).__name__, value)


def both(text: str) -> tuple[object, object]:
    """The document as the libyaml loader and as the pure-Python loader read it."""
    return loads_cfn_yaml(text), loads_cfn_yaml(text, libyaml=False)


needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__,
                                   reason="PyYAML was built without libyaml")


@needs_libyaml
@pytest.mark.parametrize("text", [
    "A: !GetAtt T.Arn\nB: [!Sub 'x-${AWS::Region}', {Ref: y}]\nV: 2012-10-17\nC: !Frob 1\n",
    "Props:\n  Arns:\n    - a\n    - !Ref B\n",
    "base: &b {Effect: Allow, n: 1, t: yes, z: null, f: 1.5}\nS: {<<: *b, Action: !Sub x}\n",
    "A: !Join\n  - ''\n  - [!Ref X, {'Fn::GetAtt': [Y, Arn]}]\nB: &s shared\nC: *s\n",
    "",
    "# only a comment\n",
    "--- plain\n",
    "B: !Base64 {'Fn::Sub': x, k: [1, 2]}\n=: v\n",
])
def test_pure_python_and_libyaml_loaders_agree(text: str) -> None:
    fast, slow = both(text)
    assert shape(fast) == shape(slow)


@needs_libyaml
def test_both_loaders_agree_on_a_template_with_every_tag_anchor_and_alias(
    data_dir: Path,
) -> None:
    path = data_dir / "grants/cfn/every-tag.yaml"
    fast, slow = both(path.read_text())
    assert shape(fast) == shape(slow)
    # ... and what they agree on is right: tags, merges, aliases, scalars, lines.
    resources = fast["Resources"]
    network = resources["Network"]["Properties"]
    assert network["Subnets"] == {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 6, 5]}
    assert network["Zone"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert network["Odd"] == {"!Frobnicate": [1, 2]}
    assert network["Macro"]["Fn::Transform"]["Parameters"] == {"Location": "s3://b/k"}
    assert network["Json"].line == 67
    statements = resources["OrdersRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"]
    assert statements[0] == {
        "Effect": "Allow", "Sid": "ReadOnly", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
        "Resource": [{"Fn::GetAtt": ["OrdersTable", "Arn"]},
                     {"Fn::Sub": "${OrdersTable.Arn}/index/*"}],
    }
    assert key_line(statements[0], "Action", 1) == 74  # where the merged key is written
    assert key_line(statements[0], "Resource", 1) == 93
    assert statements[1] == {"Effect": "Allow", "Resource": "*", "Action": "sqs:SendMessage"}
    assert fast["Parameters"]["Region"] is fast["Parameters"]["Stage"]
    queue_tags = resources["EventsQueue"]["Properties"]
    assert queue_tags["Tags"] is resources["OrdersTable"]["Properties"]["Tags"]
    assert key_line(queue_tags, "Tags", 1) == 45  # an alias's items keep their own lines
    assert fast["AWSTemplateFormatVersion"] == "2010-09-09"
    assert fast["Metadata"]["Counts"] == {"retries": 3, "ratio": 0.5, "hex": 31, "enabled": True,
                                          "disabled": False, "nothing": None}
    assert fast["Metadata"]["Explicit"] == ["42", 7, 1.5, True, None]
    assert fast["Description"] == "Orders service, folded over two lines\n"


@needs_libyaml
def test_both_loaders_give_the_same_grants(data_dir: Path) -> None:
    text = (data_dir / "grants/cfn/template.yaml").read_text()
    grants = [cloudformation.grants_from_template(document, "t.yaml", ResolveContext(),
                                                  Notices()) for document in both(text)]
    assert grants[0] == grants[1]
    assert grants[0].roles


def test_merge_keys_follow_the_yaml_rules() -> None:
    text = ("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\n"
            "m: {<<: [*a, *b], z: 3}\nn:\n  <<: *b\n  <<: *a\n")
    for document in both(text):
        assert document["m"] == {"x": 1, "y": 1, "z": 3}  # own keys, then earlier merges win
        assert document["n"] == {"x": 1, "y": 2, "z": 2}
        assert key_line(document["m"], "y") == 1


PATHS = [pytest.param(True, id="libyaml", marks=needs_libyaml),
         pytest.param(False, id="pure-python")]


@pytest.mark.parametrize("libyaml", PATHS)
@pytest.mark.parametrize(("text", "match", "line"), [
    ("a: &a x\nb: [" + ", ".join(["*a"] * 1001) + "]", "more than 1000 aliases", 2),
    ("a: &a [*a]", "recursive alias", 1),
    ("a:\n  b: &a {c: [1, *a]}", "recursive alias", 2),
    ("a: " + "[" * 100 + "]" * 100, "nesting deeper than 64", 1),
    ("- " * 70 + "x", "nesting deeper than 64", 1),
    # Each alias stands for its whole node: a chain of them nests as deep as they expand.
    ("a0: &a0 x\n" + "\n".join(f"a{i}: &a{i} " + "[" * 30 + f"*a{i - 1}" + "]" * 30
                                for i in range(1, 5)), "nesting deeper than 64", 4),
    ("A: !!python/object/apply:os.system ['echo pwned']", "constructor", 1),
    ("A: !!python/name:os.system", "constructor", 1),
    ("A: !!set {a, b}", "does not support the !!set tag", 1),
    ("A:\n  - !!binary aGk=", "does not support the !!binary tag", 2),
    ("A: !!timestamp 2001-12-14", "does not support the !!timestamp tag", 1),
    ("A: !!omap [a: 1]", "does not support the !!omap tag", 1),
    ("A: !!str [a]", "expected a scalar node", 1),
    ("A: !!map [a]", "expected a mapping node", 1),
    ("A: !!int\n  b: 1", "expected a scalar node", 1),
    ("A: {<<: !Ref X}", "merge key", 1),
    ("a: &a [1]\nB: {<<: *a}", "merge key", 2),
    ("A: 0x_", "'0x_' is not a valid int", 1),  # matches the int pattern, not int()
    ("A:\n  - !!bool maybe", "'maybe' is not a valid bool", 2),
    ("A: !!float x", "'x' is not a valid float", 1),
    ("A: [!!float , 1]", "'' is not a valid float", 1),  # PyYAML's IndexError
    ("A:\n  B: !!int ''", "'' is not a valid int", 2),
    ("A: {!Ref X: 1}", "unhashable key", 1),
    ("A: {[1]: 1}", "unhashable key", 1),
    ("a: *b", "undefined alias", 1),
    ("a: &x 1\nb: &x 2", "second occurrence", 2),
    ("a: 1\n---\nb: 2", "another document", 2),
    ("a: [1\nb: 2", None, 2),
])
def test_both_loaders_hold_the_same_bounds(
    libyaml: bool, text: str, match: str | None, line: int
) -> None:
    with pytest.raises(LoadError, match=match) as refused:
        loads_cfn_yaml(text, libyaml=libyaml)
    assert refused.value.line == line
