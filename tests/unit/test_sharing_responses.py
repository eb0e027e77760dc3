"""Building the sharing server's answers (pure): formats, lines, tokens' records, share views."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from nidc.api.data_share import ShareTokenRecord
from nidc.sharing import responses
from nidc.sharing.delta_log import Snapshot
from nidc.sharing.errors import InvalidParameterError, NotFoundError, UnauthenticatedError
from nidc.sharing.presign import SignedUrl
from nidc.sharing.registry import build_share_view
from nidc.sharing.tokens import TokenAuthority, bearer_token, check_record, token_sha256

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


def snapshot(protocol: dict[str, object] | None = None) -> Snapshot:
    add = {
        "path": "p%3D1/a.parquet",
        "size": 10,
        "partitionValues": {"p": "1"},
        "stats": '{"numRecords":3}',
        "dataChange": True,
    }
    return Snapshot(
        4,
        protocol or {"minReaderVersion": 1, "minWriterVersion": 2},
        {
            "id": "t1",
            "format": {"provider": "parquet"},
            "schemaString": "{}",
            "partitionColumns": ["p"],
            "configuration": {},
        },
        {("p%3D1/a.parquet", None): add},
        timestamp_ms=1000,
    )


def sign(path: str) -> SignedUrl:
    return SignedUrl(f"https://s3/b/{path}?X-Amz-Signature=x", 5000)


def test_capabilities_header() -> None:
    parsed = responses.Capabilities.parse(
        "responseFormat=Delta,parquet;readerFeatures=deletionVectors;includeEndStreamAction=true"
    )
    assert parsed.response_formats == ("delta", "parquet")
    assert parsed.reader_features == ("deletionvectors",)
    assert parsed.include_end_stream
    assert responses.Capabilities.parse(None).response_formats == ("parquet",)
    with pytest.raises(InvalidParameterError, match="csv"):
        responses.Capabilities.parse("responseformat=csv")


def test_format_choice_follows_the_protocol() -> None:
    both = responses.Capabilities(("delta", "parquet"))
    assert responses.choose_format(both, snapshot()) == "delta"
    advanced = snapshot({"minReaderVersion": 3, "readerFeatures": ["deletionVectors"]})
    assert responses.choose_format(both, advanced) == "delta"
    assert responses.choose_format(responses.Capabilities(("delta",)), snapshot()) == "delta"
    headers = responses.response_headers(4, "delta", end_stream=True)
    assert headers == {
        "Delta-Table-Version": "4",
        "delta-sharing-capabilities": "responseformat=delta;includeendstreamaction=true",
    }


def test_parquet_format_lines() -> None:
    snap = snapshot()
    assert responses.protocol_line(snap, "parquet") == {"protocol": {"minReaderVersion": 1}}
    metadata = responses.metadata_line(snap, "parquet", with_version=True)["metaData"]
    assert metadata["partitionColumns"] == ["p"] and metadata["version"] == 4
    assert metadata["numFiles"] == 1 and metadata["size"] == 10
    file = responses.file_line(snap.active_files()[0], sign, "parquet")["file"]
    assert file["url"].startswith("https://s3/b/p%3D1/a.parquet?")
    assert file["partitionValues"] == {"p": "1"} and file["expirationTimestamp"] == 5000
    assert "version" not in file
    again = responses.file_line(snap.active_files()[0], sign, "parquet")["file"]
    assert again["id"] == file["id"]  # the same file, the same id


def test_delta_format_lines_wrap_the_actions() -> None:
    snap = snapshot()
    assert (
        responses.protocol_line(snap, "delta")["protocol"]["deltaProtocol"]["minWriterVersion"] == 2
    )
    assert responses.metadata_line(snap, "delta", False)["metaData"]["deltaMetadata"]["id"] == "t1"
    file = responses.file_line(snap.active_files()[0], sign, "delta", 4, 1000)["file"]
    action = file["deltaSingleAction"]["add"]
    assert action["path"].startswith("https://") and action["stats"] == '{"numRecords":3}'
    assert file["version"] == 4 and file["timestamp"] == 1000


def test_change_lines_prefer_cdc_files() -> None:
    cdc = [
        {"cdc": {"path": "_change_data/c.parquet", "size": 3, "partitionValues": {}}},
        {"add": {"path": "a.parquet", "size": 4, "dataChange": True}},
    ]
    lines = responses.change_lines(2, 1000, cdc, sign, "parquet")
    assert [next(iter(line)) for line in lines] == ["cdf"]
    plain = [
        {"add": {"path": "a", "size": 4}},
        {"remove": {"path": "b", "dataChange": True}},
        {"add": {"path": "c", "size": 1, "dataChange": False}},
    ]
    kinds = [next(iter(line)) for line in responses.change_lines(2, 1000, plain, sign, "parquet")]
    assert kinds == ["add", "remove"]


def test_end_stream_and_errors() -> None:
    assert responses.end_stream_line("t", 9) == {
        "endStreamAction": {"nextPageToken": "t", "minUrlExpirationTimestamp": 9}
    }
    assert json.loads(responses.line(responses.error_body("X", "y"))) == {
        "errorCode": "X",
        "message": "y",
    }


def record(expires: str, recipient: str = "buyer-a") -> ShareTokenRecord:
    return ShareTokenRecord.model_validate(
        {"namespace": "ns", "share": "s", "recipient": recipient, "expiresAt": expires}
    )


def test_token_records_expire_and_headers_must_be_bearer() -> None:
    assert check_record(record("2026-11-30T10:00:01Z"), NOW).share == "s"
    with pytest.raises(UnauthenticatedError, match="expired"):
        check_record(record("2026-11-30T10:00:00Z"), NOW)
    with pytest.raises(UnauthenticatedError):
        check_record(record("soon"), NOW)
    assert bearer_token("Bearer abc") == "abc"
    for header in (None, "", "Basic abc", "Bearer "):
        with pytest.raises(UnauthenticatedError):
            bearer_token(header)
    assert token_sha256("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_token_cache_keeps_a_record_for_its_time_only() -> None:
    store = {token_sha256("t"): record("2027-01-01T00:00:00Z")}
    reads: list[str] = []
    clock = [0.0]

    async def read(digest: str) -> ShareTokenRecord | None:
        reads.append(digest)
        return store.get(digest)

    authority = TokenAuthority(read, cache_seconds=15, monotonic=lambda: clock[0])

    async def scenario() -> None:
        await authority.authenticate("Bearer t", NOW)
        await authority.authenticate("Bearer t", NOW)
        assert len(reads) == 1
        store.clear()  # the record is deleted: served from the cache until it lapses
        clock[0] = 14.0
        await authority.authenticate("Bearer t", NOW)
        clock[0] = 15.5
        with pytest.raises(UnauthenticatedError):
            await authority.authenticate("Bearer t", NOW)
        with pytest.raises(UnauthenticatedError):
            await authority.authenticate("Bearer unknown", NOW)

    # A loop of its own, never made current: asyncio.run would leave the main thread without
    # one, and the Pulumi mock tests that run later in the same session ask for it.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()


def test_a_share_view_holds_only_its_recipients_tables() -> None:
    entry = {
        "recipient": "buyer-a",
        "product": "p",
        "schema": "silver",
        "table": "t",
        "location": "s3://tenant-x/silver/t",
    }
    share = {
        "metadata": {"name": "s", "uid": "u1"},
        "status": {
            "tables": [
                entry,
                {**entry, "recipient": "buyer-b", "table": "secret"},
                {"recipient": "buyer-a", "broken": True},
            ]
        },
    }
    view = build_share_view(share, "buyer-a")
    assert view is not None
    assert [t.table for t in view.tables] == ["t"] and view.id == "u1"
    assert view.table("SILVER", "T").location == "s3://tenant-x/silver/t"
    with pytest.raises(NotFoundError):
        view.table("silver", "secret")
    assert build_share_view(None, "buyer-a") is None
