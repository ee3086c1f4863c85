"""Run the app's handlers in-process as their Lambda functions, traced and with their role.

Each invocation gets what the Lambda runtime gives a function: its environment
variables, credentials of its execution role (``sts:AssumeRole`` on the emulator), a
fresh default boto3 session, and an X-Ray segment framed as ``AWS::Lambda::Function``.
"""

from __future__ import annotations

import importlib
import os
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leastpriv_ci.demo.recording import LambdaTracer
from leastpriv_ci.demo.staging import DeployedFunction, Deployment
from leastpriv_ci.emulator import Emulator

# moto evaluates IAM policies only against the resource its handlers name, and for most
# services that is "*", so a resource-scoped Allow would look denied. SNS is enforced
# (its calls carry no resource-scoped grant in the demo), which lets a call be denied by
# the emulator's own evaluation of the role's real policies.
ENFORCED_SERVICES = ("sns",)


class Staging:
    """The deployed app on the emulator, invocable function by function."""

    def __init__(self, emulator: Emulator, deployment: Deployment, source: Path,
                 tracer: LambdaTracer) -> None:
        self.emulator = emulator
        self.deployment = deployment
        self.tracer = tracer
        self._credentials: dict[str, dict[str, str]] = {}
        if str(source) not in sys.path:
            sys.path.insert(0, str(source))

    def invoke(self, key: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke one function; a handler error becomes a 502 result, as API Gateway shows."""
        function = self.deployment.functions[key]
        module_name, _, attribute = function.handler.rpartition(".")
        with _environment(self._runtime_environment(function)):
            import boto3

            boto3.DEFAULT_SESSION = None
            boto3.setup_default_session()
            self._enforce_iam(boto3.DEFAULT_SESSION)
            handler = getattr(importlib.import_module(module_name), attribute)
            try:
                with self.tracer.invocation(function.arn, self.emulator.account):
                    result: dict[str, Any] = handler(event, None)
                    return result
            except Exception as exc:  # the function failed; the trace recorded why
                return {"statusCode": 502, "errorType": type(exc).__name__,
                        "errorMessage": str(exc)}
            finally:
                boto3.DEFAULT_SESSION = None

    def _runtime_environment(self, function: DeployedFunction) -> dict[str, str]:
        credentials = self._role_credentials(function.role_arn)
        return {
            **function.environment,
            **credentials,
            "AWS_REGION": self.emulator.region,
            "AWS_DEFAULT_REGION": self.emulator.region,
            "AWS_ENDPOINT_URL": self.emulator.endpoint_url,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
        }

    def _role_credentials(self, role_arn: str) -> dict[str, str]:
        if role_arn not in self._credentials:
            sts = self.emulator.client("sts")
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="lambda")["Credentials"]
            self._credentials[role_arn] = {
                "AWS_ACCESS_KEY_ID": answer["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": answer["SecretAccessKey"],
                "AWS_SESSION_TOKEN": answer["SessionToken"],
            }
        return self._credentials[role_arn]

    def _enforce_iam(self, session: Any) -> None:
        events = session._session.get_component("event_emitter")
        for service in ENFORCED_SERVICES:
            events.register(f"before-call.{service}", self._auth_on)
            events.register(f"after-call.{service}", self._auth_off)
            events.register(f"after-call-error.{service}", self._auth_off)

    def _auth_on(self, **_: Any) -> None:
        self._set_auth("0")

    def _auth_off(self, **_: Any) -> None:
        self._set_auth("inf")

    def _set_auth(self, count: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the emulator's loopback URL
            f"{self.emulator.endpoint_url}/moto-api/reset-auth", data=count.encode(),
            method="POST", headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
