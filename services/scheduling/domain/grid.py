"""Availability as bitsets over a grid of 5-minute slots.

The search window is cut into slots of `SLOT_MINUTES`; slot `k` is `[base + 5k, base + 5k + 5)`
in epoch minutes. Anyone's availability (an interviewer, a room, the candidate) is one Python
int whose bit `k` is set when the whole slot is free. Python ints are arbitrary-precision, so a
two-week window is one ~4,000-bit int, and "who is free for 60 minutes starting at each slot"
is a handful of shifts and ANDs over all slots at once instead of a loop per start time.

Rounding is always conservative, so anything the grid calls free is free to the minute:
free intervals are rounded inward (`mask_inside`) and busy intervals outward (`mask_touching`).
`base` is a multiple of 15 epoch minutes, so slots line up with local quarter hours in every
zone whose offset is a whole number of quarter hours (all current IANA zones).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from services.scheduling.domain.model import TimeRange
from services.scheduling.domain.timeutil import Interval

SLOT_MINUTES = 5
# A loop's first session of each day starts on a quarter hour: 3 slots.
START_STEP_SLOTS = 3


def slots_for(minutes: int) -> int:
    """Slots needed to hold `minutes` (rounded up)."""
    return -(-minutes // SLOT_MINUTES)


class SlotGrid:
    """Slot arithmetic for one search window."""

    __slots__ = ("base", "size", "full", "quarter_hours")

    def __init__(self, start_minute: int, end_minute: int) -> None:
        self.base = start_minute - start_minute % (SLOT_MINUTES * START_STEP_SLOTS)
        self.size = max(0, (end_minute - self.base) // SLOT_MINUTES)
        self.full = (1 << self.size) - 1
        # Bits 0, 3, 6, ...: (2^(3m) - 1) / 7 is binary 1001001...; the quarter-hour starts.
        groups = -(-self.size // START_STEP_SLOTS)
        self.quarter_hours = (((1 << (START_STEP_SLOTS * groups)) - 1) // 7) & self.full

    def minute(self, slot: int) -> int:
        return self.base + slot * SLOT_MINUTES

    def slot_floor(self, minute: int) -> int:
        return (minute - self.base) // SLOT_MINUTES

    def slot_ceil(self, minute: int) -> int:
        return -(-(minute - self.base) // SLOT_MINUTES)

    def span(self, first: int, last: int) -> int:
        """Bits `first .. last-1`, clipped to the grid."""
        first = max(first, 0)
        last = min(last, self.size)
        if last <= first:
            return 0
        return ((1 << (last - first)) - 1) << first

    def mask_inside(self, intervals: Sequence[Interval]) -> int:
        """Slots lying wholly inside the intervals (for free time)."""
        mask = 0
        for start, end in intervals:
            mask |= self.span(self.slot_ceil(start), self.slot_floor(end))
        return mask

    def mask_touching(self, intervals: Sequence[Interval]) -> int:
        """Slots that the intervals touch at all (for busy time).

        Inlined rather than built on `span`: it runs for every busy block of every
        interviewer a search looks at.
        """
        base, size, step = self.base, self.size, SLOT_MINUTES
        low, high = base, base + size * step
        mask = 0
        for start, end in intervals:
            if end <= low or start >= high or end <= start:
                continue
            # The start rounds down to its slot, the end up (ceil as a negated floor).
            first = (start - base) // step
            last = -((base - end) // step)
            if first < 0:
                first = 0
            if last > size:
                last = size
            mask |= ((1 << (last - first)) - 1) << first
        return mask


def busy_mask(grid: SlotGrid, ranges: Iterable[TimeRange]) -> int:
    """`grid.mask_touching` straight from busy ranges (their cached `TimeRange.minutes`).

    One pass, no intermediate list: it runs for every interviewer and room a search reads.
    """
    base, size, step = grid.base, grid.size, SLOT_MINUTES
    high = base + size * step
    mask = 0
    for r in ranges:
        start, end = r.minutes
        if end <= base or start >= high or end <= start:
            continue
        first = (start - base) // step
        last = -((base - end) // step)
        if first < 0:
            first = 0
        if last > size:
            last = size
        mask |= ((1 << (last - first)) - 1) << first
    return mask


def run_starts(mask: int, length: int) -> int:
    """Bits `s` such that bits `s .. s+length-1` of `mask` are all set.

    Doubling: with r_k the answer for k, r_2k = r_k & (r_k >> k), and for k <= L <= 2k,
    r_L = r_k & (r_k >> (L - k)) because the two runs of k cover all L slots.
    """
    if length <= 1:
        return mask
    run, covered = mask, 1
    while covered * 2 <= length:
        run &= run >> covered
        covered *= 2
    if covered < length:
        run &= run >> (length - covered)
    return run


def at_least(masks: Sequence[int], count: int) -> int:
    """Bits set in at least `count` of `masks` (bit-sliced saturating counter)."""
    if count <= 1:
        out = 0
        for m in masks:
            out |= m
        return out
    # levels[j] holds the bits set in at least j+1 of the masks seen so far.
    levels = [0] * count
    for m in masks:
        for j in range(count - 1, 0, -1):
            levels[j] |= levels[j - 1] & m
        levels[0] |= m
    return levels[count - 1]


def bits(mask: int) -> Iterator[int]:
    """Indexes of the set bits, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def has(mask: int, bit: int) -> bool:
    return (mask >> bit) & 1 == 1
