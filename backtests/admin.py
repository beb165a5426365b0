"""Admin registrations of the backtests app; each concept registers in its own module."""

from backtests import runs_admin  # noqa: F401
from backtests.marketdata import admin as marketdata_admin  # noqa: F401
