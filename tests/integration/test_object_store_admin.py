"""The operators' S3 administration against the platform's real MinIO: user lookups."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from nidc.local import operator_access
from operators.object_store import ObjectStoreAdmin
from operators.settings import OperatorSettings

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
    assert not store.user_exists(user)
    store.put_user(user, secrets.token_urlsafe(30), policy)
    try:
        assert store.user_exists(user)
    finally:
        store.remove_user(user)
    assert not store.user_exists(user)
