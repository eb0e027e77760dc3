"""Column names as tokens: Chinese segmented with jieba, Latin split at case and separators.

Dictionary words match whole tokens (or runs of adjacent tokens), never arbitrary substrings, so
`sn` matches `device_sn` but not `snapshot`. Chinese words also match by their pinyin initials
(身份证号 -> sfzh), the way Chinese column names are often abbreviated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

from nidc.governance.policy_files import policies_dir, read_word_list

HAN = re.compile(r"[\u4e00-\u9fff]+")
LATIN_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
SEGMENTATION_DICTIONARY = "segmentation-zh.txt"
# Initials shorter than this are too ambiguous to derive automatically (配方 "pf" is also
# "power factor"); a policy may still list short initials as words of its own.
MIN_DERIVED_INITIALS = 3
# A compact word this long may match inside one token ("idcard" in "custidcard").
MIN_EMBEDDED_WORD = 6


@dataclass(frozen=True)
class ColumnName:
    """A column name, tokenised."""

    raw: str
    latin: tuple[str, ...]  # lower-case Latin tokens, digits dropped
    han: tuple[str, ...]  # Chinese tokens from jieba


def is_han(word: str) -> bool:
    """True when the word is written in Chinese characters."""
    return bool(HAN.fullmatch(word))


def latin_tokens(text: str) -> tuple[str, ...]:
    """custIdNo -> (cust, id, no); SFZH_no -> (sfzh, no); digits are dropped."""
    return tuple(p.lower() for p in LATIN_PARTS.findall(text) if not p.isdigit())


@cache
def segmenter(extra_words: frozenset[str]) -> jieba.Tokenizer:
    """A jieba tokenizer on the domain dictionary plus the rule pack's own Chinese words."""
    # Imported here, not at the top: jieba and pypinyin hold tens of MiB, and the operator
    # imports this module whether or not a classification policy ever needs a name split.
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer(
        dictionary=str(policies_dir() / "dictionaries" / SEGMENTATION_DICTIONARY)
    )
    tokenizer.initialize()
    for word in sorted(extra_words):
        tokenizer.add_word(word, freq=2000 + 10 * len(word))
    return tokenizer


def tokenise(name: str, extra_words: frozenset[str] = frozenset()) -> ColumnName:
    """Split a column name into Latin and Chinese tokens."""
    han: list[str] = []
    if HAN.search(name):
        tokenizer = segmenter(extra_words)
        for run in HAN.findall(name):
            han.extend(tokenizer.lcut(run, HMM=True))
    return ColumnName(raw=name, latin=latin_tokens(HAN.sub(" ", name)), han=tuple(han))


def pinyin_initials(word: str) -> str:
    """身份证号 -> sfzh."""
    from pypinyin import Style, lazy_pinyin  # heavy: loaded on first use (see segmenter)

    return "".join(lazy_pinyin(word, style=Style.FIRST_LETTER)).lower()


def _runs(tokens: Sequence[str], length: int) -> Iterable[str]:
    """Concatenations of adjacent tokens that start at a token boundary, up to `length`."""
    for start in range(len(tokens)):
        joined = ""
        for token in tokens[start:]:
            joined += token
            yield joined
            if len(joined) >= length:
                break


@cache
def reference_words() -> frozenset[str]:
    """Words that make a name a reference to a thing rather than the thing (id, 编号)."""
    return frozenset(read_word_list("reference-words.txt"))


def only_refers(name: ColumnName, matched: str) -> bool:
    """recipe_id, 配方编号: the name ends in a reference word that is not part of the match."""
    ends_in_han = bool(HAN.search(name.raw.rstrip("_0123456789 ")[-1:]))
    tokens = name.han if ends_in_han else name.latin
    if not tokens:
        return False
    last = tokens[-1]
    return last in reference_words() and not matched.endswith(last)


@dataclass(frozen=True)
class WordMatcher:
    """A dictionary compiled for matching against tokenised names."""

    han: frozenset[str]
    latin_sequences: tuple[tuple[str, ...], ...]
    compact: frozenset[str]  # Latin words without separators ("idcard")
    initials: frozenset[str]
    mixed: frozenset[str] = frozenset()  # words in both scripts ("nc程序"), lower case

    @classmethod
    def compile(cls, words: Iterable[str]) -> WordMatcher:
        han, sequences, compact, initials, mixed = set(), set(), set(), set(), set()
        for word in words:
            if HAN.search(word) and not is_han(word):
                mixed.add(word.lower())
            elif is_han(word):
                han.add(word)
                derived = pinyin_initials(word)
                if len(derived) >= MIN_DERIVED_INITIALS:
                    initials.add(derived)
            else:
                tokens = latin_tokens(word)
                if tokens:
                    sequences.add(tokens)
                    compact.add("".join(tokens))
        return cls(
            frozenset(han),
            tuple(sorted(sequences)),
            frozenset(compact),
            frozenset(initials),
            frozenset(mixed),
        )

    def match(self, name: ColumnName) -> str | None:
        """The dictionary word the name contains, or None."""
        lowered = name.raw.lower()
        for word in self.mixed:
            if word in lowered:
                return word
        for run in _runs(name.han, max((len(w) for w in self.han), default=0)):
            if run in self.han:
                return run
        for token in name.han:
            for word in self.han:
                if len(word) >= 2 and word in token:
                    return word
        for token in name.latin:
            if token in self.initials:
                return token
        latin = name.latin
        for sequence in self.latin_sequences:
            width = len(sequence)
            if any(latin[i : i + width] == sequence for i in range(len(latin) - width + 1)):
                return " ".join(sequence)
        for run in _runs(latin, max((len(w) for w in self.compact), default=0)):
            if run in self.compact:
                return run
        for token in latin:
            for word in self.compact:
                if len(word) >= MIN_EMBEDDED_WORD and word in token:
                    return word
        return None
