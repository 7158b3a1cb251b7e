"""RFC 6962 tree heads and proofs against a naive recomputation of the RFC's definitions."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)


def naive_root(entries: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 §2.1 writes it."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(entries[:k]) + naive_root(entries[k:])).digest()


trees = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)


@given(trees)
def test_the_root_is_the_rfcs_tree_head(entries: list[bytes]) -> None:
    assert tree_root(entries) == naive_root(entries)


def test_the_empty_tree_hashes_the_empty_string() -> None:
    assert tree_root([]) == EMPTY_ROOT == naive_root([])


@given(trees, st.data())
def test_every_leaf_has_an_inclusion_proof_that_verifies(
    entries: list[bytes], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(entries) - 1))
    proof = inclusion_proof(entries, index)
    root = naive_root(entries)
    assert verify_inclusion(entries[index], index, len(entries), proof, root)
    assert not verify_inclusion(entries[index], len(entries), len(entries), proof, root)
    assert not verify_inclusion(b"\xff" * 32, index, len(entries), proof, root)


@given(trees, st.data())
def test_a_tampered_inclusion_proof_fails(entries: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(entries) - 1))
    proof = list(inclusion_proof(entries, index))
    root = naive_root(entries)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        proof[at] = bytes([proof[at][0] ^ 1]) + proof[at][1:]
        assert not verify_inclusion(entries[index], index, len(entries), proof, root)
    else:
        assert not verify_inclusion(entries[index], index, 1, [b"\x00" * 32], root)


@given(trees, st.data())
def test_a_prefix_is_proven_consistent(entries: list[bytes], data: st.DataObject) -> None:
    old_size = data.draw(st.integers(0, len(entries)))
    proof = consistency_proof(entries, old_size)
    old_root, new_root = naive_root(entries[:old_size]), naive_root(entries)
    assert verify_consistency(old_size, old_root, len(entries), new_root, proof)


@given(trees, st.data())
def test_a_rewritten_prefix_or_tampered_proof_is_not_consistent(
    entries: list[bytes], data: st.DataObject
) -> None:
    old_size = data.draw(st.integers(1, len(entries)))
    proof = list(consistency_proof(entries, old_size))
    new_root = naive_root(entries)
    rewritten = [*entries[: old_size - 1], b"\xee" * 32]
    assert not verify_consistency(old_size, naive_root(rewritten), len(entries), new_root, proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        proof[at] = bytes([proof[at][0] ^ 1]) + proof[at][1:]
        old_root = naive_root(entries[:old_size])
        assert not verify_consistency(old_size, old_root, len(entries), new_root, proof)


@given(trees, trees)
def test_a_frontier_saved_and_extended_gives_the_whole_trees_head(
    first: list[bytes], then: list[bytes]
) -> None:
    """A checkpoint keeps its frontier; the next one extends it from the new records alone."""
    frontier = Frontier.empty()
    for entry in first:
        frontier.append(entry)
    resumed = Frontier(list(frontier.sizes), list(frontier.hashes))
    for entry in then:
        resumed.append(entry)
    assert resumed.size == len(first) + len(then)
    assert resumed.root() == naive_root(first + then)
