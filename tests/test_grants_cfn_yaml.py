from __future__ import annotations

import pytest
import yaml

from leastpriv_ci.grants.cfn_yaml import CfnLoader, key_line, loads_cfn_yaml
from leastpriv_ci.loaders import LoadError, loads_yaml


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


@pytest.mark.parametrize("text", [
    "A: !GetAtt T.Arn\nB: [!Sub 'x-${AWS::Region}', {Ref: y}]\nV: 2012-10-17\nC: !Frob 1\n",
    "Props:\n  Arns:\n    - a\n    - !Ref B\n",
    "base: &b {Effect: Allow, n: 1, t: yes, z: null, f: 1.5}\nS: {<<: *b, Action: !Sub x}\n",
    "A: !Join\n  - ''\n  - [!Ref X, {'Fn::GetAtt': [Y, Arn]}]\nB: &s shared\nC: *s\n",
])
def test_pure_python_and_libyaml_loaders_agree(text: str) -> None:
    fast = loads_cfn_yaml(text)
    slow = loads_yaml(text, loader=CfnLoader)
    assert fast == slow
    assert getattr(fast, "key_lines", None) == getattr(slow, "key_lines", None)


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &a {b: *a}"])
def test_both_loaders_refuse_recursion(text: str) -> None:
    with pytest.raises(LoadError, match="recursive"):
        loads_yaml(text, loader=CfnLoader)
    with pytest.raises(LoadError, match="recursive"):
        loads_cfn_yaml(text)


def test_libyaml_graph_check_bounds_aliases_and_depth() -> None:
    with pytest.raises(LoadError, match="aliases"):
        loads_cfn_yaml("a: &a x\nb: [" + ", ".join(["*a"] * 1001) + "]")
    with pytest.raises(LoadError, match="nesting"):
        loads_cfn_yaml("a: " + "[" * 100 + "]" * 100)
