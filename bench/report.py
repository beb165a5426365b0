"""Report page speed for a long run: first (cold-cache) and second (cached) render.

    .venv/bin/python bench/report.py [--bars 1000000] [--keep] [--save /tmp]

Uses the normal settings and the project's services (.services/env: PostgreSQL +
TimescaleDB, Redis); the database must be migrated (``manage.py migrate``). Builds,
through ``tests.factories``, a user, a Backtest spec with the default layout, a
random-walk 1m series of ``--bars`` candles stored through the real load path, and a
succeeded HYPERRSI run over it; then times GET /runs/<id>/ twice through Django's test
client (cold chart cache, then warm) and the PDF once. Everything it made is deleted
at the end unless ``--keep`` (then it prints the run's URL).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from services_env import django_setup

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the run (and its data) to look at it")
    parser.add_argument("--save", type=Path, metavar="DIR", help="also write the page and the PDF into DIR")
    args = parser.parse_args()

    django_setup(STATIC_MANIFEST="0")
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from backtests.models import BacktestRun
    from marketdata.services import candles_delete
    from specs.models import Spec, SpecKind
    from tests.factories import backtest_data, make_run, make_spec, make_user, random_walk_candles

    tag = f"bench{os.getpid()}"
    symbol = f"{tag.upper()}-USDT-SWAP"
    t0 = time.perf_counter()
    user = make_user(tag, staff=False)
    params = {
        "rsi_period": 14,
        "rsi_oversold": 30,
        "rsi_overbought": 70,
        "leverage": 3,
        "stop_loss_percent": 2.0,
    }
    data = backtest_data(f"{tag}-hyperrsi", strategy="hyperrsi", params=params, symbol=symbol, timeframe="1m")
    spec = make_spec(user, SpecKind.BACKTEST, data["name"], data)
    # 0.05% per minute is about 36% a year: BTC-like, so the run neither busts nor idles
    candles = random_walk_candles(args.bars, timeframe="1m", seed=42, volatility=0.0005)
    run = make_run(user, spec, candles=candles, store=True)
    built = time.perf_counter() - t0
    try:
        cache.delete_pattern(f"report:*:run{run.pk}:*")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        url = reverse("reports:run-report", args=[run.pk])

        def timed(path: str, save_as: str) -> tuple[float, int, int]:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code)
            if args.save:
                (args.save / save_as).write_bytes(response.content)
            return elapsed, len(response.content), response.content.count(b'<svg class="chart-svg"')

        first, size, charts = timed(url, "bench-report.html")
        second, _, _ = timed(url, "bench-report.html")
        third, _, _ = timed(url, "bench-report.html")
        pdf, pdf_size, _ = timed(reverse("reports:run-pdf", args=[run.pk]), "bench-report.pdf")

        print(f"run {run.pk}: {run.candle_count:,} bars of {symbol} 1m, {run.total_trades:,} trades")
        print(f"built (candles stored, engine run, results saved) in {built:.1f} s")
        print(f"page: {size / 1e6:.2f} MB HTML with {charts} inline SVG charts")
        print(f"first render  (charts drawn, cache cold): {first * 1000:8.0f} ms")
        print(f"second render (charts from the cache):    {second * 1000:8.0f} ms")
        print(f"third render  (charts from the cache):    {third * 1000:8.0f} ms")
        print(f"PDF (charts from the cache):              {pdf * 1000:8.0f} ms, {pdf_size / 1e6:.2f} MB")
        if args.save:
            print(f"wrote {args.save / 'bench-report.html'} and {args.save / 'bench-report.pdf'}")
        if args.keep:
            print(f"kept: log in as a staff user and open {url}")
    finally:
        if not args.keep:
            cache.delete_pattern(f"report:*:run{run.pk}:*")
            BacktestRun.objects.filter(owner=user).delete()
            Spec.objects.filter(owner=user).delete()
            candles_delete(symbol=symbol)
            user.delete()


if __name__ == "__main__":
    main()
