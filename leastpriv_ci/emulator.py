"""A local AWS emulator (moto's server mode) on a free loopback port.

Used by the demo staging and by the tests: boto3 talks to it over real HTTP. It never
reaches real AWS: the endpoint is forced to 127.0.0.1 and the credentials are dummies.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from leastpriv_ci.errors import UserError

DUMMY_ACCOUNT = "123456789012"  # moto's default account
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}


@dataclass(frozen=True)
class Emulator:
    """A running emulator: where it listens and how to make clients for it."""

    endpoint_url: str
    region: str = "us-east-1"
    account: str = DUMMY_ACCOUNT

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` bound to the emulator."""
        import boto3

        session = boto3.session.Session(region_name=self.region, **DUMMY_CREDENTIALS)
        return session.client(service, endpoint_url=self.endpoint_url, **kwargs)

    def reset(self) -> None:
        """Drop every resource the emulator holds (moto's reset endpoint)."""
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - loopback URL built above
            f"{self.endpoint_url}/moto-api/reset", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


@contextmanager
def running_emulator(
    region: str = "us-east-1", port: int = 0, *, managed_policies: bool = False
) -> Iterator[Emulator]:
    """Start moto's server on 127.0.0.1 (a free port unless ``port`` is given); stop it after.

    ``managed_policies`` makes the emulator's IAM know AWS managed policies (slower resets).
    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise UserError(
            "the local AWS emulator needs the demo extra: pip install 'leastpriv-ci[demo]'"
        ) from None
    # Dummy credentials so that nothing in this process can sign for a real account.
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    if managed_policies:
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if port:
        _check_port_free(port)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    try:
        yield Emulator(endpoint_url=f"http://{host}:{bound}", region=region)
    finally:
        server.stop()


def _check_port_free(port: int) -> None:
    """Fail clearly when the port is taken (moto's server thread would otherwise hang)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UserError(
                f"cannot bind 127.0.0.1:{port} for the local AWS emulator ({exc.strerror}); "
                "free the port or choose another with --port"
            ) from None
