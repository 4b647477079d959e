"""Hypothesis strategies that build arbitrary, often malformed, request messages
for any RPC from its protobuf descriptor.

Nothing here knows a particular RPC. Values are chosen by field type, with hints
from the field name (`time_zone`, `email`, `page_token`, `request_id`, `etag`,
...) so that validation code is reached as often as the code behind it:

* strings: empty, unicode, control and bidi characters, huge, injection-shaped,
  resource names of every collection of every service (valid and broken ids),
  and names, etags and page tokens seen in real responses (`Pools`), so
  fuzzed requests regularly hit real resources and tokens from other lists;
* numbers: boundaries (0, -1, int32 min/max, NaN, infinities);
* enums: known numbers and unknown ones (proto3 enums are open, so the wire
  carries them and the server must refuse or ignore them);
* Timestamp/Duration: out-of-range seconds, negative or oversized nanos;
  TimeRange: reversed, zero-length and huge ranges, or a side missing;
* FieldMask: paths of the resource being updated plus nonsense;
* messages seen in real responses (a plan found by FindLoopPlans, a Loop),
  replayed whole or with one field mutated, which is what reaches the deep
  code paths (BookLoop with a plan that is almost right).
"""

from __future__ import annotations

import base64
import json
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

F = FieldDescriptor

# ---------------------------------------------------------------- naming


class _Named(st.SearchStrategy):  # type: ignore[type-arg]
    """A strategy with a short repr: the generated ones nest deeply and
    hypothesis prints strategy reprs in its reports."""

    def __init__(self, inner: st.SearchStrategy[Any], label: str) -> None:
        super().__init__()
        self.inner = inner
        self._name = label

    def do_draw(self, data: Any) -> Any:
        return data.draw(self.inner)

    def __repr__(self) -> str:
        return self._name


# ---------------------------------------------------------------- pools


class Pools:
    """Values harvested from real responses, shared by every strategy.

    Strategies pick from these by index, so a pool may grow while a test runs;
    each kind keeps at most `limit` distinct values (the newest win).
    """

    KINDS = ("name", "page_token", "etag", "session_id", "email", "message")

    def __init__(self, limit: int = 400) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._values: dict[str, list[Any]] = {kind: [] for kind in self.KINDS}
        self._seen: dict[str, set[Any]] = {kind: set() for kind in self.KINDS}
        # Real messages by full type name, e.g. interviews.scheduling.v1.LoopPlan.
        self._messages: dict[str, list[bytes]] = {}

    def add(self, kind: str, value: Any) -> None:
        if not value:
            return
        with self._lock:
            if value in self._seen[kind]:
                return
            self._seen[kind].add(value)
            values = self._values[kind]
            values.append(value)
            if len(values) > self.limit:
                dropped = values.pop(0)
                self._seen[kind].discard(dropped)

    def pick(self, kind: str, index: int, fallback: Any = "") -> Any:
        with self._lock:
            values = self._values[kind]
            return values[index % len(values)] if values else fallback

    def values(self, kind: str) -> list[Any]:
        with self._lock:
            return list(self._values[kind])

    def add_message(self, message: Message) -> None:
        full_name = message.DESCRIPTOR.full_name
        raw = message.SerializeToString(deterministic=True)
        with self._lock:
            bucket = self._messages.setdefault(full_name, [])
            if raw in bucket:
                return
            bucket.append(raw)
            if len(bucket) > 50:
                bucket.pop(0)

    def pick_message(self, descriptor: Descriptor, index: int) -> Message | None:
        with self._lock:
            bucket = self._messages.get(descriptor.full_name)
            raw = bucket[index % len(bucket)] if bucket else None
        if raw is None:
            return None
        return GetMessageClass(descriptor).FromString(raw)

    def harvest(self, message: Message) -> None:
        """Collects names, tokens, etags, emails and sub-messages from a response."""
        if message.DESCRIPTOR.full_name.startswith("interviews."):
            self.add_message(message)
        for field, value in message.ListFields():
            if field.type == F.TYPE_MESSAGE:
                if _is_map(field):
                    continue
                items = value if field.is_repeated else [value]
                for item in items:
                    self.harvest(item)
            elif field.type == F.TYPE_STRING:
                items = value if field.is_repeated else [value]
                for item in items:
                    self._harvest_string(field.name, item)

    def _harvest_string(self, field_name: str, value: str) -> None:
        if field_name == "next_page_token":
            self.add("page_token", value)
        elif field_name == "etag":
            self.add("etag", value)
        elif field_name == "session_id":
            self.add("session_id", value)
        elif "email" in field_name:
            self.add("email", value)
        elif "/" in value and len(value) < 300 and " " not in value:
            self.add("name", value)


# ---------------------------------------------------------------- strings

# Every collection of every service, so a scheduling field gets tickets/x and
# deliveries/y too ("names from elsewhere").
COLLECTIONS = (
    "offices", "offices/los-gatos/rooms", "offices/-/rooms", "interviewers", "interviewers/x/busyBlocks",
    "candidates", "loopTemplates", "loops", "holds", "cohortRuns", "tickets", "tickets/x/messages",
    "auditEvents", "deliveries", "services", "users",
)
IDS = (
    "los-gatos", "los-angeles", "a", "x1", "-", "-a", "a-", "A", "UPPER", "a_b", "a.b", "a/b", "..", "%2e%2e",
    "0" * 63, "0" * 64, "é", "a b", "a\x00b", "*", "", "1" * 300,
)
NASTY = (
    "\x00", "\x00\x01\x02", "\r\n", "\r\nBcc: victim@example.com", "\u202etxt.exe", "\ufeff", "\u200b",
    "\U0001f600" * 3, "ℌ𝔢𝔩𝔩𝔬", "../../../../etc/passwd", "' OR '1'='1' --", "'; DROP TABLE loops; --",
    "%s%s%s%n", "{0}{1}", "${jndi:ldap://127.0.0.1/x}", "<script>alert(1)</script>", "\\", "\"", "null",
    "undefined", "NaN", "-1", "0", "true", "[]", "{}", "BEGIN:VCALENDAR", "END:VEVENT\r\nBEGIN:VEVENT",
    "a" * 64, " leading-space", "trailing-space ", "\t", "\u0085", "\u2028\u2029", "\ud7ff", "\uffff",
)
ZONES = (
    "America/Los_Angeles", "Asia/Kolkata", "Pacific/Auckland", "UTC", "Etc/GMT+14", "Etc/GMT-14",
    "Pacific/Chatham", "Asia/Kathmandu", "America/St_Johns", "Europe/London", "Australia/Lord_Howe",
    "", "Mars/Olympus_Mons", "america/los_angeles", "America/Los Angeles", "../../etc/passwd",
    "/etc/localtime", "localtime", "posix/America/New_York", "right/UTC", "Z", "+05:30", "GMT+5",
    "EST5EDT", "A" * 65, "Asia/Kolkata\x00", "Factory", "zoneinfo", ".", "America/",
)
EMAILS = (
    "ada@example.com", "a@b", "x@example.com", "", "not-an-email", "@example.com", "a@", "a@@b.com",
    "a@example.com\r\nBcc: victim@example.com", "a@example.com, b@example.com", "ünïcode@exämple.com",
    "a" * 65 + "@example.com", "a@" + "b" * 250 + ".com", "\"quoted local\"@example.com", "<a@b.com>",
    "Ada Lovelace <ada@example.com>", "a@127.0.0.1", "a@[127.0.0.1]", "a+tag@example.com",
)
RFC3339 = (
    "2026-12-03T09:00:00+05:30", "2026-12-03T09:00:00Z", "2026-13-40T25:61:61Z", "", "yesterday",
    "2026-03-08T02:30:00-08:00", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2026-12-03",
)


def _forged_page_tokens() -> st.SearchStrategy[str]:
    """Page tokens a client might invent: the right shape with another scope,
    wrong shapes, and values that are not base64 at all."""

    def b64(obj: Any) -> str:
        raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return st.one_of(
        st.sampled_from(
            [
                b64({"s": "0" * 16, "k": ["a"]}),
                b64({"s": "0" * 16, "k": []}),
                b64({"k": [1, 2, 3]}),
                b64({"s": None, "k": None}),
                b64([1, 2]),
                b64("just a string"),
                b64(b"\xff\xfe\x00"),
                b64({"s": "x", "k": [{"a": 1}] * 3}),
                b64({"s": "x", "k": ["\x00", 1e308, None, True]}),
                "!!!not base64!!!",
                "====",
                "a",
                "x" * 5000,
            ]
        ),
        st.binary(max_size=40).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    )


def huge_strings() -> st.SearchStrategy[str]:
    # Sizes around typical column limits and well past them. Bigger bodies
    # (past the message size limit) have a test of their own in tests/security.
    return st.sampled_from([64, 65, 201, 321, 1_001, 4_097, 70_000]).flatmap(
        lambda n: st.sampled_from(["x", "é", "\U0001f600", "a/"]).map(lambda ch: (ch * n)[:n])
    )


def resource_names() -> st.SearchStrategy[str]:
    return st.builds(lambda c, i: f"{c}/{i}" if i else f"{c}/", st.sampled_from(COLLECTIONS), st.sampled_from(IDS))


def generic_strings(pools: Pools) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        st.text(max_size=30),
        st.text(alphabet=st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Co", "Mn")), min_size=1, max_size=12),
        st.sampled_from(NASTY),
        huge_strings(),
        resource_names(),
        _pick(pools, "name"),
        _pick(pools, "name"),
    )


def _pick(pools: Pools, kind: str, fallback: Any = "") -> st.SearchStrategy[Any]:
    return st.integers(min_value=0, max_value=1 << 20).map(lambda i: pools.pick(kind, i, fallback))


def string_values(field_name: str, pools: Pools) -> st.SearchStrategy[str]:
    return _Named(_string_values(field_name, pools), f"strings({field_name})")


def _string_values(field_name: str, pools: Pools) -> st.SearchStrategy[str]:
    generic = generic_strings(pools)
    if field_name == "time_zone" or field_name.endswith("_zone"):
        return st.one_of(st.sampled_from(ZONES), st.sampled_from(ZONES), generic)
    if "email" in field_name:
        return st.one_of(st.sampled_from(EMAILS), _pick(pools, "email", "a@example.com"), generic)
    if field_name == "page_token":
        return st.one_of(st.just(""), _pick(pools, "page_token"), _pick(pools, "page_token"), _forged_page_tokens(), generic)
    if field_name in ("request_id", "idempotency_key"):
        return st.one_of(
            st.uuids().map(str),
            st.uuids().map(str),
            # A few fixed ids, so retries with a different body happen.
            st.sampled_from(["fuzz-request-1", "fuzz-request-2", "r" * 128, "r" * 129, "has space", "ünï", ""]),
            generic,
        )
    if field_name == "etag":
        return st.one_of(st.just(""), _pick(pools, "etag"), _pick(pools, "etag"), generic)
    if field_name == "session_id":
        return st.one_of(_pick(pools, "session_id"), _pick(pools, "session_id"), generic)
    if field_name.startswith("candidate_local_") or field_name.endswith("_time"):
        return st.one_of(st.sampled_from(RFC3339), generic)
    return generic


# ---------------------------------------------------------------- scalars

INT32_EDGES = [0, 1, -1, 2, 3, 5, 10, 50, 100, 999, 1000, 1001, 100_000, 2**31 - 1, -(2**31)]
INT64_EDGES = INT32_EDGES + [2**63 - 1, -(2**63), 2**53 + 1]
UNKNOWN_ENUM_NUMBERS = [-1, 13, 99, 1000, 2**31 - 1, -(2**31)]


def _int_strategy(field: FieldDescriptor) -> st.SearchStrategy[int]:
    t = field.type
    if t in (F.TYPE_UINT32, F.TYPE_FIXED32):
        return st.one_of(st.sampled_from([0, 1, 2, 5, 50, 1000, 2**32 - 1]), st.integers(0, 2**32 - 1))
    if t in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return st.one_of(st.sampled_from([0, 1, 2, 5, 2**64 - 1]), st.integers(0, 2**64 - 1))
    if t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return st.one_of(st.sampled_from(INT64_EDGES), st.integers(-(2**63), 2**63 - 1))
    return st.one_of(st.sampled_from(INT32_EDGES), st.integers(-(2**31), 2**31 - 1), st.integers(-3, 60))


def _float_strategy(field: FieldDescriptor) -> st.SearchStrategy[float]:
    edges = [0.0, 1.0, -1.0, 0.5, 1.5, 2.0, 100.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]
    if field.type == F.TYPE_FLOAT:
        return st.one_of(st.sampled_from([e for e in edges if abs(e) < 3e38 or not math.isfinite(e)]), st.floats(width=32))
    return st.one_of(st.sampled_from(edges), st.floats())


def _enum_strategy(field: FieldDescriptor) -> st.SearchStrategy[int]:
    known = [value.number for value in field.enum_type.values]
    return st.one_of(st.sampled_from(known), st.sampled_from(known), st.sampled_from(UNKNOWN_ENUM_NUMBERS))


ICS_SAMPLES = (
    b"",
    b"not a calendar",
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\nEND:VCALENDAR\r\n",
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261126T000000Z\r\n"
     b"DTSTART:20261201T170000Z\r\nDTEND:20261201T180000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
    # A recurrence with no end, every second: expansion must be bounded by the window.
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20261126T000000Z\r\n"
     b"DTSTART:20261201T170000Z\r\nDTEND:20261201T170001Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
    # Reversed event, unknown zone, broken date.
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\nBEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20261126T000000Z\r\n"
     b"DTSTART;TZID=Mars/Olympus:20261201T170000\r\nDTEND:20261201T160000Z\r\nEND:VEVENT\r\n"
     b"BEGIN:VEVENT\r\nUID:d\r\nDTSTART:2026XX01T170000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
    b"BEGIN:VCALENDAR\r\n" * 2000,
    b"\xff\xfe\x00\x00garbage",
)


def _bytes_strategy(field: FieldDescriptor) -> st.SearchStrategy[bytes]:
    generic = st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"\x00" * 70_000, b"A" * 300_000]))
    if "ics" in field.name:
        return st.one_of(st.sampled_from(ICS_SAMPLES), st.sampled_from(ICS_SAMPLES), generic)
    return generic


# ---------------------------------------------------------------- well-known types

_NOW = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp())
TIMESTAMP_SECONDS = [
    0, -1, -62135596800, -62135596801, 253402300799, 253402300800, 2**62, -(2**62), 7258118400,  # 2200-01-01
    _NOW, _NOW + 86400 * 7, _NOW - 86400 * 365,
]


def timestamp_fields() -> st.SearchStrategy[tuple[int, int]]:
    near = st.integers(min_value=-60 * 288, max_value=120 * 288).map(lambda step: _NOW + step * 300)  # 5-minute grid
    seconds = st.one_of(near, near, st.sampled_from(TIMESTAMP_SECONDS), st.integers(-(2**63), 2**63 - 1))
    nanos = st.one_of(st.just(0), st.just(0), st.sampled_from([1, 999_999_999, 1_000_000_000, -1, -(2**31), 2**31 - 1]))
    return st.tuples(seconds, nanos)


def duration_fields() -> st.SearchStrategy[tuple[int, int]]:
    seconds = st.one_of(
        st.sampled_from([0, 1, 59, 60, 300, 900, 1800, 2700, 3600, 7200, 86400, 7 * 86400, 8 * 86400, 600, 601]),
        st.sampled_from([-1, -60, -3600, 10**9, -(10**9), 315576000000, 315576000001, 2**63 - 1, -(2**63)]),
        st.integers(-10**6, 10**6),
    )
    nanos = st.one_of(st.just(0), st.just(0), st.sampled_from([1, -1, 999_999_999, -999_999_999, 1_000_000_000]))
    return st.tuples(seconds, nanos)


def time_range_fields() -> st.SearchStrategy[tuple[tuple[int, int] | None, tuple[int, int] | None]]:
    """(start, end) pairs: valid, reversed, zero-length, huge, or a side missing."""
    start = timestamp_fields()
    delta = st.sampled_from([-3600, -1, 0, 1, 300, 3600, 8 * 3600, 86400, 7 * 86400, 60 * 86400, 400 * 86400, 10**10])
    paired = st.builds(lambda s, d: (s, (s[0] + d, s[1])), start, delta)
    return st.one_of(paired, paired, paired, st.tuples(st.none() | start, st.none() | start))


# ---------------------------------------------------------------- messages


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


class RequestStrategies:
    """Builds and caches a strategy per message type."""

    MAX_DEPTH = 5

    def __init__(self, pools: Pools) -> None:
        self.pools = pools
        self._cache: dict[tuple[str, int, str], st.SearchStrategy[Message]] = {}

    def for_message(self, descriptor: Descriptor, *, depth: int = 0, mask_target: Descriptor | None = None) -> st.SearchStrategy[Message]:
        key = (descriptor.full_name, min(depth, self.MAX_DEPTH), mask_target.full_name if mask_target else "")
        cached = self._cache.get(key)
        if cached is None:
            cached = _Named(self._build(descriptor, depth, mask_target), f"messages({descriptor.name})")
            self._cache[key] = cached
        return cached

    def _build(self, descriptor: Descriptor, depth: int, mask_target: Descriptor | None) -> st.SearchStrategy[Message]:
        cls = GetMessageClass(descriptor)
        name = descriptor.full_name
        if name == "google.protobuf.Timestamp":
            return timestamp_fields().map(lambda sn: cls(seconds=sn[0], nanos=sn[1]))
        if name == "google.protobuf.Duration":
            return duration_fields().map(lambda sn: cls(seconds=sn[0], nanos=sn[1]))
        if name == "google.protobuf.FieldMask":
            return self._field_masks(cls, mask_target)
        if name == "google.protobuf.Empty" or depth > self.MAX_DEPTH:
            return st.just(cls())
        if name == "interviews.common.v1.TimeRange":
            return time_range_fields().map(lambda pair: _time_range(cls, *pair))

        # The resource an Update request changes, for its update_mask.
        target = next(
            (f.message_type for f in descriptor.fields if f.type == F.TYPE_MESSAGE and f.message_type.fields_by_name.get("etag")),
            None,
        )
        optional = {field.name: self._field(field, depth, target) for field in descriptor.fields}
        generated = st.fixed_dictionaries({}, optional=optional).map(lambda values: _assemble(cls, descriptor, values))
        if descriptor.full_name.startswith("interviews.") and optional:
            # Real messages of this type (from responses, and requests that
            # succeeded), whole or with one field changed: near-valid input
            # that gets past validation into the code behind it.
            return st.one_of(generated, self._replayed(descriptor, optional))
        return generated

    def _replayed(self, descriptor: Descriptor, optional: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Message]:
        pools = self.pools
        cls = GetMessageClass(descriptor)

        @st.composite
        def replay(draw: Callable[..., Any]) -> Message:
            # The same draws whatever the pool holds, so hypothesis sees a
            # stable choice sequence while the pool fills up during a run.
            index = draw(st.integers(0, 1 << 20))
            whole = draw(st.booleans())
            field_name = draw(st.sampled_from(sorted(optional)))
            value = draw(optional[field_name])
            real = pools.pick_message(descriptor, index)
            if real is not None and whole:
                return real
            base = cls()
            if real is not None:
                base.CopyFrom(real)
                base.ClearField(field_name)
            return _assemble(cls, descriptor, {field_name: value}, base=base)

        return replay()

    def _field(self, field: FieldDescriptor, depth: int, target: Descriptor | None) -> st.SearchStrategy[Any]:
        if _is_map(field):
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            keys = st.one_of(
                st.sampled_from(["ticket", "decision", "interview_time", "candidate", "loop", "earliness", "days", "load_balance", "time_zone"]),
                self._scalar(key_field),
            )
            return st.dictionaries(keys, self._single(value_field, depth, target), max_size=6)
        single = self._single(field, depth, target)
        if field.is_repeated:
            small = st.lists(single, max_size=4)
            # Long lists repeat one small value (an empty message, a short
            # string): long on the wire without building megabytes in memory.
            if field.type == F.TYPE_MESSAGE:
                element: st.SearchStrategy[Any] = st.just(GetMessageClass(field.message_type)())
            elif field.type == F.TYPE_STRING:
                element = st.one_of(st.sampled_from(["", "a", "x" * 40]), resource_names(), _pick(self.pools, "name"))
            else:
                element = single
            long = st.tuples(st.sampled_from([20, 200, 2000]), element).map(lambda nv: [nv[1]] * nv[0])
            return st.one_of(small, small, small, long)
        return single

    def _single(self, field: FieldDescriptor, depth: int, target: Descriptor | None) -> st.SearchStrategy[Any]:
        if field.type in (F.TYPE_MESSAGE, F.TYPE_GROUP):
            mask_target = target if field.message_type.full_name == "google.protobuf.FieldMask" else None
            return self.for_message(field.message_type, depth=depth + 1, mask_target=mask_target)
        if field.type == F.TYPE_STRING:
            return string_values(field.name, self.pools)
        return self._scalar(field)

    def _scalar(self, field: FieldDescriptor) -> st.SearchStrategy[Any]:
        t = field.type
        if t == F.TYPE_STRING:
            return generic_strings(self.pools)
        if t == F.TYPE_BYTES:
            return _bytes_strategy(field)
        if t == F.TYPE_BOOL:
            return st.booleans()
        if t == F.TYPE_ENUM:
            return _enum_strategy(field)
        if t in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
            return _float_strategy(field)
        return _int_strategy(field)

    def _field_masks(self, cls: type[Message], target: Descriptor | None) -> st.SearchStrategy[Message]:
        real = sorted(target.fields_by_name) if target is not None else []
        paths = st.one_of(
            st.sampled_from(real or ["name"]),
            st.sampled_from(real or ["name"]),
            st.sampled_from(["*", "", "name", "etag", "create_time", "nonexistent", "a.b.c", "sessions.0.title", "NAME", " name"]),
            generic_strings(self.pools),
        )
        return st.lists(paths, max_size=5).map(lambda p: cls(paths=p))


def _time_range(cls: type[Message], start: tuple[int, int] | None, end: tuple[int, int] | None) -> Message:
    message = cls()
    if start is not None:
        message.start_time.seconds, message.start_time.nanos = start  # type: ignore[attr-defined]
    if end is not None:
        seconds = max(-(2**63), min(2**63 - 1, end[0]))
        message.end_time.seconds, message.end_time.nanos = seconds, end[1]  # type: ignore[attr-defined]
    return message


def _assemble(cls: type[Message], descriptor: Descriptor, values: dict[str, Any], base: Message | None = None) -> Message:
    message = base if base is not None else cls()
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        if _is_map(field):
            target = getattr(message, name)
            if field.message_type.fields_by_name["value"].type == F.TYPE_MESSAGE:
                for key, item in value.items():
                    target[key].CopyFrom(item)
            else:
                target.update(value)
        elif field.is_repeated:
            target = getattr(message, name)
            if field.type == F.TYPE_MESSAGE:
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif field.type == F.TYPE_MESSAGE:
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


# ---------------------------------------------------------------- raw bytes


def wire_mutations(valid: st.SearchStrategy[Message]) -> st.SearchStrategy[bytes]:
    """Request bytes that are not (quite) a valid encoding of the message:
    truncated, flipped, with invalid UTF-8 in a string, with wrong wire types,
    or random. gRPC hands them to the server's deserializer."""

    def flip(raw: bytes, index: int, byte: int) -> bytes:
        if not raw:
            return bytes([byte])
        i = index % len(raw)
        return raw[:i] + bytes([byte]) + raw[i + 1 :]

    serialized = valid.map(lambda m: m.SerializeToString())
    return st.one_of(
        st.builds(lambda raw, cut: raw[: cut % (len(raw) + 1)], serialized, st.integers(0, 1 << 16)),
        st.builds(flip, serialized, st.integers(0, 1 << 16), st.integers(0, 255)),
        # Field 1 as a length-delimited string of invalid UTF-8; field 1 as a
        # varint (wrong wire type); a length that runs past the end; a huge tag.
        st.sampled_from([b"\x0a\x02\xff\xfe", b"\x0a\x03\xc3\x28\x41", b"\x08\x96\x01", b"\x0a\x7fabc", b"\xff\xff\xff\xff\x0f\x00", b"\x0b", b"\x0c"]),
        st.binary(max_size=64),
    )

