"""The one module that owns the Kubernetes client: connections, reads and server-side apply."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config, dynamic
from kubernetes.dynamic.exceptions import ResourceNotFoundError

FIELD_MANAGER = "nidc"

# Re-exported so that callers type their parameters without importing the client themselves.
ApiClient = client.ApiClient
ApiException = client.exceptions.ApiException


def api_client(kubeconfig: Path, context: str | None = None) -> client.ApiClient:
    """An API client for one kubeconfig context (the current one by default)."""
    api: client.ApiClient = config.new_client_from_config(str(kubeconfig), context=context)
    return api


_DYNAMIC_CLIENTS: dict[int, dynamic.DynamicClient] = {}
_DYNAMIC_LOCK = threading.Lock()


def dynamic_client(api: client.ApiClient) -> dynamic.DynamicClient:
    """One DynamicClient per ApiClient: making one runs API discovery (dozens of requests),
    which under many concurrent reconciles starved the operator's worker threads."""
    with _DYNAMIC_LOCK:
        found = _DYNAMIC_CLIENTS.get(id(api))
        if found is None or found.client is not api:
            found = dynamic.DynamicClient(api)
            _DYNAMIC_CLIENTS[id(api)] = found
        return found


def _resource(api: client.ApiClient, api_version: str, kind: str) -> Any:
    return dynamic_client(api).resources.get(api_version=api_version, kind=kind)


def apply(
    api: client.ApiClient,
    manifest: dict[str, Any],
    field_manager: str = FIELD_MANAGER,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Server-side apply one object (create or adopt, by its name); returns the live object.

    With dry_run the server runs validation and admission (quota, LimitRange, Pod Security,
    service-account checks) and answers the object it would store, storing nothing.
    """
    resource = _resource(api, manifest["apiVersion"], manifest["kind"])
    live = resource.server_side_apply(
        body=manifest,
        name=manifest["metadata"]["name"],
        namespace=manifest["metadata"].get("namespace"),
        field_manager=field_manager,
        force_conflicts=True,
        dry_run="All" if dry_run else None,
    )
    result: dict[str, Any] = live.to_dict()
    return result


def apply_when_served(
    api: client.ApiClient, manifest: dict[str, Any], timeout: float = 30
) -> dict[str, Any]:
    """Apply an object of a just-created CRD, retrying until the API server serves its kind."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return apply(api, manifest, field_manager="nidc-install")
        except (ResourceNotFoundError, client.exceptions.ApiException) as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{manifest['kind']} is not served: {error}") from error
            time.sleep(0.5)


def list_objects(
    api: client.ApiClient,
    api_version: str,
    kind: str,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> list[dict[str, Any]]:
    """Every object of a kind (in a namespace, matching labels), as plain dicts."""
    listing = _resource(api, api_version, kind).get(
        namespace=namespace, label_selector=label_selector
    )
    return [item.to_dict() for item in listing.items]


# Connections the operator's client keeps open: one per worker thread (operators/main.py sizes
# the pool) plus a few. The client's default (5 per core: 10 here) made every request beyond
# the tenth concurrent one open and TLS-handshake a connection that was then thrown away.
CONNECTIONS = int(os.environ.get("NIDC_KUBE_CONNECTIONS", "40"))


def in_cluster_or_kubeconfig() -> client.ApiClient:
    """Inside a pod: its service account; elsewhere: $KUBECONFIG's current context."""
    loaded = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=loaded)
    except config.ConfigException:
        config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), client_configuration=loaded
        )
    loaded.connection_pool_maxsize = CONNECTIONS
    return client.ApiClient(configuration=loaded)


def service_account_token(
    api: client.ApiClient, namespace: str, name: str, seconds: int = 3600
) -> str:
    """A bound token for a service account (TokenRequest API); never log it."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    response = client.CoreV1Api(api).create_namespaced_service_account_token(
        name, namespace, request
    )
    if response.status is None or not response.status.token:
        raise RuntimeError(f"no token issued for service account {namespace}/{name}")
    return str(response.status.token)


def create(api: client.ApiClient, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create one object (for things that are never updated, such as events)."""
    resource = _resource(api, manifest["apiVersion"], manifest["kind"])
    created = resource.create(body=manifest, namespace=manifest["metadata"].get("namespace"))
    result: dict[str, Any] = created.to_dict()
    return result


def create_if_absent(
    api: client.ApiClient, manifest: dict[str, Any], field_manager: str = FIELD_MANAGER
) -> bool:
    """Create an object that is never changed once made; False when one of its name exists
    (the caller adopts it). One request either way, where a read then an apply took two."""
    resource = _resource(api, manifest["apiVersion"], manifest["kind"])
    try:
        resource.create(
            body=manifest,
            namespace=manifest["metadata"].get("namespace"),
            field_manager=field_manager,
        )
    except client.exceptions.ApiException as error:
        if error.status == 409:
            return False
        raise
    return True


def patch_status(api: client.ApiClient, obj: dict[str, Any], status: dict[str, Any]) -> None:
    """Merge-patch an object's status subresource (used to record a decision *before* acting)."""
    resource = _resource(api, obj["apiVersion"], obj["kind"])
    resource.status.patch(
        name=obj["metadata"]["name"],
        namespace=obj["metadata"].get("namespace"),
        body={"status": status},
        content_type="application/merge-patch+json",
    )


def get(
    api: client.ApiClient,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any] | None:
    """One object as a plain dict, or None when it does not exist."""
    try:
        found = _resource(api, api_version, kind).get(
            name=name, namespace=namespace, _request_timeout=timeout
        )
    except client.exceptions.ApiException as error:
        if error.status == 404:
            return None
        raise
    result: dict[str, Any] = found.to_dict()
    return result


def delete_collection(
    api: client.ApiClient,
    api_version: str,
    kind: str,
    namespace: str | None = None,
    label_selector: str | None = None,
) -> None:
    """Delete every object of a kind (in a namespace, matching labels) in one request."""
    # The dynamic client refuses a selector-less delete; metadata.name!= matches everything.
    _resource(api, api_version, kind).delete(
        namespace=namespace, label_selector=label_selector, field_selector="metadata.name!="
    )


def annotate(
    api: client.ApiClient,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None,
    annotations: dict[str, str],
) -> None:
    """Merge-patch annotations onto an object; absent is fine (it may be going away)."""
    try:
        _resource(api, api_version, kind).patch(
            name=name,
            namespace=namespace,
            body={"metadata": {"annotations": annotations}},
            content_type="application/merge-patch+json",
        )
    except client.exceptions.ApiException as error:
        if error.status != 404:
            raise


def delete(
    api: client.ApiClient,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    propagation_policy: str | None = None,
) -> None:
    """Delete one object; absent already is fine.

    propagation_policy "Background" deletes dependents too: a Job deleted through the API
    without it orphans its pods (the API's legacy default for batch/v1 Jobs).
    """
    try:
        _resource(api, api_version, kind).delete(
            name=name, namespace=namespace, propagation_policy=propagation_policy
        )
    except client.exceptions.ApiException as error:
        if error.status != 404:
            raise


def server_metrics(api: client.ApiClient) -> str:
    """The API server's own /metrics (Prometheus text), as an admin may read them."""
    method, url, headers, body, post_params = api.param_serialize(
        method="GET", resource_path="/metrics", auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, headers, body, post_params)
    data: bytes = response.read()
    return data.decode()


def list_served_objects(
    api: client.ApiClient, api_version: str, kind: str
) -> list[dict[str, Any]] | None:
    """Every object of a kind in every namespace, or None while the kind is not served (its CRD
    not installed yet): an index over the resources starts before the operator installs them."""
    try:
        return list_objects(api, api_version, kind)
    except ResourceNotFoundError:
        return None
    except client.exceptions.ApiException as error:
        if error.status == 404:  # the CRD went away after discovery cached it
            return None
        raise


def token_review(api: client.ApiClient, token: str) -> tuple[str, tuple[str, ...]] | None:
    """Ask the API server who a bearer token is (TokenReview): (user, groups), or None when it
    does not authenticate. Never log the token."""
    review = client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
    answer = client.AuthenticationV1Api(api).create_token_review(review)
    status = answer.status
    if status is None or not status.authenticated or status.user is None:
        return None
    return str(status.user.username), tuple(status.user.groups or ())
