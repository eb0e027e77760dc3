"""What the tenants provide in a real center, provided by the demo the same way (I/O).

A real factory stores its device logins and its MES reader's password in OpenBao under its own
prefix, and its ERP and field-service systems drop export files in its bucket. The demo does the
same, through the same paths the example's resources name, and says what it wrote (never the
values).
"""

from __future__ import annotations

import io
import secrets
from typing import Any

import hvac

from nidc.api.addressing import KV_MOUNT, files_landing_path
from nidc.demo.factory import erp_orders_csv, service_reports_json
from nidc.local.root_clients import root_minio, root_openbao

KV_DATA = f"{KV_MOUNT}/data/"


def credential_paths(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(source type, KV path under the mount) of every DataSource's credentials (pure)."""
    paths = []
    for doc in docs:
        path = (doc.get("spec", {}).get("credentials") or {}).get("openBaoPath")
        if doc["kind"] == "DataSource" and path:
            paths.append((doc["spec"]["type"], path.removeprefix(KV_DATA)))
    return paths


def provide_logins(
    env: dict[str, Any], docs: list[dict[str, Any]], floor: dict[str, Any]
) -> list[str]:
    """Device logins and the MES reader's password in OpenBao; the paths written.

    The simulated devices accept any login; a real gateway would check it. A login already there
    is kept (a second demo run changes nothing).
    """
    client = root_openbao(env)
    written = []
    for kind, path in credential_paths(docs):
        if kind == "jdbc":
            secret = dict(floor["mesReader"])
        else:
            try:
                client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=KV_MOUNT, raise_on_deleted_version=True
                )
                continue
            except hvac.exceptions.InvalidPath:
                secret = {"username": f"nidc-{kind}", "password": secrets.token_urlsafe(18)}
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=secret, mount_point=KV_MOUNT)
        written.append(f"{KV_MOUNT}/{path}")
    return written


def drop_files(env: dict[str, Any], docs: list[dict[str, Any]]) -> list[str]:
    """One export file in each files source's drop folder; the object URLs written."""
    store = root_minio(env)
    written = []
    for doc in docs:
        spec = doc.get("spec", {})
        if doc["kind"] != "DataSource" or spec.get("type") != "files":
            continue
        fmt = spec["files"]["format"]
        body = erp_orders_csv() if fmt == "csv" else service_reports_json()
        url = files_landing_path(doc["metadata"]["namespace"], spec["files"]["prefix"])
        bucket, _, prefix = url.removeprefix("s3a://").partition("/")
        key = f"{prefix}export-0001.{fmt}"
        if not any(True for _ in store.list_objects(bucket, prefix=key)):
            store.put_object(bucket, key, io.BytesIO(body), len(body))
        written.append(f"s3://{bucket}/{key}")
    return written
