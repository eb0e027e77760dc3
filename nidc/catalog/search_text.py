"""Words to search an asset by, Chinese included. Pure.

PostgreSQL's text search has no Chinese parser in the Debian package (zhparser is not packaged),
and pg_trgm ignores non-ASCII letters in a database of locale C. So the words are cut here with
jieba (search mode: 主轴转速 also yields 主轴 and 转速), lower-cased and joined by spaces; the
database indexes them with the `simple` configuration, which keeps each word as it is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nidc.catalog.assets import Asset

# Letters, digits, and runs of Han characters; everything else separates words.
WORD = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\uf900-\ufaff]+")


def words(text: str) -> list[str]:
    """The words of a text: ASCII words split on punctuation and underscores, Chinese runs cut
    by jieba (each run also kept whole), in order, without repeats."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    found: list[str] = []
    for token in WORD.findall(text.lower()):
        found.append(token)
        if not token.isascii():
            found.extend(w for w in jieba.cut_for_search(token) if w.strip())
    return list(dict.fromkeys(found))


def search_document(asset: Asset, grade_level: str | None = None) -> str:
    """Everything an asset can be found by, as space-separated words."""
    parts: list[str | None] = [
        asset.id,
        asset.name,
        asset.tenant,
        asset.layer,
        str(asset.kind),
        asset.owner_name,
        asset.owner_email,
        asset.domain,
        grade_level,
        asset.description,
        *asset.categories,
    ]
    for column in asset.columns:
        parts += [column.name, column.comment, column.category, column.category_title]
    return " ".join(words(" ".join(p for p in parts if p)))


def query_words(text: str) -> list[str]:
    """The words of a search; every one must match."""
    return words(text)


def tsquery(terms: Iterable[str]) -> str:
    """A to_tsquery('simple', ...) text: every word, each as a prefix (so `spin` finds
    `spindle`), quoted so that no word is read as an operator."""
    return " & ".join(f"'{t}':*" for t in terms if "'" not in t)
