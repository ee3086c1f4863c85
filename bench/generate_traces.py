"""Write a deterministic BatchGetTraces-shaped file of realistic Lambda traces.

    python bench/generate_traces.py --traces 50000 --out /tmp/traces-50k.json [--seed 7]

20 functions, each written by one SDK's conventions (Python, Node v2/v3, Java v1/v2,
.NET, Go v2), each trace ~3.7 kB: the AWS::Lambda segment, the function segment with
its SDK calls, and X-Ray's inferred downstream segments. The file is written as it is
generated, so memory stays flat at any size.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ACCOUNT = "210987654321"
REGION = "eu-west-1"

# (subsegment name per service) for each SDK style
STYLES: dict[str, dict[str, str]] = {
    "python": {"dynamodb": "dynamodb", "s3": "s3", "sqs": "sqs", "sns": "sns",
               "lambda": "lambda", "secretsmanager": "secretsmanager", "kinesis": "kinesis"},
    "node": {"dynamodb": "DynamoDB", "s3": "S3", "sqs": "SQS", "sns": "SNS",
             "lambda": "Lambda", "secretsmanager": "Secrets Manager", "kinesis": "Kinesis"},
    "java1": {"dynamodb": "AmazonDynamoDBv2", "s3": "AmazonS3", "sqs": "AmazonSQS",
              "sns": "AmazonSNS", "lambda": "AWSLambda", "secretsmanager": "AWSSecretsManager",
              "kinesis": "AmazonKinesis"},
    "java2": {"dynamodb": "DynamoDb", "s3": "S3", "sqs": "Sqs", "sns": "Sns",
              "lambda": "Lambda", "secretsmanager": "SecretsManager", "kinesis": "Kinesis"},
    "dotnet": {"dynamodb": "DynamoDBv2", "s3": "S3", "sqs": "SQS",
               "sns": "SimpleNotificationService", "lambda": "Lambda",
               "secretsmanager": "SecretsManager", "kinesis": "Kinesis"},
    "go": {"dynamodb": "DynamoDB", "s3": "S3", "sqs": "SQS", "sns": "SNS", "lambda": "Lambda",
           "secretsmanager": "Secrets Manager", "kinesis": "Kinesis"},
}
STYLE_NAMES = list(STYLES)

CALLS: list[tuple[str, str]] = [
    ("dynamodb", "GetItem"), ("dynamodb", "PutItem"), ("dynamodb", "Query"),
    ("dynamodb", "UpdateItem"), ("dynamodb", "BatchWriteItem"), ("s3", "GetObject"),
    ("s3", "PutObject"), ("s3", "ListObjectsV2"), ("s3", "HeadObject"), ("sqs", "SendMessage"),
    ("sqs", "SendMessageBatch"), ("sns", "Publish"), ("lambda", "Invoke"),
    ("secretsmanager", "GetSecretValue"), ("kinesis", "PutRecord"),
]


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _fields(style: str, service: str, operation: str, rng: random.Random,
            fn: int) -> dict[str, Any]:
    if style == "go":
        return {}  # Go SDK v2 records no resource names
    table = f"table-{fn % 7}"
    bucket = f"bucket-{fn % 5}"
    if service == "dynamodb":
        if operation == "BatchWriteItem":
            names = [table, f"table-{(fn + 1) % 7}"]
            return {"table_names": f"dict_keys({names!r})" if style == "python" else names}
        extra = {"index_name": "by-date"} if operation == "Query" and rng.random() < 0.5 else {}
        return {"table_name": table, "consumed_capacity": {"TableName": table,
                                                            "CapacityUnits": 1.0}, **extra}
    if service == "s3":
        if operation == "ListObjectsV2":
            return {"bucket_name": bucket, "prefix": "in/"}
        key = f"in/{rng.randrange(200):04d}.json"  # a working set of objects per bucket
        if operation == "HeadObject" and style == "python":
            return {}  # no whitelist entry in the Python SDK
        return {"bucket_name": bucket, "key": key}
    if service == "sqs":
        return {"queue_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/queue-{fn % 4}",
                "message_id": f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}"}
    if service == "sns":
        return {"topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic-{fn % 3}"}
    if service == "lambda":
        return {"function_name": f"fn-{(fn + 1) % 20}", "invocation_type": "RequestResponse",
                "status_code": 200}
    if service == "kinesis":
        return {"stream_name": f"stream-{fn % 2}"}
    return {}  # secretsmanager: no SDK records the secret id


def _call(style: str, service: str, operation: str, parent: float, rng: random.Random,
          fn: int) -> dict[str, Any]:
    start = parent + rng.random() * 0.5
    aws = {"operation": operation, "region": REGION, "request_id": _hex(rng, 32).upper(),
           "retries": 0, **_fields(style, service, operation, rng, fn)}
    node: dict[str, Any] = {
        "id": _hex(rng, 16), "name": STYLES[style][service], "start_time": start,
        "end_time": start + rng.random() * 0.05, "namespace": "aws",
        "http": {"response": {"status": 200, "content_length": rng.randint(20, 900)}},
        "aws": aws,
    }
    roll = rng.random()
    if roll < 0.03:
        node["http"]["response"]["status"] = 400
        node["error"] = True
        node["cause"] = {"working_directory": "/var/task", "exceptions": [{
            "id": _hex(rng, 16), "type": "ClientError", "remote": True,
            "message": f"An error occurred (AccessDeniedException) when calling the {operation} "
                       f"operation: User: arn:aws:sts::{ACCOUNT}:assumed-role/fn-{fn}-role/fn-{fn} "
                       f"is not authorized to access this resource"}]}
    elif roll < 0.06:
        node["http"]["response"]["status"] = 400
        node["throttle"] = True
        node["cause"] = {"exceptions": [{"id": _hex(rng, 16), "type": "ThrottlingException",
                                         "message": "Rate exceeded", "remote": True}]}
    return node


def _trace(rng: random.Random) -> dict[str, Any]:
    fn = rng.randrange(20)
    style = STYLE_NAMES[fn % len(STYLE_NAMES)]
    trace_id = f"1-{rng.randrange(1 << 32):08x}-{_hex(rng, 24)}"
    start = 1_700_000_000 + rng.random() * 86_400
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-{fn}"
    service_id, function_id = _hex(rng, 16), _hex(rng, 16)
    calls = [_call(style, *rng.choice(CALLS), start, rng, fn) for _ in range(rng.randint(4, 6))]
    handler = {"id": _hex(rng, 16), "name": "handler", "start_time": start + 0.001,
               "end_time": start + 0.6, "subsegments": calls[1:]}
    function = {
        "id": function_id, "name": f"fn-{fn}", "start_time": start, "end_time": start + 0.7,
        "parent_id": service_id, "trace_id": trace_id, "origin": "AWS::Lambda::Function",
        "aws": {"function_arn": arn, "resource_names": [f"fn-{fn}"], "account_id": ACCOUNT,
                "xray": {"sdk": f"X-Ray for {style}", "sdk_version": "2.14.0"}},
        "subsegments": [calls[0], handler],
    }
    service = {
        "id": service_id, "name": f"fn-{fn}", "start_time": start - 0.01, "end_time": start + 0.71,
        "trace_id": trace_id, "origin": "AWS::Lambda", "resource_arn": arn,
        "http": {"response": {"status": 200}}, "aws": {"request_id": _hex(rng, 32)},
    }
    segments = [service, function]
    for call in calls[:1]:
        segments.append({"id": _hex(rng, 16), "name": call["name"], "inferred": True,
                         "parent_id": call["id"], "trace_id": trace_id,
                         "start_time": call["start_time"], "end_time": call["end_time"],
                         "aws": call["aws"], "http": call["http"]})
    return {"Id": trace_id, "Duration": 0.72, "LimitExceeded": False,
            "Segments": [{"Id": s["id"], "Document": json.dumps(s, separators=(",", ":"))}
                         for s in segments]}


def generate(path: Path, count: int, seed: int = 7) -> int:
    """Write ``count`` traces to ``path``; returns the file size in bytes."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write('{"Traces": [')
        for index in range(count):
            if index:
                out.write(",\n")
            out.write(json.dumps(_trace(rng), separators=(",", ":")))
        out.write('], "UnprocessedTraceIds": []}\n')
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    size = generate(args.out, args.traces, args.seed)
    print(f"{args.traces} traces, {size / args.traces:.0f} bytes/trace -> {args.out}")


if __name__ == "__main__":
    main()
