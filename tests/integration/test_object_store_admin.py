"""The operators' S3 administration against the platform's real MinIO: user lookups, watched
through the server's own request trace (tests/minio_trace.py)."""

from __future__ import annotations

import secrets
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
