"""Resource ARNs from the identifiers the SDKs record."""

from __future__ import annotations

import pytest

from leastpriv_ci.usage.documents import Aws
from leastpriv_ci.usage.fields import Fields
from leastpriv_ci.usage.resources import PARSERS, Where, resource_fields

WHERE = Where("eu-west-1", "111122223333")


@pytest.mark.parametrize(("parser", "value", "result"), [
    # the URL's region is the queue's (Java v1 and JS v2 send the call there; botocore
    # sends it to the client's region, where SQS answers that the queue does not exist)
    ("queue_url", "https://sqs.us-east-2.amazonaws.com/444455556666/jobs",
     "arn:aws:sqs:us-east-2:444455556666:jobs"),
    ("queue_url", "http://127.0.0.1:5000/123456789012/jobs",
     "arn:aws:sqs:eu-west-1:123456789012:jobs"),
    ("queue_url", "not a url", None),
    # a version or alias qualifier stays: IAM authorizes the invocation on that ARN
    ("function", "fn", "fn"),
    ("function", "fn:live", "fn:live"),
    ("function", "arn:aws:lambda:us-east-1:1:function:fn:7",
     "arn:aws:lambda:us-east-1:1:function:fn:7"),
    ("function", "arn:aws:lambda:us-east-1:1:function:fn",
     "arn:aws:lambda:us-east-1:1:function:fn"),
    ("function", "123456789012:function:fn:live",
     "arn:aws:lambda:eu-west-1:123456789012:function:fn:live"),
    ("function", "123456789012:function:fn",
     "arn:aws:lambda:eu-west-1:123456789012:function:fn"),
    ("function", ":live", None),
    ("function", "fn:$LATEST", "fn"),
    ("function", "arn:aws:lambda:us-east-1:1:function:fn:$LATEST",
     "arn:aws:lambda:us-east-1:1:function:fn"),
    ("noslash", "/app/db", "app/db"),
    ("secret", "db-pass", "db-pass-??????"),
    ("secret", "arn:aws:secretsmanager:eu-west-1:1:secret:x-AbCdEf",
     "arn:aws:secretsmanager:eu-west-1:1:secret:x-AbCdEf"),
    # a partial ARN (no random suffix) names the secret as its name does
    ("secret", "arn:aws:secretsmanager:eu-west-1:1:secret:prod/db",
     "arn:aws:secretsmanager:eu-west-1:1:secret:prod/db-??????"),
    ("secret", "arn:aws:secretsmanager:eu-west-1:1:secret:db-pass",
     "arn:aws:secretsmanager:eu-west-1:1:secret:db-pass-??????"),
    ("kms_key", "alias/app", None),
    ("names", "dict_keys(['orders', 'lines'])", ["orders", "lines"]),
    ("names", ["a", "b"], ["a", "b"]),
    ("names", {"a": {}, "b": {}}, ["a", "b"]),
    ("lower", "Fraud-Model", "fraud-model"),
    ("lower", "arn:aws:sagemaker:eu-west-1:1:endpoint/fraud-model",
     "arn:aws:sagemaker:eu-west-1:1:endpoint/fraud-model"),
])
def test_identifier_parsers(parser: str, value: object, result: object) -> None:
    assert PARSERS[parser](value, WHERE) == result  # type: ignore[arg-type]


def _arns(service: str, aws: dict[str, object], where: Where = WHERE) -> list[list[str]]:
    fields = Fields(Aws(**aws))
    return [spec.build(fields, where) for spec in resource_fields().specs(service)]


def test_table_given_as_arn_is_used_as_is_and_index_appended() -> None:
    table = "arn:aws:dynamodb:us-east-1:999999999999:table/orders"
    index, plain, _stream = _arns("dynamodb", {"table_name": table, "index_name": "by-c"})
    assert index == [f"{table}/index/by-c"]
    assert plain == [table]


def test_region_or_account_missing_means_no_arn() -> None:
    assert _arns("sqs", {"queue_name": "jobs"}, Where(None, None)) == [[]]
    assert _arns("sns", {"topic_arn": "arn:aws:sns:us-east-1:1:t"}, Where(None, None)) == [
        ["arn:aws:sns:us-east-1:1:t"]]


def test_execution_arn_is_not_extended() -> None:
    execution = "arn:aws:states:eu-west-1:1:execution:flow:run-1"
    _machine, found = _arns("states", {"execution_arn": execution})
    assert found == [execution]


def test_adot_attributes_are_read_from_metadata() -> None:
    fields = Fields(None, metadata={"default": {"aws.s3.bucket": "b", "aws.s3.key": "k"}})
    built = {spec.type: spec.build(fields, WHERE) for spec in resource_fields().specs("s3")}
    assert built == {"accesspointobject": [], "accesspoint": [],
                     "object": ["arn:aws:s3:::b/k"], "bucket": ["arn:aws:s3:::b"]}


def test_queue_url_region_comes_before_the_calls() -> None:
    # Region: the queue URL's, else the subsegment's (or the principal's in its place).
    principals = Where("us-east-1", "111122223333")
    parse = PARSERS["queue_url"]
    assert parse("https://sqs.eu-west-1.amazonaws.com/444455556666/jobs", principals) == (
        "arn:aws:sqs:eu-west-1:444455556666:jobs")
    assert parse("https://sqs.cn-north-1.amazonaws.com.cn/444455556666/jobs", principals) == (
        "arn:aws-cn:sqs:cn-north-1:444455556666:jobs")
    assert parse("https://sqs.eusc-de-east-1.amazonaws.eu/444455556666/jobs", principals) == (
        "arn:aws-eusc:sqs:eusc-de-east-1:444455556666:jobs")
    assert parse("http://127.0.0.1:5000/444455556666/jobs", principals) == (
        "arn:aws:sqs:us-east-1:444455556666:jobs")


def test_ses_sender_with_a_display_name_names_the_address_identity() -> None:
    # SendEmail's Source / FromEmailAddress may be "Name <address>"; the identity ARN
    # holds the address only.
    assert _arns("ses", {"from_email_address": "Orders <orders@example.com>"}) == [
        ["arn:aws:ses:eu-west-1:111122223333:identity/orders@example.com"]]
    assert _arns("ses", {"source": '"Shop, Inc." <shop@example.com>'}) == [
        ["arn:aws:ses:eu-west-1:111122223333:identity/shop@example.com"]]
    assert _arns("ses", {"source": "plain@example.com"}) == [
        ["arn:aws:ses:eu-west-1:111122223333:identity/plain@example.com"]]
