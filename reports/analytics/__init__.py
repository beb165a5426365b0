"""Report-side figures computed from a run's stored equity curve, trades and candles.

Framework-free (numpy only) and vectorised: no Python loop over bars. The engine's
contract metrics stay the engine's; everything here is derived from its outputs for
the report, the comparison page and ``GET /api/v1/runs/<id>/analytics/``.
Definitions and references: docs/reports.md ("Analytics").

Modules: ``returns`` (bar and calendar-period returns), ``benchmark`` (buy and hold of
the same market), ``drawdowns`` (drawdown periods), ``distribution`` (daily-return
distribution), ``periods`` (best/worst day, month, year), ``trades`` (breakdowns of
the trade list), ``summary`` (all of it as one JSON-ready mapping).
"""
