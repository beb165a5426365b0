"""Load candles from a CSV or Parquet file, or from the live system's Redis key.

    manage.py load_candles FILE --symbol BTC-USD --timeframe 15m [--skip-invalid]
    manage.py load_candles --redis candles_with_indicators:BTC-USDT-SWAP:1m [--redis-url URL]

See docs/marketdata.md for the accepted formats and the validation rules.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inputs.text import printable
from marketdata.parse import CandleFileError
from marketdata.parse_file import file_read
from marketdata.parse_redis import redis_key_parse, redis_read, url_redact
from marketdata.services import CandlesInvalid, IngestResult, candle_limits, candles_ingest

GAPS_SHOWN = 5


class Command(BaseCommand):
    help = "Validate and upsert OHLCV candles from a CSV/Parquet file or a Redis key; print coverage."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV (optionally compressed) or Parquet file")
        parser.add_argument("--symbol", help="series symbol, e.g. BTC-USD (files only)")
        parser.add_argument("--timeframe", help="1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d (files only)")
        parser.add_argument("--redis", metavar="KEY", help="candles_with_indicators:{symbol}:{timeframe}")
        parser.add_argument("--redis-url", help="Redis to read --redis from (default: settings.REDIS_URL)")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="load the valid rows and report the others"
        )

    def handle(self, *args, **options):
        try:
            symbol, timeframe, raw, source = self._read(options)
            result = candles_ingest(
                symbol=symbol,
                timeframe=timeframe,
                raw=raw,
                source=source,
                skip_invalid=options["skip_invalid"],
                progress=self.stdout.isatty(),
            )
        except CandlesInvalid as exc:
            raise CommandError(
                printable(
                    f"{exc}\nNothing was loaded. Fix these rows, "
                    "or pass --skip-invalid to load only the valid ones."
                )
            ) from None
        except (CandleFileError, ValueError) as exc:
            # A file's bytes may be in the message (a header, a cell): never raw to a terminal.
            raise CommandError(printable(str(exc))) from None
        self._report(result)

    def _read(self, options):
        if options["redis"]:
            if options["file"] or options["symbol"] or options["timeframe"]:
                raise CommandError(
                    "--redis takes the symbol and timeframe from the key: "
                    "give no FILE, --symbol or --timeframe"
                )
            url = options["redis_url"] or getattr(settings, "REDIS_URL", "")
            if not url:
                raise CommandError("--redis needs a Redis: pass --redis-url or set REDIS_URL")
            symbol, timeframe = redis_key_parse(options["redis"])
            return (
                symbol,
                timeframe,
                redis_read(options["redis"], url=url, limits=candle_limits()),
                f"redis:{options['redis']} at {url_redact(url)}",
            )
        if not options["file"]:
            raise CommandError("give a FILE with --symbol and --timeframe, or --redis KEY")
        missing = [f"--{name}" for name in ("symbol", "timeframe") if not options[name]]
        if missing:
            raise CommandError(f"loading a file needs {' and '.join(missing)}")
        raw = file_read(options["file"], limits=candle_limits())
        return options["symbol"], options["timeframe"], raw, str(options["file"])

    def _report(self, result: IngestResult) -> None:
        series = result.series
        if result.rejected:
            self.stdout.write(self.style.WARNING(f"Skipped {result.rejected} invalid rows (--skip-invalid):"))
            for line in result.report.lines():
                self.stdout.write(printable(f"  {line}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {series.symbol} {series.timeframe}: {result.written} rows: "
                f"{result.inserted} inserted, "
                f"{result.updated} updated, {result.unchanged} unchanged ({result.seconds:.2f} s)"
            )
        )
        self.stdout.write(
            f"Coverage: {series.row_count} bars from {series.first_ts:%Y-%m-%dT%H:%M:%SZ} "
            f"to {series.last_ts:%Y-%m-%dT%H:%M:%SZ}; {series.zero_volume_count} with zero volume; "
            f"{_count(series.gap_count, 'gap')} ({_count(series.missing_bars, 'missing bar')})"
        )
        for gap in series.gaps[:GAPS_SHOWN]:
            self.stdout.write(
                f"  gap {gap['start']} → {gap['end']}: {_count(gap['missing_bars'], 'missing bar')}"
            )
        if len(series.gaps) > GAPS_SHOWN:
            self.stdout.write(
                f"  … {series.gap_count - GAPS_SHOWN} more (see the admin or /api/v1/candles/coverage/)"
            )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
