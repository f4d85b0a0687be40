"""Every seed of a run derives from params' `seed` and a stable name, never from order or batch."""

from __future__ import annotations

import zlib


def derive_seed(base: int, key: str) -> int:
    """The seed for `key` (a problem source, a request id) under the run seed `base`: in [0, 2**31).

    >>> derive_seed(0, "train:0"), derive_seed(1, "train:0") != derive_seed(0, "train:0")
    (1625581831, True)
    """
    return (base * 1_000_003 + zlib.crc32(key.encode())) % (2**31)
