"""The operators' S3 administration against the platform's real MinIO: user lookups, watched
through the server's own request trace (tests/minio_trace.py)."""

from __future__ import annotations

import concurrent.futures
import secrets
import threading
import time
import uuid
from typing import Any

import pytest

from nidc.local import operator_access
from operators.clients.object_store import ObjectStoreAdmin
from operators.clients.settings import OperatorSettings
from tests.minio_trace import watch_requests

pytestmark = pytest.mark.integration


def test_user_exists_answers_for_one_user_without_listing_all(
    platform_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in operator_access.prepare(platform_env).items():
        monkeypatch.setenv(key, value)
    store = ObjectStoreAdmin(OperatorSettings.from_env())
    user = f"probe-{uuid.uuid4().hex[:8]}"
    policy = f"{user}-policy"
    store.put_policy(
        policy,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::x/*"]}
            ],
        },
    )
    with watch_requests(platform_env) as watch:
        # The trace is live once a lookup of ours shows in it.
        deadline = time.monotonic() + 30
        while "admin.GetUserInfo" not in watch.seen():
            store.user_exists(user)
            assert time.monotonic() < deadline, f"no trace of our lookups: {watch.seen()}"
            time.sleep(0.2)
        since = len(watch.seen())
        assert not store.user_exists(user)
        store.put_user(user, secrets.token_urlsafe(30), policy)
        try:
            assert store.user_exists(user)
        finally:
            store.remove_user(user)
        assert not store.user_exists(user)
        watch.wait_for("admin.RemoveUser", since)
        watch.wait_for("admin.GetUserInfo", watch.seen().index("admin.RemoveUser", since))
        calls = watch.seen()[since:]
    # The server answered each lookup with one user's record: it never listed all users.
    assert calls.count("admin.GetUserInfo") >= 3, calls
    assert "admin.ListUsers" not in calls, calls


def test_two_replicas_ensuring_one_bucket_at_once_both_succeed(
    platform_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Create-or-adopt under a race: during a rollout's handover two replicas may reconcile
    one new Tenant together; both see no bucket and both create it. Neither may fail."""
    for key, value in operator_access.prepare(platform_env).items():
        monkeypatch.setenv(key, value)
    replicas = [ObjectStoreAdmin(OperatorSettings.from_env()) for _ in range(2)]
    buckets = [f"race-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    try:
        for bucket in buckets:
            together = threading.Barrier(len(replicas))
            with concurrent.futures.ThreadPoolExecutor(len(replicas)) as pool:
                calls = [pool.submit(ensure_at, together, store, bucket) for store in replicas]
                for done in calls:
                    done.result()  # re-raises a replica's failure
            assert replicas[0].s3.bucket_exists(bucket)
            encryption = replicas[0].s3.get_bucket_encryption(bucket)
            assert encryption is not None and encryption.rule.sse_algorithm == "AES256"
    finally:
        for bucket in buckets:
            replicas[0].remove_bucket(bucket)


def ensure_at(together: threading.Barrier, store: ObjectStoreAdmin, bucket: str) -> None:
    together.wait()
    store.ensure_bucket(bucket)
