"""Report page speed for a long run: first (cold-cache) and second (cached) render.

    .venv/bin/python bench/report.py [--bars 100000] [--keep] [--save /tmp]

Uses the normal settings and the project's services (.services/env: PostgreSQL +
TimescaleDB, Redis); the database must be migrated (``manage.py migrate``). Builds,
through ``tests.factories``, a user, a Backtest spec with the default layout, a
random-walk 1m series of ``--bars`` candles stored through the real load path, and a
succeeded HYPERRSI run over it (the default layout: the full tear sheet). A small run is
rendered first, so the process has imported and loaded everything, as a serving worker
has; then GET /runs/<id>/ is timed with the run's caches empty (charts drawn, analytics
computed), then twice from the cache, and the PDF printed, then served from its cache.
Wall time and the process's CPU time are printed: on a shared machine the wall time
includes waiting for a core (the load average is printed too). Everything it made is
deleted at the end unless ``--keep`` (then it prints the run's URL).
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

from services_env import django_setup

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=100_000)
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
    warm = make_run(user, spec, candles=random_walk_candles(2_000, timeframe="1m", seed=7), store=False)
    built = time.perf_counter() - t0
    try:
        for pk in (run.pk, warm.pk):
            cache.delete_pattern(f"report:*:run{pk}:*")
            cache.delete_pattern(f"report:*:run{pk}")
        client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_ENCODING="gzip")
        client.force_login(user)
        url = reverse("reports:run-report", args=[run.pk])

        def timed(path: str, save_as: str) -> tuple[float, float, int, int]:
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert response.status_code == 200, (path, response.status_code)
            body = response.content
            sent = len(body)
            if response.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if args.save:
                (args.save / save_as).write_bytes(body)
            return elapsed, cpu, len(body), sent

        timed(reverse("reports:run-report", args=[warm.pk]), "bench-warm-up.html")
        first = timed(url, "bench-report.html")
        second = timed(url, "bench-report.html")
        third = timed(url, "bench-report.html")
        pdf_first = timed(reverse("reports:run-pdf", args=[run.pk]), "bench-report.pdf")
        pdf_cached = timed(reverse("reports:run-pdf", args=[run.pk]), "bench-report.pdf")
        html = (args.save / "bench-report.html").read_bytes() if args.save else b""

        print(f"run {run.pk}: {run.candle_count:,} bars of {symbol} 1m, {run.total_trades:,} trades")
        print(f"built (candles stored, engine run, results saved) in {built:.1f} s")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} (2 cores)")
        print(f"page: {first[2] / 1e3:.0f} KB HTML, {first[3] / 1e3:.0f} KB sent gzipped", end="")
        charts = html.count(b'<svg class="chart-svg"')
        print(f", {charts} inline SVG charts" if html else "")
        print("                                           wall      CPU")
        for label, (wall, cpu, _, _) in (
            ("first render  (charts drawn, cache cold)", first),
            ("second render (from the cache)          ", second),
            ("third render  (from the cache)          ", third),
            ("PDF, first (printed)                    ", pdf_first),
            ("PDF, again (from the cache)             ", pdf_cached),
        ):
            print(f"{label}  {wall * 1000:7.0f} ms {cpu * 1000:7.0f} ms")
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
