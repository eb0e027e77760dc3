"""DataShares and ExportApprovals on real servers (issue 15, must-show 2; the DataShare
reconciler's tokens in OpenBao).

1. A grade-3 share to another region is refused with a condition naming the bundle's rule, and
   nothing is written to OpenBao.
2. A grade-2 share to another tenant is refused without an ExportApproval and Ready with one:
   the token's record at sharing/tokens/<sha256>, the profile at the recipient's path, read
   with the recipient tenant's own OpenBao policy (its service account's login); the token is
   in no status, event or operator log line. A record lost between profile and record (a
   crash) is written again for the same token; the older profile version of a rotation cut
   short has its record deleted and is destroyed.
3. Removing a recipient revokes its token; deleting the share revokes the rest.
4. An approval expiring 20 s ahead ends the share within 60 s of its expiry (records gone,
   Ready False ExportApprovalExpired); the approval's status says Expired and who used it.

No Spark: the products' inputs do not exist, so they are graded (their declared grade) and never
run, and each grant's governed copy is stood in for by patching `copiedVersion` into the grant's
status; the grant reconciler never writes that field while it has made no copy, so the patch
stays. What this file checks is the share's governance and its tokens; the data a recipient
reads through the sharing server is the lead's end-to-end check with the official client.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidPath

from nidc.kube import (
    annotate,
    apply,
    delete,
    get,
    list_objects,
    patch_status,
    service_account_token,
)
from tests.cluster import condition
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

API = "nidc.io/v1alpha1"
OWNER, RECIPIENT = "steel-plant", "share-recipient"
READER = "share-reader"
# No sharing server on the local platform yet (the sharing branch adds it to `nidc local env`):
# the operator is given a fixed endpoint, which only ends up inside the profiles.
ENDPOINT = "https://127.0.0.1:9/delta-sharing/"
CORE, IMPORTANT, BRIEF = "share-core", "share-important", "share-brief"
PERSON = {"name": "Wang Li", "email": "wang.li@steel.example.cn"}


# ---- helpers -------------------------------------------------------------------------------
def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(every)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def root_openbao(env: dict[str, Any]) -> hvac.Client:
    bao = env["servers"]["openbao"]
    return hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=env["ca_file"],
    )


def kv(bao: hvac.Client, path: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = bao.secrets.kv.v2.read_secret_version(
            path=path, raise_on_deleted_version=True
        )["data"]["data"]
    except InvalidPath:
        return None
    return data


def held_kv(bao: hvac.Client, path: str) -> dict[str, Any]:
    data = kv(bao, path)
    assert data is not None, f"nothing at {path} in OpenBao"
    return data


def record_of(token: str) -> str:
    return f"sharing/tokens/{hashlib.sha256(token.encode()).hexdigest()}"


def share_body(
    name: str, products: list[str], recipients: list[dict[str, str]], **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "DataShare",
        "metadata": {"name": name, "namespace": OWNER},
        "spec": {
            "recipients": recipients,
            "products": [{"name": p} for p in products],
            "tokenTTL": "1h",
            **spec,
        },
    }


def approval_body(name: str, product: str, expires: dt.datetime) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ExportApproval",
        "metadata": {"name": name, "namespace": OWNER},
        "spec": {
            "approver": {"name": "Zhao Min", "email": "zhao.min@steel.example.cn"},
            "products": [product],
            "maxGrade": 2,
            "destination": RECIPIENT,
            "evidence": "data security board minutes 2026-11-30, item 4",
            "expiresAt": rfc3339(expires),
        },
    }


def grant_with_copy(api: Any, name: str, product: str, grantee: str, approval: str | None) -> None:
    """A grant, and its governed copy stood in for (module docstring)."""
    spec: dict[str, Any] = {
        "grantee": {"kind": "Tenant", "name": grantee},
        "product": {"name": product},
        "purpose": "maintenance planning across the two companies",
        "expiresAt": rfc3339(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)),
    }
    if approval:
        spec["exportApproval"] = {"name": approval}
    body = {"apiVersion": API, "kind": "DataGrant", "metadata": {"name": name, "namespace": OWNER}}
    apply(api, {**body, "spec": spec})
    wait_for(lambda: (get(api, API, "DataGrant", name, OWNER) or {}).get("status"), 30, name)
    patch_status(api, body, {"copiedVersion": 1})


def share(api: Any, name: str) -> dict[str, Any]:
    return get(api, API, "DataShare", name, OWNER) or {}


def ready_reason(api: Any, name: str, reason: str, timeout: float = 30) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        lambda: (s := share(api, name)) and condition(s, "Ready").get("reason") == reason and s,
        timeout,
        f"DataShare {name} Ready reason {reason} (now {condition(share(api, name), 'Ready')})",
    )
    return found


def recipient_login(api: Any, env: dict[str, Any]) -> hvac.Client:
    """OpenBao as the recipient tenant's workload: its own service-account token and role."""
    jwt = service_account_token(api, RECIPIENT, READER, seconds=600)
    bao = hvac.Client(url=env["servers"]["openbao"]["url"], verify=env["ca_file"])
    bao.auth.kubernetes.login(role=f"tenant-{RECIPIENT}", jwt=jwt)
    return bao


# ---- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sharing_operator(operator: OperatorProcess) -> Iterator[OperatorProcess]:
    """The session's operator with a sharing endpoint; given back as it was afterwards."""
    if operator.prepared().get("NIDC_SHARING_ENDPOINT"):
        yield operator
        return
    operator.stop()
    operator.start(extra_env={"NIDC_SHARING_ENDPOINT": ENDPOINT})
    yield operator
    operator.stop()
    operator.start()


@pytest.fixture(scope="module")
def world(tenants: Any, sharing_operator: OperatorProcess) -> Iterator[Any]:
    """A third tenant (clearance 2, region east) as the recipient, with a service account of its
    own, and three graded products of steel-plant that never run."""
    apply(
        tenants,
        {
            "apiVersion": API,
            "kind": "Tenant",
            "metadata": {"name": RECIPIENT},
            "spec": {
                "displayName": "Share recipient",
                "owner": {"name": "Sun Hao", "email": "sun.hao@example.cn"},
                "region": "east",
                "clearance": 2,
                "deletionPolicy": "Delete",
            },
        },
    )
    wait_for(
        lambda: (
            condition(get(tenants, API, "Tenant", RECIPIENT) or {}, "Ready").get("status") == "True"
        ),
        90,
        f"Tenant {RECIPIENT} Ready",
    )
    apply(
        tenants,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": READER, "namespace": RECIPIENT},
        },
    )
    for name, grade in ((CORE, 3), (IMPORTANT, 2), (BRIEF, 2)):
        apply(
            tenants,
            {
                "apiVersion": API,
                "kind": "DataProduct",
                "metadata": {"name": name, "namespace": OWNER},
                "spec": {
                    "inputs": [{"kind": "DataSource", "name": "no-such-source"}],
                    "transform": {"sql": "SELECT 1 AS one FROM no_such_source"},
                    "owner": PERSON,
                    "grade": grade,
                    "targetTable": f"silver.{name.replace('-', '_')}",
                },
            },
        )

    def graded(name: str) -> Any:
        return (get(tenants, API, "DataProduct", name, OWNER) or {}).get("status", {}).get("grade")

    for name in (CORE, IMPORTANT, BRIEF):
        wait_for(partial(graded, name), 30, f"{name} graded")
    yield tenants
    for kind, name in (
        ("DataShare", "core-to-west"),
        ("DataShare", "important-to-recipient"),
        ("DataShare", "brief-to-recipient"),
        ("DataGrant", "recipient-reads-important"),
        ("DataGrant", "owner-reads-important"),
        ("DataGrant", "recipient-reads-brief"),
        ("ExportApproval", "important-to-recipient"),
        ("ExportApproval", "brief-to-recipient"),
        ("DataProduct", CORE),
        ("DataProduct", IMPORTANT),
        ("DataProduct", BRIEF),
    ):
        delete(tenants, API, kind, name, OWNER)
    delete(tenants, API, "Tenant", RECIPIENT)


# ---- tests ---------------------------------------------------------------------------------
def test_grade3_share_to_another_region_is_refused(
    world: Any, platform_env: dict[str, Any]
) -> None:
    apply(world, share_body("core-to-west", [CORE], [{"kind": "Region", "name": "west"}]))
    found = ready_reason(world, "core-to-west", "CoreDataStaysInRegion")
    message = condition(found, "Ready")["message"]
    assert "grades.3.sharing.leavesRegion is false" in message, message
    assert condition(found, "Degraded")["status"] == "True"
    assert found["status"]["tables"] == []
    assert found["status"]["recipients"] == [{"kind": "Region", "name": "west"}]
    assert kv(root_openbao(platform_env), "regions/west/shares/steel-plant/core-to-west") is None


def test_grade2_share_refused_without_approval_served_with_one(
    world: Any, platform_env: dict[str, Any], sharing_operator: OperatorProcess
) -> None:
    name, profile_path = (
        "important-to-recipient",
        f"tenants/{RECIPIENT}/shares/{OWNER}/important-to-recipient",
    )
    bao = root_openbao(platform_env)
    # The approval exists (the grant needs it too); the share does not name it yet.
    approval_ends = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=30)
    apply(world, approval_body(name, IMPORTANT, approval_ends))
    grant_with_copy(world, "recipient-reads-important", IMPORTANT, RECIPIENT, name)
    apply(world, share_body(name, [IMPORTANT], [{"kind": "Tenant", "name": RECIPIENT}]))
    refused = ready_reason(world, name, "ExportApprovalRequired")
    assert "names no ExportApproval" in condition(refused, "Ready")["message"]
    assert kv(bao, profile_path) is None

    apply(
        world,
        share_body(
            name,
            [IMPORTANT],
            [{"kind": "Tenant", "name": RECIPIENT}],
            exportApproval={"name": name},
        ),
    )
    served = ready_reason(world, name, "Shared")
    [entry] = served["status"]["recipients"]
    assert entry["profilePath"] == profile_path
    # The 1 h token is capped at the approval's end.
    assert entry["expiresAt"] == rfc3339(approval_ends)
    [table] = served["status"]["tables"]
    assert table == {
        "recipient": RECIPIENT,
        "product": IMPORTANT,
        "schema": OWNER,
        "table": IMPORTANT,
        "location": "s3://tenant-steel-plant/governed/recipient-reads-important",
        "version": 1,
        "grade": 2,
    }

    # The recipient reads its profile with its own policy; the record is where the server looks.
    reader = recipient_login(world, platform_env)
    profile = kv(reader, profile_path)
    assert profile is not None
    # ... but cannot rewrite it (to stretch its token's life or plant a token of its own).
    with pytest.raises(Forbidden):
        reader.secrets.kv.v2.create_or_update_secret(
            path=profile_path, secret={**profile, "expirationTime": "2099-01-01T00:00:00Z"}
        )
    assert set(profile) == {"shareCredentialsVersion", "endpoint", "bearerToken", "expirationTime"}
    assert profile["shareCredentialsVersion"] == 1
    assert profile["endpoint"] == (
        sharing_operator.prepared().get("NIDC_SHARING_ENDPOINT") or ENDPOINT
    )
    assert profile["expirationTime"] == rfc3339(approval_ends)
    token = profile["bearerToken"]
    assert kv(bao, record_of(token)) == {
        "namespace": OWNER,
        "share": name,
        "recipient": RECIPIENT,
        "expiresAt": rfc3339(approval_ends),
    }
    # ... and the token is nowhere else.
    events = list_objects(world, "v1", "Event", OWNER)
    assert token not in str(share(world, name)) and token not in str(events)
    assert token not in sharing_operator.log.read_text()

    # Crash between profile and record: the record is written again, for the same token.
    bao.secrets.kv.v2.delete_metadata_and_all_versions(path=record_of(token))
    annotate(world, API, "DataShare", name, OWNER, {"test.nidc.io/poke": "1"})
    wait_for(lambda: kv(bao, record_of(token)), 60, "the record written again")
    assert held_kv(bao, profile_path)["bearerToken"] == token

    # A rotation cut short after the new profile and record: the old record goes, the old
    # version is destroyed, the new token stays.
    newer = "rotated-" + hashlib.sha256(token.encode()).hexdigest()
    bao.secrets.kv.v2.create_or_update_secret(
        path=profile_path, secret={**profile, "bearerToken": newer}
    )
    bao.secrets.kv.v2.create_or_update_secret(
        path=record_of(newer), secret=kv(bao, record_of(token))
    )
    annotate(world, API, "DataShare", name, OWNER, {"test.nidc.io/poke": "2"})
    wait_for(lambda: kv(bao, record_of(token)) is None, 60, "the old record deleted")
    assert kv(bao, record_of(newer)) is not None
    versions = bao.secrets.kv.v2.read_secret_metadata(path=profile_path)["data"]["versions"]
    current = max(versions, key=int)
    assert all(v["destroyed"] for n, v in versions.items() if n != current), versions

    def used_by() -> list[dict[str, str]]:
        approval = get(world, API, "ExportApproval", name, OWNER) or {}
        users: list[dict[str, str]] = approval.get("status", {}).get("usedBy") or []
        return users if {"kind": "DataShare", "name": name} in users else []

    used = wait_for(used_by, 70, "the share in the approval's usedBy")
    assert {"kind": "DataShare", "name": name} in used
    assert {"kind": "DataGrant", "name": "recipient-reads-important"} in used


def test_removing_a_recipient_revokes_its_token_and_deleting_revokes_all(
    world: Any, platform_env: dict[str, Any]
) -> None:
    name = "important-to-recipient"
    bao = root_openbao(platform_env)
    recipient_path = f"tenants/{RECIPIENT}/shares/{OWNER}/{name}"
    owner_path = f"tenants/{OWNER}/shares/{OWNER}/{name}"
    grant_with_copy(world, "owner-reads-important", IMPORTANT, OWNER, None)
    both = [{"kind": "Tenant", "name": RECIPIENT}, {"kind": "Tenant", "name": OWNER}]
    apply(world, share_body(name, [IMPORTANT], both, exportApproval={"name": name}))
    wait_for(
        lambda: (
            len([r for r in share(world, name)["status"]["recipients"] if r.get("profilePath")])
            == 2
        ),
        30,
        "two recipients served",
    )
    recipient_token = held_kv(bao, recipient_path)["bearerToken"]
    owner_token = held_kv(bao, owner_path)["bearerToken"]
    assert kv(bao, record_of(recipient_token)) and kv(bao, record_of(owner_token))

    apply(
        world,
        share_body(
            name, [IMPORTANT], [{"kind": "Tenant", "name": OWNER}], exportApproval={"name": name}
        ),
    )
    wait_for(
        lambda: kv(bao, record_of(recipient_token)) is None, 30, "the removed recipient revoked"
    )
    assert kv(bao, recipient_path) is None
    assert kv(bao, record_of(owner_token)) is not None
    # The status follows the revocation in the same pass.
    wait_for(
        lambda: [t["recipient"] for t in share(world, name)["status"]["tables"]] == [OWNER],
        10,
        "only the owner's table listed",
    )

    delete(world, API, "DataShare", name, OWNER)
    wait_for(lambda: kv(bao, record_of(owner_token)) is None, 30, "revoked on delete")
    assert kv(bao, owner_path) is None
    wait_for(lambda: not share(world, name), 30, "the share gone after its finalizer")

    # Each vend, refusal and revocation is in the audit log, without the tokens.
    shown = subprocess.run(
        [
            str(Path(sys.executable).parent / "nidc"),
            "audit",
            "show",
            "--json",
            "--resource",
            f"DataShare/{OWNER}/{name}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    actions = {(r["action"], r["details"].get("recipient")) for r in json.loads(shown)}
    for wanted in (
        ("share.decision", f"Tenant/{RECIPIENT}"),
        ("share.token.vended", f"Tenant/{RECIPIENT}"),
        ("share.token.revoked", f"Tenant/{RECIPIENT}"),
        ("share.token.vended", f"Tenant/{OWNER}"),
        ("share.token.revoked", f"Tenant/{OWNER}"),
    ):
        assert wanted in actions, (wanted, sorted(actions))
    assert recipient_token not in shown and owner_token not in shown


def test_an_expiring_approval_ends_the_share_within_60s(
    world: Any, platform_env: dict[str, Any]
) -> None:
    name = "brief-to-recipient"
    bao = root_openbao(platform_env)
    ends = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=20)
    apply(world, approval_body(name, BRIEF, ends))
    grant_with_copy(world, "recipient-reads-brief", BRIEF, RECIPIENT, name)
    apply(
        world,
        share_body(
            name, [BRIEF], [{"kind": "Tenant", "name": RECIPIENT}], exportApproval={"name": name}
        ),
    )
    ready_reason(world, name, "Shared", timeout=15)
    token = held_kv(bao, f"tenants/{RECIPIENT}/shares/{OWNER}/{name}")["bearerToken"]
    assert held_kv(bao, record_of(token))["expiresAt"] == rfc3339(ends)

    ended = ready_reason(world, name, "ExportApprovalExpired", timeout=20 + 60 + 5)
    after = (dt.datetime.now(dt.UTC) - ends).total_seconds()
    print(f"the share ended {after:.1f} s after its approval expired")
    assert after <= 60, f"the share ended {after:.0f} s after the approval"
    assert kv(bao, record_of(token)) is None
    assert kv(bao, f"tenants/{RECIPIENT}/shares/{OWNER}/{name}") is None
    assert condition(ended, "Degraded")["status"] == "True"
    assert "expired" in condition(ended, "Ready")["message"]
    assert ended["status"]["tables"] == []

    approval = wait_for(
        lambda: (
            (a := get(world, API, "ExportApproval", name, OWNER) or {})
            and condition(a, "Ready").get("reason") == "Expired"
            and a
        ),
        60,
        "the approval Expired",
    )
    assert approval["status"]["valid"] is False
    assert {"kind": "DataShare", "name": name} in approval["status"]["usedBy"]
