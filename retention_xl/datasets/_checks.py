"""Argument checks shared by the generators; messages name the argument and value."""

from __future__ import annotations

import numpy as np

from retention_xl.errors import InputError, OutOfRangeError

__all__ = ["check_count", "check_seed", "check_share"]


def check_seed(value: object) -> int:
    """A seed: a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"seed must be a whole number >= 0, got {value!r}", argument="seed")
    return int(value)


def check_count(value: object, name: str) -> int:
    """A count: a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise OutOfRangeError(f"{name} must be a whole number >= 0, got {value!r}", argument=name)
    return int(value)


def check_share(value: object, name: str) -> float:
    """A share: a number between 0 and 1."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0 <= value <= 1
    ):
        raise OutOfRangeError(
            f"{name} must be a share between 0 and 1, got {value!r}", argument=name
        )
    return float(value)
