"""The PLC sample-ring layout (decision 0021), shared by the collector and the PLC simulator.

Header at `base` (8 registers): counter high, counter low, slots, slot width, live base,
live count, 0, 0. The header describes the ring, so a poller needs only its base address.
Slot k starts at base + 8 + k * width and holds the sample whose counter c has c % slots == k:
counter high, counter low, timestamp in ms since the epoch (4 registers, big-endian), then the
live registers as they were at that sample.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER_LEN = 8
SLOT_PREFIX = 6  # counter (2) + timestamp (4)


@dataclass(frozen=True)
class RingLayout:
    base: int
    slots: int
    live_base: int
    live_count: int

    @property
    def width(self) -> int:
        return SLOT_PREFIX + self.live_count

    def slot_offset(self, counter: int) -> int:
        return self.base + HEADER_LEN + (counter % self.slots) * self.width

    @property
    def end(self) -> int:
        """The last register the ring uses."""
        return self.base + HEADER_LEN + self.slots * self.width - 1


def split32(value: int) -> list[int]:
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


def join_registers(registers: list[int]) -> int:
    """Big-endian registers -> unsigned integer."""
    value = 0
    for register in registers:
        value = (value << 16) | (register & 0xFFFF)
    return value


def header_registers(layout: RingLayout, counter: int) -> list[int]:
    return [
        *split32(counter),
        layout.slots,
        layout.width,
        layout.live_base,
        layout.live_count,
        0,
        0,
    ]


def parse_header(base: int, registers: list[int]) -> tuple[RingLayout, int]:
    """(layout, counter) from the 8 header registers; ValueError on a nonsensical header."""
    if len(registers) < HEADER_LEN:
        raise ValueError(f"ring header needs {HEADER_LEN} registers, got {len(registers)}")
    counter = join_registers(registers[0:2])
    slots, width, live_base, live_count = registers[2:6]
    if slots == 0 or width != SLOT_PREFIX + live_count:
        raise ValueError(f"ring header at {base} is inconsistent: {registers[:6]}")
    return RingLayout(base, slots, live_base, live_count), counter


def encode_slot(
    layout: RingLayout, counter: int, ts_ms: int, live: list[int]
) -> tuple[int, list[int]]:
    """(register offset, registers) of one sample's slot."""
    ts = [(ts_ms >> shift) & 0xFFFF for shift in (48, 32, 16, 0)]
    return layout.slot_offset(counter), [*split32(counter), *ts, *live]


def decode_slot(registers: list[int]) -> tuple[int, int, list[int]]:
    """(counter, timestamp ms, live registers) of one slot's registers."""
    return join_registers(registers[0:2]), join_registers(registers[2:6]), registers[6:]


def to_signed(register: int) -> int:
    """A 16-bit register as a signed integer (two's complement)."""
    return register - 0x10000 if register & 0x8000 else register


def holding_offset(address: str) -> int:
    """'holding:40001' -> 0; 'holding:7' -> 7. Errors name the address."""
    kind, _, number = address.partition(":")
    if kind != "holding" or not number.isdigit():
        raise ValueError(
            f"Modbus address {address!r}: expected holding:<register>, e.g. holding:40001"
        )
    value = int(number)
    if 40001 <= value <= 49999:
        return value - 40001
    if value > 65535:
        raise ValueError(f"Modbus address {address!r}: register beyond 65535")
    return value
