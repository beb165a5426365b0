"""The built-in strategies; importing this module registers each of them once."""

from __future__ import annotations

from strategies import ema_cross, hyperrsi

__all__ = ["ema_cross", "hyperrsi"]
