"""Fixtures for the strategy and indicator tests (no database needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SAMPLE_CSV_GZ = Path(__file__).resolve().parents[2] / "data" / "btcusd_15m_2021q4.csv.gz"


@pytest.fixture(scope="session")
def btc() -> dict[str, np.ndarray]:
    """The bundled real BTC 15m sample as contiguous float64 columns open..volume."""
    frame = pd.read_csv(SAMPLE_CSV_GZ)
    return {
        name: np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64))
        for name in ("open", "high", "low", "close", "volume")
    }
