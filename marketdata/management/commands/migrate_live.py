"""Load everything the live trading system's Redis holds into the database.

    manage.py migrate_live [--pattern GLOB] [--dry-run]

SCANs the live Redis (``LIVE_REDIS_URL``) for keys of ``LIVE_KEY_PATTERN`` (or the
glob ``--pattern``), validates each key's closed bars exactly as a file load does,
and upserts each series in one transaction. A series with a bad key name or a bad
item is refused with the reason; the others are loaded. Exits non-zero when any was
refused. See docs/marketdata.md.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from marketdata.live import LiveUnavailable
from marketdata.sync import LiveNotConfigured, SeriesMigration, live_migrate


class Command(BaseCommand):
    help = "Validate and upsert every series the live Redis holds; print a summary per series."

    def add_arguments(self, parser):
        parser.add_argument(
            "--pattern", help="SCAN MATCH glob of the keys to load (default: every key of LIVE_KEY_PATTERN)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count, then roll every load back"
        )

    def handle(self, *args, **options):
        bar = tqdm(unit="keys", desc="live keys", disable=not self.stdout.isatty())
        try:
            keys, results = live_migrate(
                match=options["pattern"], dry_run=options["dry_run"], on_key=lambda _: bar.update(1)
            )
        except (LiveNotConfigured, LiveUnavailable) as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        if not keys:
            self.stdout.write("No live keys matched.")
            return
        for item in results:
            self._series(item)
        refused = [item for item in results if item.error]
        verb = "would load" if options["dry_run"] else "loaded"
        summary = f"{len(keys)} key(s): {verb} {len(results) - len(refused)} series, refused {len(refused)}"
        if options["dry_run"]:
            summary += " (dry run: nothing was written)"
        if refused:
            raise CommandError(summary + ": " + ", ".join(item.key for item in refused))
        self.stdout.write(self.style.SUCCESS(summary))

    def _series(self, item: SeriesMigration) -> None:
        if item.error:
            self.stdout.write(self.style.ERROR(f"REFUSED {item.key}: {item.error}"))
            return
        result = item.result
        assert result is not None
        series = result.series
        self.stdout.write(
            f"{item.key} → {series.symbol} {series.timeframe}: {result.inserted} new, "
            f"{result.updated} changed, {result.unchanged} unchanged"
            + (f", {item.unclosed} unclosed left for the sync" if item.unclosed else "")
            + f"; coverage {series.row_count} bars {series.first_ts:%Y-%m-%dT%H:%M:%SZ} → "
            f"{series.last_ts:%Y-%m-%dT%H:%M:%SZ}, {series.gap_count} gap(s) "
            f"({series.missing_bars} missing bars)"
        )
