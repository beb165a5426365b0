"""Small explicit builders for tests: users, specs, candles and runs with real results.

Nothing here is random unless a seed says so, and nothing goes through the task queue:
``make_run`` runs the engine in-process and saves the results the way a worker does.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import numpy as np
import yaml
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backtests.models import BacktestRun
from backtests.services import run_results_store
from engine.runner import BacktestResult, run_backtest, simulate
from jobs.models import JobStatus
from marketdata.parse import RawCandles
from marketdata.services import candles_ingest
from marketdata.timeframes import timeframe_ms
from specs.models import Spec, SpecKind
from specs.services import content_hash
from strategies.registry import get_strategy
from tests.walks import random_walk

PASSWORD = "correct horse battery staple"
T0_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
EMA_CROSS_PARAMS = {"fast_period": 12, "slow_period": 26, "leverage": 1, "stop_loss_percent": 2.0}


# --- users and specs -----------------------------------------------------------------


def make_user(username: str = "alice", staff: bool = False, *, password: str = PASSWORD):
    """A user who can log in with ``password``; ``staff`` sees every run."""
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=password, is_staff=staff
    )


def token_client(user) -> APIClient:
    """An API client that authenticates as ``user`` with their token (made if need be)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def backtest_data(
    name: str = "ema-btc-1h",
    *,
    strategy: str = "ema_cross",
    params: dict[str, Any] | None = None,
    symbol: str = "BTC-USDT-SWAP",
    timeframe: str = "1h",
    start: str | None = "2024-01-01",
    end: str | None = None,
    execution: dict[str, Any] | None = None,
    report: str | None = None,
) -> dict[str, Any]:
    """The data of a Backtest spec (what ``spec_apply`` would store, defaults filled in).
    ``params`` None means ``EMA_CROSS_PARAMS``; given params are used as they are (the
    engine fills in the strategy's defaults for the missing ones)."""
    return {
        "kind": "Backtest",
        "name": name,
        "strategy": strategy,
        "params": dict(params) if params is not None else dict(EMA_CROSS_PARAMS),
        "market": {"symbol": symbol, "timeframe": timeframe, "start": start, "end": end},
        "execution": {
            "initial_capital": 10000,
            "fee_rate": 0.0004,
            "slippage_bps": 0,
            "fill": "next_open",
            **(execution or {}),
        },
        "report": report,
    }


def layout_data(name: str, sections: list[dict[str, Any]], *, title: str | None = None) -> dict[str, Any]:
    """The data of a ReportLayout spec."""
    return {"kind": "ReportLayout", "name": name, "title": title, "sections": sections}


def make_spec(
    owner,
    kind: str = SpecKind.BACKTEST,
    name: str | None = None,
    data: dict[str, Any] | None = None,
    yaml_text: str | None = None,
) -> Spec:
    """The next version of ``owner``'s ``kind`` spec ``name``, stored as given (no
    validation: tests that need the validator go through ``specs.services``)."""
    if data is None:
        if kind != SpecKind.BACKTEST:
            raise ValueError(f"give the data of a {kind} spec (layout_data builds a ReportLayout's)")
        data = backtest_data(name or "ema-btc-1h")
    data = copy.deepcopy(data)
    name = name or data.get("name") or "spec"
    data["name"] = name
    latest = Spec.objects.filter(owner=owner, kind=kind, name=name).order_by("-version").first()
    return Spec.objects.create(
        owner=owner,
        kind=kind,
        name=name,
        version=(latest.version + 1) if latest else 1,
        yaml_text=yaml_text if yaml_text is not None else yaml.safe_dump(data, sort_keys=False),
        data=data,
        content_hash=content_hash(data),
    )


# --- candles ---------------------------------------------------------------------------


def random_walk_candles(
    bars: int,
    *,
    timeframe: str = "1h",
    start_ms: int = T0_MS,
    seed: int = 1,
    price: float = 40_000.0,
    volatility: float = 0.004,
) -> dict[str, np.ndarray]:
    """``bars`` OHLCV bars of a seeded geometric random walk (``volatility``: std of the
    log return per bar), as the engine's column mapping: ts int64 ms, the rest float64;
    open = previous close."""
    return random_walk(
        bars, first_ms=start_ms, step_ms=timeframe_ms(timeframe), seed=seed, sigma=volatility, price=price
    )


def store_candles(symbol: str, timeframe: str, candles: dict[str, np.ndarray]) -> None:
    """Store ``candles`` (the mapping ``random_walk_candles`` returns) through the real
    load path, so ``candles_load`` finds them."""
    n = len(candles["ts"])
    raw = RawCandles(
        ts=np.asarray(candles["ts"], dtype=np.int64),
        open=candles["open"],
        high=candles["high"],
        low=candles["low"],
        close=candles["close"],
        volume=candles["volume"],
        ts_bad=np.zeros(n, dtype=bool),
        number_bad=np.zeros(n, dtype=bool),
        locations=np.arange(n, dtype=np.int64),
        malformed=np.empty(0, dtype=np.int64),
        source="tests.factories",
    )
    candles_ingest(symbol=symbol, timeframe=timeframe, raw=raw, source="tests.factories")


def walk_spec(owner, name: str, *, symbol: str, bars: int, seed: int, start: str, end: str) -> Spec:
    """``owner``'s ema_cross Backtest spec ``name`` on ``symbol`` 1h from ``start`` to
    ``end``, with ``bars`` hourly random-walk candles (from 2024-01-01, ``seed``) stored."""
    store_candles(symbol, "1h", random_walk_candles(bars, timeframe="1h", seed=seed))
    return make_spec(owner, data=backtest_data(name, symbol=symbol, start=start, end=end))


# --- runs ------------------------------------------------------------------------------


def engine_result(run: BacktestRun, candles, *, timeframe_minutes: float) -> BacktestResult:
    """What the engine gives for ``run``'s strategy, params and execution over ``candles``
    in this process: what the worker that ran it must have saved."""
    config = run.config
    return run_backtest(
        candles,
        get_strategy(run.strategy),
        config["params"],
        config["execution"],
        timeframe_minutes=timeframe_minutes,
    )


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def make_run(
    owner,
    spec: Spec,
    *,
    status: str = JobStatus.SUCCEEDED,
    with_results: bool = True,
    bars: int = 2000,
    trades: bool = True,
    seed: int = 1,
    error: str = "",
    candles: dict[str, np.ndarray] | None = None,
    store: bool = False,
) -> BacktestRun:
    """A run of ``spec`` (a Backtest) in ``status``.

    A succeeded run ``with_results`` gets the engine's real results over ``bars`` bars
    of ``random_walk_candles(seed=seed)`` (or the given ``candles``): the spec's strategy
    when ``trades`` is true, no signals at all when it is false. Other statuses get no
    results (a failed run gets ``error``). ``store`` also stores the candles (for the
    price chart). Returns the run reloaded from the database.
    """
    config = {
        key: copy.deepcopy(spec.data.get(key))
        for key in ("strategy", "params", "market", "execution", "report")
    }
    market = config["market"] or {}
    now = timezone.now()
    run = BacktestRun.objects.create(
        spec=spec,
        owner=owner,
        config=config,
        strategy=config["strategy"],
        symbol=market.get("symbol", ""),
        timeframe=market.get("timeframe", ""),
        period_start=_period(market.get("start")),
        period_end=_period(market.get("end")),
        status=status,
        started_at=None if status == JobStatus.QUEUED else now,
        finished_at=now if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED) else None,
        error=error or ("the engine raised: boom" if status == JobStatus.FAILED else ""),
        worker="tests:0" if status != JobStatus.QUEUED else "",
    )
    if status == JobStatus.SUCCEEDED and with_results:
        if candles is None:
            start_ms = int(run.period_start.timestamp() * 1000) if run.period_start else T0_MS
            candles = random_walk_candles(bars, timeframe=run.timeframe or "1h", start_ms=start_ms, seed=seed)
        if store:
            store_candles(run.symbol, run.timeframe, candles)
        if trades:
            result = run_backtest(candles, get_strategy(run.strategy), config["params"], config["execution"])
        else:
            result = simulate(
                candles["ts"],
                candles["open"],
                candles["high"],
                candles["low"],
                candles["close"],
                np.zeros(len(candles["ts"]), dtype=np.int8),
                config["execution"],
            )
        save_results(run, candles["ts"], result)
    return BacktestRun.objects.select_related("spec", "owner").get(pk=run.pk)


def _period(value) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def save_results(run: BacktestRun, ts: np.ndarray, result: BacktestResult) -> None:
    """Store ``result`` for ``run`` exactly as a worker does (trades, equity, metrics)."""
    with transaction.atomic():
        run_results_store(run_id=run.pk, ts=ts, result=result)
