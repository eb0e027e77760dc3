"""Who is asking the catalog API: a client certificate signed by the platform CA (CN = user,
O = groups, as kube-apiserver reads them) or a Kubernetes bearer token (checked with a real
TokenReview against the API server)."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nidc.catalog.access import Identity

# Answers the question "who is this token?"; None when it does not authenticate.
TokenReviewer = Callable[[str], Awaitable[Identity | None]]


def server_tls(cert: Path, key: Path, ca_file: Path) -> ssl.SSLContext:
    """TLS for the API: our serving certificate; client certificates are asked for and, when
    given, must chain to the platform CA (a bearer token is the other way in)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    context.load_verify_locations(cafile=str(ca_file))
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


def identity_of_certificate(peercert: dict[str, Any] | None) -> Identity | None:
    """CN and O of a verified peer certificate (ssl's decoded form), as kube-apiserver reads
    them: the CN is the user, each O a group."""
    if not peercert:
        return None
    user, groups = None, []
    for rdn in peercert.get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                user = value
            elif name == "organizationName":
                groups.append(value)
    if not user:
        return None
    return Identity(user=user, groups=tuple(groups))


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
