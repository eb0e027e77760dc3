"""Our Delta Sharing server, judged by the official client (delta-sharing 1.4.2 in its own
virtual environment, tests/sharing_client.py) and by direct HTTP where the client does not go
(query pages). Real kube-apiserver (DataShares and their status), OpenBao (token records),
MinIO (Delta tables written by delta-rs, pre-signed URLs), the server as the platform runs it.

The DataShares here are written by the test itself, status included, in a namespace of their
own, as the server's contract describes them; the DataShare reconciler (operators/datashare,
tests/integration/test_data_share.py) would rewrite that status (its recipients are no tenants,
its products do not exist), so the session's operator is stopped while this module runs and
started again after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from nidc.api.addressing import share_token_path
from tests.operator_process import OperatorProcess
from tests.sharing_client import Recipient, ensure_client, write_profile

NAMESPACE = "sharing-provider"
BUCKET = "tenant-sharing-provider"
SHARE, OTHER_SHARE = "line-share", "other-share"
MANY_FILES = 1050


@dataclass
class World:
    env: dict[str, Any]
    api: Any
    endpoint: str
    ca: str
    python: Path
    folder: Path
    s3_options: dict[str, str]
    vault: Any

    def table_uri(self, name: str) -> str:
        # Under governed/, as a DataGrant's copy: the server's S3 policy reads governed copies
        # and silver/gold tables only (policies/identities/nidc-sharing-server.yaml).
        return f"s3://{BUCKET}/governed/{name}"

    def token(self, share: str, recipient: str, expires_in: dt.timedelta) -> str:
        """A fresh bearer token and its record, as the DataShare reconciler writes it."""
        token = secrets.token_urlsafe(32)
        expires = (dt.datetime.now(dt.UTC) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.vault.secrets.kv.v2.create_or_update_secret(
            path=share_token_path(hashlib.sha256(token.encode()).hexdigest()),
            secret={
                "namespace": NAMESPACE,
                "share": share,
                "recipient": recipient,
                "expiresAt": expires,
            },
        )
        return token

    def recipient(self, token: str, name: str) -> Recipient:
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        profile = write_profile(self.folder / f"{name}.share", self.endpoint, token, expires)
        return Recipient(self.python, profile, self.ca)

    def http(self, token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.endpoint}{path}",
            headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
            verify=self.ca,
            timeout=60,
            **kwargs,
        )


def shared_table(recipient: str, schema: str, table: str, location: str) -> dict[str, Any]:
    return {
        "recipient": recipient,
        "product": table.replace("_", "-"),
        "schema": schema,
        "table": table,
        "location": location,
        "version": 0,
        "grade": 1,
    }


@pytest.fixture(scope="module")
def operator_paused(operator: OperatorProcess) -> Iterator[None]:
    """The operator stopped for this module (see the module's docstring), started again after."""
    operator.stop()
    yield
    operator.start()


@pytest.fixture(scope="module")
def world(
    platform_env: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, operator_paused: None
) -> Iterator[World]:
    import hvac
    import urllib3
    from deltalake import write_deltalake
    from minio import Minio
    from minio.deleteobjects import DeleteObject

    from nidc.api.crd import build_crd
    from nidc.api.kinds import DATA_SHARE
    from nidc.kube import api_client, apply, apply_when_served, delete, patch_status

    python = ensure_client()  # cold: ~2 min, once per machine (docs/sharing.md)
    ca = platform_env["ca_file"]
    os.environ["SSL_CERT_FILE"] = ca  # delta-rs's TLS to MinIO
    s3 = platform_env["servers"]["minio"]
    root_secret = Path(s3["secret_key_file"]).read_text().strip()
    minio = Minio(
        s3["url"].split("://", 1)[1],
        access_key=s3["access_key"],
        secret_key=root_secret,
        secure=True,
        region="us-east-1",
        http_client=urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca),
    )
    if not minio.bucket_exists(BUCKET):
        minio.make_bucket(BUCKET)
    # A platform kept from an earlier run holds these tables: start them again at version 0.
    leftovers = minio.list_objects(BUCKET, prefix="governed/", recursive=True)
    errors = minio.remove_objects(
        BUCKET, (DeleteObject(o.object_name) for o in leftovers if o.object_name)
    )
    assert not list(errors)
    options = {
        "AWS_ENDPOINT_URL": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": root_secret,
        "AWS_REGION": "us-east-1",
        "AWS_FORCE_PATH_STYLE": "true",
    }
    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"], token=Path(bao["root_token_file"]).read_text().strip(), verify=ca
    )
    world = World(
        platform_env,
        api_client(Path(platform_env["kubeconfig"]), context="platform-admin"),
        platform_env["servers"]["sharing"]["url"],
        ca,
        python,
        tmp_path_factory.mktemp("recipients"),
        options,
        vault,
    )
    # The tables: two commits with the change data feed on; >1,000 files (one per partition);
    # another recipient's table.
    readings = world.table_uri("readings")
    write_deltalake(
        readings,
        pa.table({"id": [1, 2, 3], "line": ["L1", "L2", "L1"], "value": [0.5, 1.5, 2.5]}),
        mode="overwrite",
        configuration={"delta.enableChangeDataFeed": "true"},
        storage_options=options,
    )
    write_deltalake(
        readings,
        pa.table({"id": [4, 5], "line": ["L3", "L2"], "value": [3.5, -1.0]}),
        mode="append",
        storage_options=options,
    )
    write_deltalake(
        world.table_uri("many_files"),
        pa.table(
            {"part": list(range(MANY_FILES)), "reading": [p * 0.25 for p in range(MANY_FILES)]}
        ),
        partition_by=["part"],
        mode="overwrite",
        storage_options=options,
    )
    write_deltalake(
        world.table_uri("costs"),
        pa.table({"item": ["ore", "coke"], "cost": [101.0, 202.0]}),
        mode="overwrite",
        storage_options=options,
    )
    apply(world.api, build_crd(DATA_SHARE), field_manager="nidc-install")
    apply(world.api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    statuses = {
        SHARE: [
            shared_table("buyer-a", "silver", "readings", readings),
            shared_table("buyer-a", "bulk", "many_files", world.table_uri("many_files")),
            shared_table("buyer-b", "finance", "costs", world.table_uri("costs")),
        ],
        OTHER_SHARE: [shared_table("buyer-b", "finance", "costs", world.table_uri("costs"))],
    }
    for name, tables in statuses.items():
        share = apply_when_served(
            world.api,
            {
                "apiVersion": "nidc.io/v1alpha1",
                "kind": "DataShare",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {
                    "recipients": [
                        {"kind": "Tenant", "name": "buyer-a"},
                        {"kind": "Tenant", "name": "buyer-b"},
                    ],
                    "products": [{"name": "readings"}],
                },
            },
        )
        patch_status(world.api, share, {"tables": tables})
    yield world
    # Gone before the operator starts again: it never saw them, so they hold no finalizer.
    for name in statuses:
        delete(world.api, "nidc.io/v1alpha1", "DataShare", name, NAMESPACE)
    world.api.close()


def test_client_lists_shares_schemas_and_tables(world: World) -> None:
    token = world.token(SHARE, "buyer-a", dt.timedelta(hours=1))
    code, answer = world.recipient(token, "a-list").run("list")
    assert code == 0, answer
    assert answer["shares"] == [SHARE]
    assert answer["schemas"] == [[SHARE, "bulk"], [SHARE, "silver"]]
    assert answer["tables"] == [[SHARE, "bulk", "many_files"], [SHARE, "silver", "readings"]]


@pytest.mark.parametrize("response_format", ["auto", "parquet"])
def test_client_loads_exactly_the_served_table(
    world: World, tmp_path: Path, response_format: str
) -> None:
    """`auto`: the client offers both formats and our server answers delta (read by
    delta-kernel-rs); `parquet`: the client's own parquet path."""
    from deltalake import DeltaTable

    token = world.token(SHARE, "buyer-a", dt.timedelta(hours=1))
    out = tmp_path / "readings.parquet"
    code, answer = world.recipient(token, "a-load").run(
        "load", f"{SHARE}.silver.readings", str(out), response_format
    )
    assert code == 0, answer
    loaded = pq.read_table(out)
    served = DeltaTable(world.table_uri("readings"), storage_options=world.s3_options)
    expected = served.to_pyarrow_table()
    assert loaded.column_names == expected.column_names == ["id", "line", "value"]
    assert sorted(loaded.to_pylist(), key=lambda r: r["id"]) == sorted(
        expected.to_pylist(), key=lambda r: r["id"]
    )
    assert loaded.num_rows == 5


def test_change_data_feed_where_the_table_has_it(world: World, tmp_path: Path) -> None:
    token = world.token(SHARE, "buyer-a", dt.timedelta(hours=1))
    out = tmp_path / "changes.parquet"
    recipient = world.recipient(token, "a-changes")
    code, answer = recipient.run("changes", f"{SHARE}.silver.readings", "1", str(out))
    assert code == 0, answer
    changes = pq.read_table(out).to_pylist()
    assert sorted((r["id"], r["_change_type"], r["_commit_version"]) for r in changes) == [
        (4, "insert", 1),
        (5, "insert", 1),
    ]
    refused = world.http(
        token, "GET", f"/shares/{SHARE}/schemas/bulk/tables/many_files/changes?startingVersion=0"
    )
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "FEATURE_NOT_SUPPORTED"


def query_pages(world: World, token: str, max_files: int) -> list[list[dict[str, Any]]]:
    """Every page of a many_files query, following nextPageToken."""
    import json

    pages, body = [], {"maxFiles": max_files}
    while True:
        response = world.http(
            token, "POST", f"/shares/{SHARE}/schemas/bulk/tables/many_files/query", json=body
        )
        assert response.status_code == 200, response.text
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert "protocol" in lines[0] and "metaData" in lines[1]
        assert "endStreamAction" in lines[-1]
        pages.append(lines)
        next_token = lines[-1]["endStreamAction"].get("nextPageToken")
        if not next_token:
            return pages
        body = {"maxFiles": max_files, "pageToken": next_token}


def test_a_table_of_more_than_1000_files_pages(world: World, tmp_path: Path) -> None:
    from deltalake import DeltaTable

    token = world.token(SHARE, "buyer-a", dt.timedelta(hours=1))
    # Lists: one item per page, every item once.
    seen, page_token = [], None
    while True:
        params = {"maxResults": 1, **({"pageToken": page_token} if page_token else {})}
        response = world.http(token, "GET", f"/shares/{SHARE}/all-tables", params=params)
        assert response.status_code == 200, response.text
        seen += [(t["schema"], t["name"]) for t in response.json()["items"]]
        page_token = response.json().get("nextPageToken")
        if not page_token:
            break
    assert seen == [("bulk", "many_files"), ("silver", "readings")]
    # Queries: 400 files a page, 3 pages, each file once, exactly the table's active files.
    pages = query_pages(world, token, 400)
    files = [line["file"] for page in pages for line in page if "file" in line]
    assert [sum(1 for line in page if "file" in line) for page in pages] == [400, 400, 250]
    served = DeltaTable(world.table_uri("many_files"), storage_options=world.s3_options)
    expected = {uri.split(f"{BUCKET}/", 1)[1] for uri in served.file_uris()}
    got = {unquote(f["url"].split(f"/{BUCKET}/", 1)[1].split("?", 1)[0]) for f in files}
    assert len(files) == MANY_FILES and got == expected
    assert len({f["id"] for f in files}) == MANY_FILES
    assert {int(f["partitionValues"]["part"]) for f in files} == set(range(MANY_FILES))
    # A signed URL reads the file, and says when it stops.
    now_ms = time.time() * 1000
    assert now_ms < files[0]["expirationTimestamp"] <= now_ms + 901_000
    assert requests.get(files[0]["url"], verify=world.ca, timeout=30).content[:4] == b"PAR1"
    # The official client loads all of it (its query is one page).
    out = tmp_path / "many.parquet"
    code, answer = world.recipient(token, "a-many").run(
        "load", f"{SHARE}.bulk.many_files", str(out)
    )
    assert code == 0, answer
    rows = pq.read_table(out).to_pylist()
    assert sorted((r["part"], r["reading"]) for r in rows) == [
        (p, p * 0.25) for p in range(MANY_FILES)
    ]


def test_delta_response_format_and_capabilities(world: World) -> None:
    import json

    token = world.token(SHARE, "buyer-a", dt.timedelta(hours=1))
    path = f"/shares/{SHARE}/schemas/silver/tables/readings"
    delta = {"delta-sharing-capabilities": "responseformat=delta"}
    response = world.http(token, "POST", f"{path}/query", json={}, headers=delta)
    assert response.status_code == 200
    assert response.headers["delta-sharing-capabilities"].startswith("responseformat=delta")
    assert response.headers["Delta-Table-Version"] == "1"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["protocol"]["deltaProtocol"]["minReaderVersion"] >= 1
    assert "schemaString" in lines[1]["metaData"]["deltaMetadata"]
    adds = [line["file"]["deltaSingleAction"]["add"] for line in lines[2:]]
    assert len(adds) == 2 and all(a["path"].startswith("https://") for a in adds)
    # Both formats offered (the official client's autoresolve): delta; none: parquet.
    both = {"delta-sharing-capabilities": "responseformat=delta,parquet"}
    metadata = world.http(token, "GET", f"{path}/metadata", headers=both)
    assert metadata.headers["delta-sharing-capabilities"] == "responseformat=delta"
    plain = world.http(token, "GET", f"{path}/metadata")
    assert plain.headers["delta-sharing-capabilities"] == "responseformat=parquet"
    assert json.loads(plain.text.splitlines()[0]) == {"protocol": {"minReaderVersion": 1}}
    # Time travel: version 0 held 3 rows in one file.
    old = world.http(token, "POST", f"{path}/query", json={"version": 0})
    old_lines = [json.loads(line) for line in old.text.splitlines()]
    assert old.headers["Delta-Table-Version"] == "0"
    assert [json.loads(f["file"]["stats"])["numRecords"] for f in old_lines[2:]] == [3]
    version = world.http(token, "GET", f"{path}/version")
    assert version.headers["Delta-Table-Version"] == "1"


def test_expired_token_is_refused(world: World) -> None:
    token = world.token(SHARE, "buyer-a", dt.timedelta(seconds=-1))
    code, answer = world.recipient(token, "a-expired").run("list")
    assert code == 3 and answer["http_status"] == 401, answer
    unknown = world.http(secrets.token_urlsafe(32), "GET", "/shares")
    assert unknown.status_code == 401
    assert unknown.json()["errorCode"] == "UNAUTHENTICATED"


def test_deleted_record_stops_access_within_60_seconds(world: World) -> None:
    token = world.token(SHARE, "buyer-a", dt.timedelta(hours=1))
    assert world.http(token, "GET", "/shares").status_code == 200  # now cached by the server
    world.vault.secrets.kv.v2.delete_metadata_and_all_versions(
        path=share_token_path(hashlib.sha256(token.encode()).hexdigest())
    )
    deleted = time.monotonic()
    while world.http(token, "GET", "/shares").status_code == 200:
        assert time.monotonic() - deleted < 60, "still served 60 s after the record was deleted"
        time.sleep(1)
    code, answer = world.recipient(token, "a-revoked").run("list")
    assert code == 3 and answer["http_status"] == 401, answer


def test_a_token_cannot_read_another_recipients_share(world: World, tmp_path: Path) -> None:
    token_a = world.token(SHARE, "buyer-a", dt.timedelta(hours=1))
    token_b = world.token(SHARE, "buyer-b", dt.timedelta(hours=1))
    code, answer = world.recipient(token_b, "b-list").run("list")
    assert code == 0, answer
    assert answer["tables"] == [[SHARE, "finance", "costs"]]
    # B cannot read A's table in the same share, nor A B's, nor A the other share.
    code, answer = world.recipient(token_b, "b-steal").run(
        "load", f"{SHARE}.silver.readings", str(tmp_path / "x.parquet")
    )
    assert code == 3 and answer["http_status"] == 404, answer
    code, answer = world.recipient(token_a, "a-steal").run(
        "load", f"{SHARE}.finance.costs", str(tmp_path / "y.parquet")
    )
    assert code == 3 and answer["http_status"] == 404, answer
    for path in (f"/shares/{OTHER_SHARE}", f"/shares/{OTHER_SHARE}/all-tables"):
        assert world.http(token_a, "GET", path).status_code == 404
    other = world.http(
        token_a, "POST", f"/shares/{OTHER_SHARE}/schemas/finance/tables/costs/query", json={}
    )
    assert other.status_code == 404
    token_c = world.token(OTHER_SHARE, "buyer-b", dt.timedelta(hours=1))
    assert [s["name"] for s in world.http(token_c, "GET", "/shares").json()["items"]] == [
        OTHER_SHARE
    ]


def test_the_servers_own_s3_login_reads_governed_copies_and_no_raw_table(world: World) -> None:
    """The login the platform gave the server (policies/identities/nidc-sharing-server.yaml, the
    document the stacks provision too) reads what a share serves and nothing of bronze."""
    import urllib3
    from minio import Minio
    from minio.error import S3Error

    from nidc.local.root_clients import root_minio
    from nidc.local.servers.sharing import S3_SECRET, S3_USER
    from nidc.local.state import PlatformState

    s3 = world.env["servers"]["minio"]
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=world.ca)
    endpoint = s3["url"].split("://", 1)[1]

    def client(access: str, secret: str) -> Minio:
        return Minio(endpoint, access, secret, secure=True, region="us-east-1", http_client=http)

    root = root_minio(world.env)
    root.put_object(BUCKET, "bronze/raw_readings/part-0.parquet", io.BytesIO(b"raw"), 3)
    key = PlatformState(Path(world.env["state_dir"])).read_secret(S3_SECRET)
    server = client(S3_USER, key)
    served = [
        o.object_name for o in server.list_objects(BUCKET, prefix="governed/", recursive=True)
    ]
    assert served, "the server lists nothing of the governed copies"
    server.stat_object(BUCKET, str(served[0]))
    for attempt in (
        lambda: server.stat_object(BUCKET, "bronze/raw_readings/part-0.parquet"),
        lambda: list(server.list_objects(BUCKET, prefix="bronze/")),
        lambda: server.put_object(BUCKET, "governed/planted", io.BytesIO(b"x"), 1),
    ):
        with pytest.raises(S3Error) as refused:
            attempt()
        assert refused.value.code in ("AccessDenied", "Forbidden"), refused.value.code
    root.remove_object(BUCKET, "bronze/raw_readings/part-0.parquet")
