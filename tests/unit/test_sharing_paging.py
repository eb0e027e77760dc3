"""Page tokens and pages of the sharing server's lists and queries."""

from __future__ import annotations

import pytest

from nidc.sharing.errors import InvalidParameterError
from nidc.sharing.paging import (
    PageToken,
    decode_page_token,
    encode_page_token,
    page,
    parse_page_size,
)


def test_paging_walks_every_item_once() -> None:
    items = list(range(1050))
    seen, token, pages = [], None, 0
    while True:
        chunk, token = page(items, 400, token, "query:s.a.t", version=7)
        seen += chunk
        pages += 1
        if token is None:
            break
    assert seen == items and pages == 3


def test_a_token_belongs_to_its_list_and_version() -> None:
    token = encode_page_token(PageToken("tables:s.a", 2))
    assert decode_page_token(token, "tables:s.a") == PageToken("tables:s.a", 2)
    with pytest.raises(InvalidParameterError, match="another list"):
        decode_page_token(token, "tables:s.b")
    query = encode_page_token(PageToken("query:s.a.t", 2, version=3))
    with pytest.raises(InvalidParameterError, match="another table version"):
        page(list(range(5)), 2, query, "query:s.a.t", version=4)


@pytest.mark.parametrize("garbage", ["!!!", "e30", "bm90IGpzb24"])
def test_a_forged_token_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidParameterError):
        decode_page_token(garbage, "shares")


def test_page_sizes() -> None:
    assert parse_page_size(None, "maxResults", 500, 1000) == 500
    assert parse_page_size("5000", "maxResults", 500, 1000) == 1000
    assert parse_page_size("0", "maxResults", 500, 1000) == 0
    for bad in ("-1", "ten"):
        with pytest.raises(InvalidParameterError, match="maxResults"):
            parse_page_size(bad, "maxResults", 500, 1000)
    # maxResults=0: no items, and the same place again.
    chunk, token = page([1, 2], 0, None, "shares")
    assert chunk == [] and token is not None
    assert decode_page_token(token, "shares").offset == 0
