"""The Merkle tree hash of RFC 9162 (section 2.1.1), computed incrementally.

Leaf hash SHA-256(0x00 || record), node hash SHA-256(0x01 || left || right); the tree of n
leaves splits at the largest power of two below n. Its perfect subtrees, left to right, are
the binary digits of n; folding their roots from the right gives the root of the whole tree,
so appending and asking for the root are O(log n).
"""

from __future__ import annotations

import hashlib

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(record: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + record).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """The roots of the perfect subtrees of the leaves appended so far (a compact range)."""

    def __init__(self) -> None:
        self.size = 0
        # (height, root) of each perfect subtree, largest first.
        self._ranges: list[tuple[int, bytes]] = []

    def append(self, record: bytes) -> None:
        self.append_leaf_hash(leaf_hash(record))

    def append_leaf_hash(self, leaf: bytes) -> None:
        height, node = 0, leaf
        while self._ranges and self._ranges[-1][0] == height:
            _, left = self._ranges.pop()
            node, height = node_hash(left, node), height + 1
        self._ranges.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        """MTH of every leaf so far (SHA-256 of nothing for the empty tree, as RFC 9162)."""
        if not self._ranges:
            return EMPTY_ROOT
        node = self._ranges[-1][1]
        for _, left in reversed(self._ranges[:-1]):
            node = node_hash(left, node)
        return node


def tree_root(records: list[bytes]) -> bytes:
    """MTH(records), straight from RFC 9162's recursive definition (the tests' reference)."""
    if not records:
        return EMPTY_ROOT
    if len(records) == 1:
        return leaf_hash(records[0])
    split = 1
    while split * 2 < len(records):
        split *= 2
    return node_hash(tree_root(records[:split]), tree_root(records[split:]))
