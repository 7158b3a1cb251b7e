"""What a server keeps between requests holds only under the generation it was read in."""

from __future__ import annotations

from clearwatch.services.shared.generations import Remembered


class Reads:
    """A reader that counts how often the store was really asked."""

    def __init__(self, value: str) -> None:
        self.value, self.count = value, 0

    def __call__(self) -> str:
        self.count += 1
        return self.value


def test_a_value_is_taken_again_under_its_generation_and_read_afresh_under_a_newer_one() -> None:
    kept: Remembered[str, str] = Remembered(capacity=8)
    first = Reads("roles as of generation 3")
    assert kept.get(3, "alice", first) == "roles as of generation 3"
    assert kept.get(3, "alice", first) == "roles as of generation 3"
    assert first.count == 1
    after_a_revocation = Reads("roles as of generation 4")
    assert kept.get(4, "alice", after_a_revocation) == "roles as of generation 4"
    assert after_a_revocation.count == 1
    # What generation 3 kept is gone: asked under 3 again (a request that read the
    # generation before the change), the store is read, never the newer value handed back.
    late = Reads("roles as of generation 3, read late")
    assert kept.get(3, "alice", late) == "roles as of generation 3, read late"
    assert late.count == 1


def test_a_value_read_under_an_older_generation_never_replaces_the_newer_ones() -> None:
    kept: Remembered[str, str] = Remembered(capacity=8)
    kept.get(5, "alice", Reads("new"))
    kept.get(4, "alice", Reads("old"))
    newer = Reads("not asked")
    assert kept.get(5, "alice", newer) == "new"
    assert newer.count == 0


def test_a_store_without_generations_is_read_on_every_request() -> None:
    kept: Remembered[str, str] = Remembered(capacity=8)
    reads = Reads("afresh")
    for _ in range(3):
        assert kept.get(None, "alice", reads) == "afresh"
    assert reads.count == 3


def test_past_its_capacity_everything_is_read_again() -> None:
    kept: Remembered[int, str] = Remembered(capacity=2)
    for key in (1, 2, 3):  # the third drops the first two
        kept.get(0, key, Reads(f"value {key}"))
    again = Reads("read again")
    assert kept.get(0, 1, again) == "read again"
    assert again.count == 1
