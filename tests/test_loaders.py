from __future__ import annotations

from pathlib import Path

import pytest

from leastpriv_ci.loaders import LoadError, load_file, loads_json, loads_yaml


def test_json_mappings_remember_their_line() -> None:
    doc = loads_json('{\n "Statement": [\n  {"Effect": "Allow"},\n\n  {"Effect": "Deny"}]}')
    assert doc.line == 1
    assert [s.line for s in doc["Statement"]] == [3, 5]


def test_json_mappings_can_remember_their_keys_lines() -> None:
    doc = loads_json('{"a": 1,\n\t"b": {\n\t\t"c": "d, \\"e\\": f"},\n\n\t"a": [{"g": 2},\n'
                     '\t{"h": 3}]\n}', key_lines=True)
    assert doc.line == 1 and doc.key_lines == {"a": 5, "b": 2}  # a key given twice: the last
    assert doc["b"].key_lines == {"c": 3}  # not the words in the string
    assert [(item.line, item.key_lines) for item in doc["a"]] == [(5, {"g": 5}), (6, {"h": 6})]
    assert not hasattr(loads_json('{"a": 1}'), "key_lines")


def test_yaml_mappings_remember_their_line() -> None:
    doc = loads_yaml("Statement:\n  - Effect: Allow\n  - Effect: Deny\n")
    assert [s.line for s in doc["Statement"]] == [2, 3]


def test_yaml_refuses_python_tags() -> None:
    with pytest.raises(LoadError):
        loads_yaml("!!python/object/apply:os.system ['echo pwned']")


def test_yaml_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 200):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    # Each level of the bomb nests one deeper once its aliases are expanded: the depth
    # bound refuses it (at a62), before the alias count would (at a101).
    with pytest.raises(LoadError, match="nesting deeper than 64") as refused:
        loads_yaml("\n".join(lines))
    assert refused.value.line == 63


def test_yaml_alias_count_is_bounded() -> None:
    with pytest.raises(LoadError, match="more than 1000 aliases"):
        loads_yaml("a: &a x\nb: [" + ", ".join(["*a"] * 1001) + "]")


def test_alias_chains_deeper_than_the_bound_are_an_error_not_a_crash() -> None:
    lines = ["a0: &a0 x"] + [f"a{i}: &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40
                             for i in range(1, 60)]
    with pytest.raises(LoadError, match="nesting deeper than 64") as refused:
        loads_yaml("\n".join(lines))
    assert refused.value.line == 3
    assert loads_yaml("\n".join(lines[:2]))["a1"][0] is not None  # one level is fine


def test_bad_numbers_and_booleans_are_an_error_not_a_crash() -> None:
    for text in ("a: 0b_", "a: !!int twelve", "a: !!bool maybe"):
        with pytest.raises(LoadError, match="is not a valid"):
            loads_yaml(text)
    assert loads_yaml("a: [0x1F, !!int '7', yes, !!float '1.5']") == {"a": [31, 7, True, 1.5]}


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(LoadError, match="nesting"):
        loads_json("[" * 5000 + "]" * 5000)
    with pytest.raises(LoadError, match="nesting"):
        loads_yaml("[" * 5000 + "]" * 5000)


def test_an_integer_past_python_s_digit_limit_is_an_error_not_a_crash() -> None:
    for key_lines in (False, True):
        with pytest.raises(LoadError, match="more than 4300 digits"):
            loads_json('{"a": ' + "1" * 5000 + "}", key_lines=key_lines)
    assert loads_json('{"a": ' + "9" * 4300 + "}")["a"] == int("9" * 4300)


def test_invalid_json_names_the_line() -> None:
    with pytest.raises(LoadError) as info:
        loads_json('{"a":\n  tru}')
    assert info.value.line == 2


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 100 + "1]")
    with pytest.raises(LoadError, match="limit"):
        load_file(big, max_bytes=50)


def test_json_lines_ignore_braces_inside_strings() -> None:
    text = (
        '{"a": "{not [an object",\n'
        ' "b": [\n'
        '  {"c": "quote \\" and } brace"},\n'
        '\n'
        '  {"d": {"e": "\\\\"}}\n'
        ' ]}'
    )
    doc = loads_json(text)
    assert doc.line == 1
    assert [item.line for item in doc["b"]] == [3, 5]
    assert doc["b"][1]["d"].line == 5
    assert doc["b"][0]["c"] == 'quote " and } brace'


def test_a_byte_order_mark_is_not_part_of_the_file(tmp_path: Path) -> None:
    # Windows PowerShell's "Set-Content -Encoding utf8" and Notepad write one; JSON
    # parsers refuse it ("Unexpected UTF-8 BOM")
    from leastpriv_ci.policy.files import load_policy_file

    policy = tmp_path / "role.json"
    policy.write_bytes(b'\xef\xbb\xbf{"Statement": [\n  {"Effect": "Allow", '
                       b'"Action": "s3:GetObject", "Resource": "*"}]}')
    loaded = load_policy_file(policy)
    assert [s.actions for p in loaded.policies for s in p.statements] == [("s3:GetObject",)]
    assert loaded.policies[0].statements[0].origin.line == 2
    assert load_file(policy)["Statement"][0]["Effect"] == "Allow"
