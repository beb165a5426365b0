"""`manage.py lookahead`: prove a spec's strategy never uses future bars.

    lookahead --spec FILE.yaml --candles FILE.csv [--name NAME] [--cuts 20] [--seed 0]
    lookahead NAME [--user U] [--cuts 20] [--seed 0]      (a stored spec over stored candles)

Signals are recomputed on prefixes of the data cut at random points; if any past
signal changes when later bars are added, the strategy looks ahead and the
command exits non-zero naming the first bars that changed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from inputs.text import printable
from strategies.lookahead import check_lookahead


class Command(BaseCommand):
    help = "Check that a Backtest spec's signals never change when future bars are added."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="a stored Backtest spec's name (uses stored candles)")
        parser.add_argument("--spec", metavar="FILE.yaml")
        parser.add_argument("--candles", metavar="FILE.csv")
        parser.add_argument(
            "--name", dest="doc_name", help="which Backtest of the file (default: the only one)"
        )
        parser.add_argument(
            "--user", help="owner of the stored spec (default: SPEC_OWNER or the only superuser)"
        )
        parser.add_argument("--cuts", type=int, default=20, help="random prefix cuts to try (default 20)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the cut points (default 0)")

    def handle(self, *args, **opts):
        import strategies.compile_ahead  # noqa: F401 (registers the kernels this command runs)
        from engine.compile_ahead import ensure_compiled

        if opts["cuts"] < 1:
            raise CommandError("--cuts must be at least 1")
        doc, candles = self._inputs(opts)
        ensure_compiled(lambda line: self.stderr.write(line, style_func=str))
        report = check_lookahead(
            doc["strategy"],
            doc["params"],
            candles.open,
            candles.high,
            candles.low,
            candles.close,
            candles.volume,
            cuts=opts["cuts"],
            seed=opts["seed"],
        )
        self.stdout.write(f"{doc['name']}: {report.summary()}")
        if not report.ok:
            raise CommandError(f"{doc['name']}: signals change when future bars are added (lookahead)")

    def _inputs(self, opts):
        if opts["spec"] or opts["candles"]:
            if not (opts["spec"] and opts["candles"]):
                raise CommandError("file mode needs both --spec FILE.yaml and --candles FILE.csv")
            from backtests.file_run import FileRunError, backtest_document, candles_from_file

            try:
                doc = backtest_document(opts["spec"], opts["doc_name"])
                market = doc["market"]
                candles = candles_from_file(
                    opts["candles"], timeframe=market["timeframe"], start=market["start"], end=market["end"]
                )
            except FileRunError as exc:
                raise CommandError(printable(str(exc))) from None
            return doc, candles
        if not opts["name"]:
            raise CommandError("give a stored Backtest spec NAME, or --spec FILE.yaml --candles FILE.csv")
        from backtests.run_config import RunConfigError, backtest_spec_for
        from marketdata.read import NoCandles, candles_load
        from specs.owners import resolve_owner

        try:
            spec = backtest_spec_for(resolve_owner(opts["user"]), opts["name"])
            market = spec.data["market"]
            candles = candles_load(market["symbol"], market["timeframe"], market["start"], market["end"])
        except (RunConfigError, NoCandles) as exc:
            raise CommandError(str(exc)) from None
        return spec.data, candles
