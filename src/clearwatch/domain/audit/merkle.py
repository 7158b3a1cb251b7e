"""Merkle tree heads over the audit records (RFC 6962): roots, inclusion and consistency proofs.

Each leaf is one record's hash. The tree is RFC 6962's: leaf = H(0x00 ‖ entry),
node = H(0x01 ‖ left ‖ right), a tree of n > 1 leaves split at the largest power of two
below n. H is SHA-256 whatever hash the chain uses, so any RFC 6962 verifier checks a proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_LEAF = b"\x00"
_NODE = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly below `size` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


@dataclass
class Frontier:
    """The roots of the full subtrees of a growing tree, largest first: O(log n) hashes.

    Appending a leaf merges equal-sized subtrees; the root folds them from the right, which is
    RFC 6962's tree, since its left subtrees are always full.
    """

    sizes: list[int]
    hashes: list[bytes]

    @classmethod
    def empty(cls) -> Frontier:
        return cls([], [])

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def append(self, entry: bytes) -> None:
        self.sizes.append(1)
        self.hashes.append(leaf_hash(entry))
        while len(self.sizes) > 1 and self.sizes[-1] == self.sizes[-2]:
            right, left = self.hashes.pop(), self.hashes.pop()
            self.sizes[-2:] = [self.sizes[-2] * 2]
            self.hashes.append(node_hash(left, right))

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        accumulated = self.hashes[-1]
        for subtree in reversed(self.hashes[:-1]):
            accumulated = node_hash(subtree, accumulated)
        return accumulated


def tree_root(entries: Iterable[bytes]) -> bytes:
    frontier = Frontier.empty()
    for entry in entries:
        frontier.append(entry)
    return frontier.root()


def inclusion_proof(entries: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """RFC 6962 PATH(index, entries): the sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(entries):
        raise ValueError(f"leaf {index} is outside a tree of {len(entries)}")
    path: list[bytes] = []
    low, high = 0, len(entries)
    # Walk down from the root; each level's sibling is the other half's root.
    while high - low > 1:
        k = split_point(high - low)
        if index < low + k:
            path.append(tree_root(entries[low + k : high]))
            high = low + k
        else:
            path.append(tree_root(entries[low : low + k]))
            low += k
    return tuple(reversed(path))


def verify_inclusion(
    entry: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` place `entry` at `index` of the tree with `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(entry)
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(sibling, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency_proof(entries: Sequence[bytes], old_size: int) -> tuple[bytes, ...]:
    """RFC 6962 PROOF(old_size, entries): the tree of the first `old_size` is a prefix."""
    if not 0 <= old_size <= len(entries):
        raise ValueError(f"old size {old_size} is outside a tree of {len(entries)}")
    if old_size in (0, len(entries)):
        return ()
    return tuple(_subproof(entries, old_size, complete=True))


def _subproof(entries: Sequence[bytes], m: int, *, complete: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if complete else [tree_root(entries)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(entries[:k], m, complete=complete), tree_root(entries[k:])]
    return [*_subproof(entries[k:], m - k, complete=False), tree_root(entries[:k])]


def verify_consistency(
    old_size: int, old_root: bytes, new_size: int, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (old_size, old_root) a prefix of (new_size, new_root)?"""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a full tree is its own first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(node, fr), node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, node)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
