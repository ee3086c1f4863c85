"""The config file: schema errors that name key and line, expiry dates, precedence."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from leastpriv_ci.config import Settings, config_schema, load_config
from leastpriv_ci.errors import UserError
from leastpriv_ci.records import FINDING_KINDS

DATA = Path(__file__).parent / "data" / "config"


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(config_schema())


def test_the_schema_s_finding_kinds_are_the_tool_s() -> None:
    schema = config_schema()
    assert set(schema["$defs"]["kind"]["enum"]) == set(FINDING_KINDS)
    listed = schema["properties"]["fail-on"]["oneOf"][0]["items"]["enum"]
    assert set(listed) == {*FINDING_KINDS, "none"}
    pattern = schema["properties"]["fail-on"]["oneOf"][1]["pattern"]
    assert all(kind in pattern for kind in FINDING_KINDS)


def test_full_example_loads_into_settings() -> None:
    config = load_config(str(DATA / "full.leastpriv.yml"), explicit=True)
    settings = Settings.from_sources({}, config)
    assert settings.gate.fail_on == {"missing", "denied", "excess"}
    assert settings.gate.max_excess == 3
    assert settings.gate.min_severity == "medium"
    assert settings.region == "eu-west-1" and settings.account == "123456789012"
    assert settings.policy_paths == ("template.yaml", "iam/")
    assert settings.principals == {"orders-service": "arn:aws:iam::123456789012:role/orders"}
    # YAML 1.1 reads on/off as booleans; they come back as the platform modes
    assert settings.platform.enabled is True
    assert dict(settings.platform.modes) == {"sqs-event-source": "on", "kms-environment": "off"}
    assert settings.parameters == {"TableName": "orders-staging", "Retention": "7"}
    first, second = settings.gate.ignore
    assert (first.action, first.resource, first.reason) == (
        "s3:Delete*", "arn:aws:s3:::orders-*", "the nightly cleanup job deletes old exports")
    assert first.where.endswith("full.leastpriv.yml:23")
    assert second.expires == date(2026, 12, 31)
    assert second.kinds == {"excess"}
    assert second.role == "arn:aws:iam::*:role/legacy-*"


def _error(name: str) -> str:
    with pytest.raises(UserError) as caught:
        load_config(str(DATA / name), explicit=True)
    return str(caught.value)


def test_bad_value_names_key_and_line() -> None:
    message = _error("bad-severity.leastpriv.yml")
    assert "bad-severity.leastpriv.yml:5: min-severity:" in message
    assert "'severe' is not one of" in message


def test_missing_reason_names_the_list_item_and_its_line() -> None:
    message = _error("no-reason.leastpriv.yml")
    assert "no-reason.leastpriv.yml:5: ignore[1]: 'reason' is a required property" in message


def test_bad_date_is_refused() -> None:
    message = _error("bad-date.leastpriv.yml")
    assert "bad-date.leastpriv.yml:4: ignore[0].expires:" in message


def test_unknown_key_is_named() -> None:
    message = _error("unknown-key.leastpriv.yml")
    assert "'fial-on' was unexpected" in message
    assert "unknown-key.leastpriv.yml:2: fial-on: unknown key" in message


def test_a_json_config_indented_with_tabs_is_read_as_json() -> None:
    """YAML refuses tabs as indentation; a JSON config is parsed as JSON alone."""
    config = load_config(str(DATA / "tabs.leastpriv.json"), explicit=True)
    settings = Settings.from_sources({}, config)
    assert settings.gate.fail_on == {"missing", "excess"} and settings.gate.max_excess == 2
    first, second = settings.gate.ignore
    assert first.where.endswith("tabs.leastpriv.json:5")  # the rule's opening brace
    assert second.where.endswith("tabs.leastpriv.json:9")
    assert second.expires == date(2026, 12, 31)
    assert config.where("max-excess").endswith("tabs.leastpriv.json:3")
    assert config.where("platform", "enabled").endswith("tabs.leastpriv.json:13")
    assert config.where("fail-on", 1).endswith("tabs.leastpriv.json:2")  # the item's line


def test_json_config_errors_name_key_and_line(tmp_path: Path) -> None:
    message = _error("bad-severity-tabs.leastpriv.json")
    assert "bad-severity-tabs.leastpriv.json:5: min-severity:" in message
    message = _error("no-reason-tabs.leastpriv.json")
    assert "no-reason-tabs.leastpriv.json:5: ignore[1]: 'reason' is a required " in message
    path = tmp_path / "config.JSON"
    path.write_text('{\n\t"fail-on": "missing",\n\t"fial-on": "excess"\n}\n')
    with pytest.raises(UserError, match=r"config\.JSON:3: fial-on: unknown key"):
        load_config(str(path), explicit=True)
    path.write_text('{\n\t"fail-on": "missing"\n\t"max-excess": 1\n}\n')
    with pytest.raises(UserError, match=r"config\.JSON:3: cannot parse the config file"):
        load_config(str(path), explicit=True)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / ".leastpriv.yml"
    path.write_text("fail-on: [missing\nmax-excess: 1\n")
    with pytest.raises(UserError, match=r"\.leastpriv\.yml:\d+: cannot parse"):
        load_config(str(path))


def test_unsafe_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / ".leastpriv.yml"
    path.write_text("fail-on: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(UserError, match="cannot parse"):
        load_config(str(path))


def test_absent_default_file_is_fine_but_a_named_one_is_not(tmp_path: Path) -> None:
    assert load_config(str(tmp_path / ".leastpriv.yml")).values == {}
    with pytest.raises(UserError, match="config file not found"):
        load_config(str(tmp_path / "nope.yml"), explicit=True)


def test_flags_override_the_file_which_overrides_defaults() -> None:
    config = load_config(str(DATA / "full.leastpriv.yml"), explicit=True)
    settings = Settings.from_sources(
        {"fail_on": "missing", "max_excess": None, "region": "us-east-2",
         "policy_paths": ["other.json"], "min_severity": None},
        config,
    )
    assert settings.gate.fail_on == {"missing"}  # flag
    assert settings.gate.max_excess == 3  # file
    assert settings.region == "us-east-2"
    assert settings.policy_paths == ("other.json",)
    defaults = Settings.from_sources({}, load_config(None))
    assert defaults.gate.fail_on == {"missing", "denied"}
    assert defaults.gate.max_excess is None and defaults.gate.min_severity == "low"
    assert defaults.compare == "declared"


def test_stack_name_comes_from_the_file_unless_a_flag_names_one(tmp_path: Path) -> None:
    path = tmp_path / ".leastpriv.yml"
    path.write_text("stack-name: notes-staging\n")
    config = load_config(str(path), explicit=True)
    assert Settings.from_sources({}, config).stack_name == "notes-staging"
    assert Settings.from_sources({"stack_name": "other"}, config).stack_name == "other"
    assert Settings.from_sources({}, load_config(None)).stack_name is None


def test_compare_and_comment_take_any_case_and_name_a_bad_value_in_one_line() -> None:
    settings = Settings.from_sources({"compare": "Declared", "comment": "OFF"},
                                     load_config(None))
    assert (settings.compare, settings.comment) == ("declared", "off")
    with pytest.raises(UserError, match="--compare: unknown compare mode 'sideways'; use one "
                                        "of declared, attached, both"):
        Settings.from_sources({"compare": "sideways"}, load_config(None))
    with pytest.raises(UserError, match="--comment: unknown comment mode 'loud'"):
        Settings.from_sources({"comment": "loud"}, load_config(None))


def test_bad_flags_name_the_flag() -> None:
    with pytest.raises(UserError, match="--fail-on: unknown finding kind"):
        Settings.from_sources({"fail_on": "missing,typo"}, load_config(None))
    with pytest.raises(UserError, match="--max-excess: 'many' is not a whole number"):
        Settings.from_sources({"max_excess": "many"}, load_config(None))
    with pytest.raises(UserError, match="--min-severity"):
        Settings.from_sources({"min_severity": "huge"}, load_config(None))
    assert Settings.from_sources({"fail_on": "none"}, load_config(None)).gate.fail_on == set()


def test_baseline_must_be_a_report(tmp_path: Path) -> None:
    report = tmp_path / "base.json"
    report.write_text(json.dumps({"schema": 1, "findings": [
        {"kind": "excess", "role": "r", "action": "S3:GetObject", "resource": "*"}]}))
    settings = Settings.from_sources({"baseline": str(report)}, load_config(None))
    assert settings.gate.baseline == {("excess", "r", "s3:getobject", "*")}
    (tmp_path / "x.json").write_text("[1]")
    with pytest.raises(UserError, match="not a leastpriv-ci JSON report"):
        Settings.from_sources({"baseline": str(tmp_path / "x.json")}, load_config(None))


def test_unknown_platform_group_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / ".leastpriv.yml"
    path.write_text("fail-on: missing\nplatform:\n  lambda-logz: off\n")
    config = load_config(str(path))
    with pytest.raises(UserError, match=r"\.leastpriv\.yml:2: unknown platform group 'lambda-"):
        Settings.from_sources({}, config)


def test_an_impossible_unquoted_date_is_an_input_error_naming_its_line(tmp_path: Path) -> None:
    # YAML reads 2026-02-30 as a timestamp and PyYAML's constructor raises ValueError
    path = tmp_path / ".leastpriv.yml"
    path.write_text("ignore:\n  - action: 'x:y'\n    reason: test rule\n    expires: 2026-02-30\n")
    with pytest.raises(UserError, match=r"\.leastpriv\.yml:4: .*'2026-02-30' is not a valid "
                                        r"timestamp") as caught:
        load_config(str(path), explicit=True)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("fail_on", [" ", ",", []])
def test_a_fail_on_naming_no_kind_is_refused_not_a_silent_pass(
    tmp_path: Path, fail_on: object
) -> None:
    path = tmp_path / ".leastpriv.yml"
    path.write_text(f"fail-on: {json.dumps(fail_on)}\n")
    with pytest.raises(UserError):
        Settings.from_sources({}, load_config(str(path), explicit=True))
    with pytest.raises(UserError, match="names no finding kind"):
        Settings.from_sources({"fail_on": " , "}, load_config(None))


def test_fail_on_none_is_accepted_as_a_list_too(tmp_path: Path) -> None:
    path = tmp_path / ".leastpriv.yml"
    path.write_text("fail-on: [none]\n")
    settings = Settings.from_sources({}, load_config(str(path), explicit=True))
    assert settings.gate.fail_on == frozenset()


@pytest.mark.parametrize(("text", "message"), [
    # not "fail-on[0]: 'none' was expected", of the list's first, valid item
    ("fail-on:\n  - missing\n  - bogus\n",
     r"\.leastpriv\.yml:3: fail-on\[1\]: 'bogus' is not one of \['missing', "),
    ("fail-on: [missing, none]\n",
     r"\.leastpriv\.yml:1: none means no finding kind gates: give it alone"),
    # not "is not valid under any of the given schemas"
    ("ignore:\n  - reason: legacy role\n    kind: excess\n",
     r"\.leastpriv\.yml:2: ignore\[0\]: needs action or resource \(or both\)"),
    ("ignore:\n  - reason: legacy role\n    action: 's3:*'\n    kind: bogus\n",
     r"\.leastpriv\.yml:4: ignore\[0\]\.kind: \"bogus\" is not one of missing, denied, "
     r"excess, platform, unobserved$"),
])
def test_a_config_error_names_the_bad_value_its_line_and_what_would_do(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / ".leastpriv.yml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        Settings.from_sources({}, load_config(str(path), explicit=True))


def test_none_beside_kinds_in_the_fail_on_flag_is_refused() -> None:
    with pytest.raises(UserError, match="--fail-on: none means no finding kind gates"):
        Settings.from_sources({"fail_on": "none,missing"}, load_config(None))


def test_a_config_file_linked_outside_the_checkout_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (tmp_path / "secret.yml").write_text('fail-on: "SECRET_TOKEN_VALUE"\n')
    (checkout / ".leastpriv.yml").symlink_to(tmp_path / "secret.yml")
    monkeypatch.chdir(checkout)
    for path, explicit in ((".leastpriv.yml", False), (str(checkout / ".leastpriv.yml"), True),
                           ("../secret.yml", True)):
        with pytest.raises(UserError) as raised:
            load_config(path, explicit=explicit)
        assert raised.value.exit_code == 2
        assert "outside the checkout" in str(raised.value)
        assert "SECRET_TOKEN_VALUE" not in str(raised.value)


def test_long_values_and_keys_are_not_quoted_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    value, key = "V" * 200, "k" * 200
    (tmp_path / "bad.yml").write_text(f'fail-on: "{value}"\n')
    with pytest.raises(UserError) as raised:
        load_config("bad.yml", explicit=True)
    message = str(raised.value)
    assert value not in message and "VVVV..." in message
    assert message.startswith("bad.yml:1: fail-on: ")
    assert "(none|" not in message  # the schema's pattern is not quoted back
    (tmp_path / "bad.yml").write_text(f"{key}: 1\n")
    with pytest.raises(UserError) as raised:
        load_config("bad.yml", explicit=True)
    assert key not in str(raised.value) and "unknown key" in str(raised.value)


def test_fail_on_accepts_line_breaks_as_an_action_block_input_gives_them() -> None:
    from leastpriv_ci.config import ConfigFile

    settings = Settings.from_sources({"fail_on": "missing\nexcess\n"}, ConfigFile())
    assert settings.gate.fail_on == {"missing", "excess"}
    settings = Settings.from_sources({"fail_on": "missing,\r\n denied"}, ConfigFile())
    assert settings.gate.fail_on == {"missing", "denied"}
    with pytest.raises(UserError, match="unknown finding kind"):
        Settings.from_sources({"fail_on": "missing\nexcesss"}, ConfigFile())


def test_a_json_config_error_in_a_list_names_the_item_s_line(tmp_path: Path) -> None:
    path = tmp_path / "leastpriv.json"
    path.write_text('{\n\t"fail-on": [\n\t\t"missing",\n\t\t"mising"\n\t]\n}\n')
    with pytest.raises(UserError) as caught:
        load_config(str(path), explicit=True)
    assert f"{path}:4: fail-on[1]" in str(caught.value)  # the item, not the list's line 2
