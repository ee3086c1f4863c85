"""Bad segment documents are skipped, counted and named; nothing raises."""

from __future__ import annotations

import json

import pytest

from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from tests.usage_helpers import accesses

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _segment(subsegments: list[object], **extra: object) -> dict[str, object]:
    return {"id": "s1", "name": "f", "origin": "AWS::Lambda::Function", "start_time": 1.0,
            "end_time": 2.0, "aws": {"function_arn": FN}, "subsegments": subsegments, **extra}


def _get_item(call_id: str = "c1", table: str = "t") -> dict[str, object]:
    return {"id": call_id, "name": "dynamodb", "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": "GetItem", "region": "us-east-1", "table_name": table}}


GET_T = ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t", 1, False, True)


def _get_t(count: int) -> tuple[object, ...]:
    """``GET_T`` counted ``count`` times."""
    return (*GET_T[:2], count, *GET_T[3:])


def _trace(*docs: object) -> RawTrace:
    texts = tuple(d if isinstance(d, str) else json.dumps(d) for d in docs)
    return RawTrace("1-x", texts, "f.json#1")


def test_document_that_is_not_json_is_skipped_and_named() -> None:
    observation = observe([_trace("{not json", [1, 2], _segment([_get_item()]))])
    assert accesses(observation) == {FN: {GET_T}}
    (notice,) = observation.notices.items()
    assert notice.code == "malformed-segment"
    assert notice.count == 2
    assert notice.examples[0].startswith("f.json#1 segment 1")
    # named in JSON's words, not Python's
    assert notice.examples[1] == "f.json#1 segment 2: a JSON array, not an object"
    others = observe([_trace("null", '"text"', "1.5", "true")]).notices.items()[0].examples
    assert [e.split(": ", 1)[1] for e in others] == [
        f"a JSON {kind}, not an object" for kind in ("null", "string", "number", "boolean")]


def test_document_with_a_lone_surrogate_is_skipped_and_named() -> None:
    # An export's "\\ud800" escape decodes to text no JSON parser accepts as UTF-8.
    bad = json.dumps(_segment([_get_item("c2")])).replace('"f"', '"f\ud800"', 1)
    observation = observe([_trace(bad, _segment([_get_item()]))])
    assert accesses(observation) == {FN: {GET_T}}
    assert observation.notices.count("malformed-segment") == 1


def test_segment_without_id_is_skipped() -> None:
    segment = _segment([_get_item()])
    del segment["id"]
    observation = observe([_trace(segment)])
    assert observation.principals == {}
    assert observation.notices.count("segment-missing-id") == 1


def test_missing_and_mistyped_fields_do_not_raise() -> None:
    broken: list[object] = [
        "not a subsegment", 7, None,
        {"id": "c2", "namespace": "aws", "aws": {"region": "us-east-1"}},  # no operation
        {"id": "c3", "namespace": "aws", "aws": "text"},
        {"id": "c4", "name": 5, "namespace": "aws", "aws": {"operation": "GetItem"}},
        {"id": "c5", "name": "dynamodb", "aws": {"operation": "GetItem", "table_name": 12}},
        {"id": "c6", "name": "dynamodb", "aws": {"operation": "GetItem"}, "cause": "abc"},
        {"id": "c7", "name": "dynamodb", "aws": {"operation": "GetItem"},
         "cause": {"exceptions": ["x", {"type": 3, "message": None}]}},
        {"id": "c8", "name": "sqs", "aws": {"operation": "SendMessage", "queue_url": "nonsense"}},
        {"id": "c9", "subsegments": "nope"},
        _get_item("c10"),
    ]
    segment = _segment(broken, start_time="soon")
    observation = observe([_trace(segment)])
    found = accesses(observation)[FN]
    assert GET_T in found
    assert ("sqs:SendMessage", "*", 1, False, False) in found
    assert observation.notices.count("unknown-service") == 1  # the call named 5


def test_fields_of_the_wrong_type_name_no_resource() -> None:
    # Fields whose parser reads text (queue URLs, function names, secrets, KMS keys,
    # SageMaker endpoints) given lists, numbers or objects: the call is kept on "*".
    wrong: list[tuple[str, str, str, object]] = [
        ("sqs", "SendMessage", "queue_url", ["https://sqs.us-east-1.amazonaws.com/1/q"]),
        ("lambda", "Invoke", "function_name", 5),
        ("secretsmanager", "GetSecretValue", "secret_id", {"name": "s"}),
        ("kms", "Decrypt", "key_id", ["k"]),
        ("runtime.sagemaker", "InvokeEndpoint", "endpoint_name", 3.5),
    ]
    calls = [{"id": f"c{n}", "name": name, "start_time": 1.5,
              "aws": {"operation": operation, "region": "us-east-1", field: value}}
             for n, (name, operation, field, value) in enumerate(wrong)]
    observation = observe([_trace(_segment(calls))])
    assert accesses(observation) == {FN: {
        (action, "*", 1, False, False) for action in (
            "sqs:SendMessage", "lambda:InvokeFunction", "secretsmanager:GetSecretValue",
            "kms:Decrypt", "sagemaker:InvokeEndpoint")}}


def test_unknown_service_is_counted_not_guessed() -> None:
    call = {"id": "c1", "name": "FrobnicatorService", "namespace": "aws",
            "aws": {"operation": "Frobnicate"}}
    observation = observe([_trace(_segment([call]))])
    assert observation.principals[FN].accesses == ()
    assert observation.notices.count("unknown-service") == 1


def test_nesting_past_every_parser_limit_is_walked() -> None:
    # 10,000 levels: past orjson's depth limit and Python's recursion limit.
    depth = 10_000
    opening = "".join(f'{{"id": "n{i}", "name": "local", "subsegments": [' for i in range(depth))
    text = opening + json.dumps(_get_item("deep")) + "]}" * depth
    segment = json.dumps(_segment([]))[:-2] + text + "]}"
    observation = observe([_trace(segment)])
    assert accesses(observation) == {FN: {GET_T}}


def test_decoded_documents_nested_deep_are_walked() -> None:
    node: dict[str, object] = _get_item("deep")
    for level in range(10_000):
        node = {"id": f"n{level}", "name": "local", "subsegments": [node]}
    trace = RawTrace("1-x", (_segment([node]),), "api")
    assert accesses(observe([trace])) == {FN: {GET_T}}


def test_in_progress_and_duplicate_copies_count_once() -> None:
    in_progress = _segment([], in_progress=True)
    done = _segment([_get_item()])
    observation = observe([_trace(in_progress, done, done)])
    assert accesses(observation) == {FN: {GET_T}}
    # the same call also sent on its own (streamed) is still one call
    streamed = dict(_get_item(), type="subsegment", parent_id="s1")
    assert accesses(observe([_trace(done, streamed)])) == {FN: {GET_T}}


def test_a_trace_read_again_is_counted_once() -> None:
    done = _segment([_get_item()])
    streamed = dict(_get_item("c2", table="u"), type="subsegment", parent_id="s1")
    first = _trace(done, streamed)
    # the same trace in a second file, its documents in another order
    again = RawTrace("1-x", tuple(reversed(first.segments)), "g.json#4")
    observation = observe([first, again])
    get_u = ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/u", 1, False,
             True)
    assert accesses(observation) == {FN: {GET_T, get_u}}
    assert observation.traces == 1
    assert observation.principals[FN].traces == 1
    (notice,) = observation.notices.items()
    assert (notice.code, notice.count, notice.examples) == (
        "duplicate-trace", 1, ("1-x (g.json#4)",))
    # a copy of a trace X-Ray cut short is not a second cut-short trace
    for read in ([first], [first, again]):
        cut = observe(trace._replace(truncated=True) for trace in read)
        assert cut.notices.count("trace-truncated") == 1
    plain = _trace(done)._replace(truncated=True)  # the direct path (no streamed document)
    assert observe([plain, plain]).notices.count("trace-truncated") == 1


def test_an_in_progress_copy_and_the_finished_trace_count_each_call_once() -> None:
    in_progress = _segment([_get_item()], in_progress=True)
    done = _segment([_get_item(), _get_item("c2")])
    for first, second in ((in_progress, done), (done, in_progress)):
        observation = observe([_trace(first), _trace(second)._replace(where="g.json#2")])
        # c1 in both copies once, c2 (only in the finished one) once
        assert accesses(observation) == {FN: {_get_t(2)}}
        assert observation.traces == 1
        assert observation.principals[FN].traces == 1
        assert observation.notices.count("duplicate-trace") == 1
    # two in-progress snapshots, then the finished trace: each call still once
    later = _segment([_get_item(), _get_item("c3")], in_progress=True)
    observation = observe([_trace(in_progress), _trace(later), _trace(done)])
    assert accesses(observation) == {FN: {_get_t(3)}}
    # a call without an id cannot be told from another: counted again, never lost
    anonymous = {k: v for k, v in _get_item().items() if k != "id"}
    observation = observe([_trace(_segment([anonymous], in_progress=True)),
                           _trace(_segment([anonymous]))])
    assert accesses(observation) == {FN: {_get_t(2)}}


def test_a_trace_read_again_with_more_segments_counts_only_those() -> None:
    # an export caught the trace with one segment done; a later one has both
    caller = _segment([_get_item()])
    callee_fn = "arn:aws:lambda:us-east-1:123456789012:function:g"
    callee = dict(_segment([_get_item("c2")]), id="s2", name="g", aws={"function_arn": callee_fn})
    observation = observe([_trace(caller), _trace(caller, callee)])
    assert accesses(observation) == {FN: {GET_T}, callee_fn: {GET_T}}
    assert observation.traces == 1
    assert observation.principals[FN].traces == 1
    assert observation.principals[callee_fn].traces == 1
    assert observation.notices.count("duplicate-trace") == 1


def test_in_progress_segments_past_the_limit_are_counted_and_warned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("leastpriv_ci.usage.copies.MAX_IN_PROGRESS", 1)
    in_progress = _segment([_get_item()], in_progress=True)
    other = RawTrace("1-y", _trace(in_progress).segments, "f.json#2")
    done = _segment([_get_item()])
    observation = observe([_trace(in_progress), other, _trace(done),
                           other._replace(segments=_trace(done).segments)])
    # 1-x was remembered: its call once; 1-y past the limit: its call in both copies
    assert accesses(observation) == {FN: {_get_t(3)}}
    assert observation.notices.count("in-progress-untracked") == 1
    # warned about when it happens, not only when a later trace takes the general path
    alone = observe([_trace(in_progress), other])
    assert alone.notices.count("in-progress-untracked") == 1


def test_parts_of_a_trace_with_other_segments_each_count() -> None:
    # Raw segment documents of one trace on lines far apart arrive as several parts
    other = dict(_segment([_get_item("c2")]), id="s2")
    observation = observe([_trace(_segment([_get_item()])), _trace(other)])
    assert accesses(observation) == {FN: {_get_t(2)}}
    assert observation.notices.count("duplicate-trace") == 0
    # and traces with other ids are never copies
    one, two = _trace(_segment([_get_item()])), _trace(_segment([_get_item()]))
    observation = observe([one, two._replace(trace_id="1-y")])
    assert accesses(observation) == {FN: {_get_t(2)}}
    assert observation.traces == 2


def test_inferred_segments_are_ignored() -> None:
    inferred = {"id": "i1", "name": "DynamoDB", "inferred": True, "parent_id": "c1",
                "origin": "AWS::DynamoDB::Table",
                "aws": {"operation": "DeleteItem", "table_name": "t"}}
    observation = observe([_trace(_segment([_get_item()]), inferred)])
    assert accesses(observation) == {FN: {GET_T}}


def test_parent_cycle_between_subsegment_documents_is_unattributed() -> None:
    a = dict(_get_item("a"), type="subsegment", parent_id="b")
    b = dict(_get_item("b"), type="subsegment", parent_id="a")
    observation = observe([_trace(a, b)])
    assert observation.principals == {}
    assert observation.notices.count("unattributed") == 2


def test_orphan_subsegment_document_is_named_as_such() -> None:
    # Its segment was not read with it (raw segment lines of a trace apart in the file):
    # the advice is about the export, not about mapping a principal.
    orphan = dict(_get_item("a"), type="subsegment", parent_id="gone")
    observation = observe([_trace(orphan)])
    assert observation.principals == {}
    assert observation.notices.count("unattributed") == 0
    (notice,) = [n for n in observation.notices.items() if n.code == "orphan-subsegment"]
    assert notice.count == 1 and "consecutive lines" in notice.message


def test_denial_naming_an_api_operation_keeps_the_mapped_action() -> None:
    call = dict(_get_item(), cause={"exceptions": [{
        "type": "ClientError",
        "message": "An error occurred (AccessDeniedException) when calling the GetItem "
                   "operation: User: x is not authorized to perform: dynamodb:GetItemX"}]})
    observation = observe([_trace(_segment([call]))])
    ((action, resource, _count, denied, _known),) = accesses(observation)[FN]
    assert (action, resource, denied) == ("dynamodb:GetItem", GET_T[1], True)


def test_throttle_and_not_found_are_use_not_denial() -> None:
    throttled = dict(_get_item("c1"), throttle=True, error=True, cause={"exceptions": [
        {"type": "ThrottlingException", "message": "Rate exceeded"}]})
    missing = dict(_get_item("c2"), error=True, cause={"exceptions": [
        {"type": "ResourceNotFoundException", "message": "Requested resource not found"}]})
    observation = observe([_trace(_segment([throttled, missing]))])
    assert accesses(observation) == {FN: {(*GET_T[:2], 2, False, True)}}


def test_kms_refusal_behind_a_call_is_not_a_denial_of_the_calls_action() -> None:
    # Lambda Invoke's KMSAccessDeniedException (HTTP 502) is the invoked function's role
    # failing to decrypt its environment: the caller's lambda:InvokeFunction was allowed.
    invoke = {"id": "c1", "name": "lambda", "namespace": "aws", "start_time": 1.5,
              "fault": True, "aws": {"operation": "Invoke", "region": "us-east-1",
                                     "function_name": "g"},
              "cause": {"exceptions": [{
                  "type": "KMSAccessDeniedException",
                  "message": "An error occurred (KMSAccessDeniedException) when calling the "
                             "Invoke operation: Lambda was unable to decrypt the environment "
                             "variables because KMS access was denied. Please check the "
                             "function's KMS key settings. KMS Exception: "
                             "AccessDeniedExceptionKMS Message: The ciphertext refers to a "
                             "customer master key that does not exist, does not exist in "
                             "this region, or you are not allowed to access."}]}}
    # A KMS refusal that names its action is that action's denial; the call's own action
    # was allowed (IAM authorised it before Kinesis asked KMS), so it is use
    put = {"id": "c2", "name": "kinesis", "namespace": "aws", "start_time": 1.5,
           "aws": {"operation": "PutRecord", "region": "us-east-1", "stream_name": "s"},
           "cause": {"exceptions": [{
               "type": "KMSAccessDeniedException",
               "message": "User: x is not authorized to perform: kms:GenerateDataKey on "
                          "resource: arn:aws:kms:us-east-1:123456789012:key/k"}]}}
    observation = observe([_trace(_segment([invoke, put]))])
    assert accesses(observation) == {FN: {
        ("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:g", 1,
         False, True),
        ("kms:GenerateDataKey", "arn:aws:kms:us-east-1:123456789012:key/k", 1, True, True),
        ("kinesis:PutRecord", "arn:aws:kinesis:us-east-1:123456789012:stream/s", 1, False,
         True),
    }}


def _refused_by_kms(call_id: str, name: str, operation: str, message: str,
                    **fields: object) -> dict[str, object]:
    return {"id": call_id, "name": name, "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": operation, "region": "us-east-1", **fields},
            "cause": {"exceptions": [{"type": "AccessDeniedException", "message": message}]}}


def test_another_services_refusal_keeps_the_calls_own_use_and_names_no_resource_of_it() -> None:
    # KMS's refusal behind an S3 read or an SQS send often names no key: its action is
    # never put on the bucket or queue, and the call's own allowed action still counts.
    calls = [
        _refused_by_kms("c1", "s3", "GetObject", "User: x is not authorized to perform: "
                        "kms:Decrypt on the resource associated with this ciphertext because "
                        "the resource does not exist", bucket_name="b", key="k"),
        _refused_by_kms("c2", "sqs", "SendMessage", "User: x is not authorized to perform: "
                        "kms:GenerateDataKey on this resource because no identity-based "
                        "policy allows it", queue_url="https://sqs.us-east-1.amazonaws.com/"
                        "123456789012/q"),
        _refused_by_kms("c3", "SecretsManager", "GetSecretValue",
                        "Access to KMS is not allowed", secret_id="db"),
    ]
    observation = observe([_trace(_segment(calls))])
    assert accesses(observation) == {FN: {
        ("kms:Decrypt", "*", 2, True, False),
        ("kms:GenerateDataKey", "*", 1, True, False),
        ("s3:GetObject", "arn:aws:s3:::b/k", 1, False, True),
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q", 1, False, True),
        ("secretsmanager:GetSecretValue",
         "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-??????", 1, False, True),
    }}


def test_the_query_protocol_wording_of_a_denial_names_action_and_resource() -> None:
    # SES (and other query-protocol services) quote with `...' and drop the colons
    send = {"id": "c1", "name": "ses", "namespace": "aws", "start_time": 1.5,
            "aws": {"operation": "SendEmail", "region": "us-east-1"},
            "cause": {"exceptions": [{
                "type": "ClientError",
                "message": "An error occurred (AccessDenied) when calling the SendEmail "
                           "operation: User `arn:aws:sts::123456789012:assumed-role/r/f' is "
                           "not authorized to perform `ses:SendEmail' on resource "
                           "`arn:aws:ses:us-east-1:123456789012:identity/a@example.com'"}]}}
    # an explicit deny quotes the ARN
    get = dict(_get_item("c2", "u"), cause={"exceptions": [{
        "type": "AccessDeniedException",
        "message": "User: x is not authorized to perform: dynamodb:GetItem on resource: "
                   '"arn:aws:dynamodb:us-east-1:123456789012:table/t" with an explicit deny '
                   "in a service control policy"}]})
    observation = observe([_trace(_segment([send, get]))])
    assert accesses(observation) == {FN: {
        ("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/a@example.com", 1,
         True, True),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t", 1, True, True),
    }}


def test_a_refusal_named_only_by_its_service_is_that_services_denial() -> None:
    # Secrets Manager cannot decrypt a secret with the caller's KMS permissions: what was
    # refused is kms:Decrypt on the secret's key, which the trace does not name, while
    # secretsmanager:GetSecretValue was allowed: that is use.
    get = {"id": "c1", "name": "secretsmanager", "namespace": "aws", "start_time": 1.5,
           "aws": {"operation": "GetSecretValue", "region": "us-east-1", "secret_id": "db"},
           "cause": {"exceptions": [{
               "type": "ClientError",
               "message": "An error occurred (AccessDeniedException) when calling the "
                          "GetSecretValue operation: Access to KMS is not allowed"}]}}
    observation = observe([_trace(_segment([get]))])
    assert accesses(observation) == {FN: {
        ("kms:Decrypt", "*", 1, True, False),
        ("secretsmanager:GetSecretValue",
         "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-??????", 1, False, True)}}
