"""Pulumi mocks for the component tests: resources are recorded, never sent anywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pulumi
import pytest

from stacks.manifests import Tls


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers every registration with its own inputs and records what was registered."""

    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created.append(args)
        outputs = dict(args.inputs)
        if args.typ == "kubernetes:core/v1:Secret" and "token" in str(args.inputs):
            outputs["data"] = {"token": "dG9rZW4="}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="nidc", stack="unit", preview=False)
    return recording


TLS = Tls(True, "CERT", "KEY", "CA")

TestFunction = TypeVar("TestFunction", bound=Callable[..., Any])


def pulumi_test(test: TestFunction) -> TestFunction:
    """`pulumi.runtime.test` (it awaits the Outputs a test returns), typed for mypy."""
    awaiting: Callable[[TestFunction], TestFunction] = pulumi.runtime.test
    return awaiting(test)


def check_parented(
    component: Any, token: str, mocks: RecordingMocks | None = None, types: tuple[str, ...] = ()
) -> Any:
    """Every child's URN names the component as its parent, and the resource types `types` were
    registered; returns an Output for the test to await."""

    def check(urns: list[str]) -> None:
        assert urns, "the component has no children"
        if mocks is not None:
            registered = {m.typ for m in mocks.created}
            assert set(types) <= registered, set(types) - registered
        for urn in urns:
            parent_chain = urn.split("::")[2]
            assert parent_chain.startswith(token + "$"), urn

    return pulumi.Output.all(*[c.urn for c in component.children.values()]).apply(check)


def client_certificate(organization: str) -> tuple[str, str]:
    """A self-signed client certificate (PEM) whose subject's O is `organization`, and its key:
    what the stack takes as `lineageWriterCertificate` / `lineageWriterPrivateKey`."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "nidc:lineage-writer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


WRITER_CERT, WRITER_KEY = client_certificate("nidc:lineage-writers")
