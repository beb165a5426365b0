"""`manage.py backtest`: run a Backtest spec, queued or straight from files.

Two forms (docs/commands.md):

    backtest NAME [--spec-version N] [--set params.rsi_period=10 …] [--wait | --inline] [--json] [--user U]
        queue a run of the stored spec NAME (latest version unless --spec-version);
        --wait follows it to the end and prints its metrics (at once an error when no
        worker is running); --inline runs it in this process instead of a worker.

    backtest --spec FILE.yaml --candles FILE.csv [--name NAME] [--json OUT.json]
        run one spec over a CSV with no database and write
        {"metrics": …, "trades": […], "equity": […]} (or print the metrics).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from inputs.text import printable
from jobs.follow import add_queue_arguments, queue_and_follow, raise_unless_succeeded


def parse_set(items: list[str]) -> dict:
    """``["params.rsi_period=10", "market.start=2024-01-01"]`` → nested overrides.

    Values are read exactly as YAML values of a spec file are (``specs.parsing``): 10 is
    an int, true a bool, 0.5 a float, and a date or date-time (2021-09-01) stays its text,
    which the market checks then parse, as they do in a spec.
    """
    from specs.parsing import parse_text

    overrides: dict = {}
    for item in items:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            raise CommandError(f"--set {item!r}: expected PATH=VALUE, e.g. params.rsi_period=10")
        value: object = ""
        if raw.strip():
            try:
                parsed = parse_text(raw, source="--set")
            except RecursionError:  # the YAML composer recurses per nesting level
                raise CommandError(f"--set {item!r}: the value is nested too deeply") from None
            if parsed.errors:
                problem = parsed.errors[0]
                raise CommandError(f"--set {item!r}: the value is not a valid YAML value ({problem.message})")
            value = parsed.documents[0].data if parsed.documents else None
        keys = path.strip().split(".")
        node = overrides
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise CommandError(f"--set {item!r}: {key!r} is set twice with different shapes")
        node[keys[-1]] = value
    return overrides


def format_metrics(metrics: dict) -> str:
    """One metric a line, each with its unit: percentages, durations, money in the quote
    currency, ratios (``reports.format``); an undefined metric is "—". --json keeps the
    raw numbers."""
    from engine.format import metric_with_unit

    width = max(len(name) for name in metrics)
    return "\n".join(f"  {name:<{width}}  {metric_with_unit(name, value)}" for name, value in metrics.items())


class Command(BaseCommand):
    help = "Queue (or wait for) a run of a stored Backtest spec, or run a spec file over a CSV file."
    # File mode works without a database; the admin/model checks only cost start-up time.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="a stored Backtest spec's name")
        parser.add_argument("--spec-version", type=int, help="that version of the spec (default: latest)")
        parser.add_argument(
            "--set", action="append", default=[], metavar="PATH=VALUE", help="override a field"
        )
        parser.add_argument(
            "--json",
            nargs="?",
            const="-",
            metavar="OUT.json",
            help="print JSON (queued mode), or write the full result to OUT.json (file mode)",
        )
        add_queue_arguments(parser, what="run", it="it", then="print its metrics")
        parser.add_argument("--spec", metavar="FILE.yaml", help="file mode: the spec file")
        parser.add_argument(
            "--candles", metavar="FILE.csv", help="file mode: candles (timestamp,open,high,low,close,volume)"
        )
        parser.add_argument(
            "--name", dest="doc_name", help="file mode: which Backtest of the file (default: the only one)"
        )

    def handle(self, *args, **opts):
        import strategies.compile_ahead  # noqa: F401 (registers the kernels this command runs)
        from engine.compile_ahead import ensure_compiled

        # Compiling takes about a minute when `make kernels` has not run: say so, on
        # stderr (stdout may be the JSON). A run done by a worker loads the same cache.
        ensure_compiled(lambda line: self.stderr.write(line, style_func=str))
        if opts["spec"] or opts["candles"]:
            if opts["name"]:
                raise CommandError("give either NAME or --spec/--candles, not both")
            if not (opts["spec"] and opts["candles"]):
                raise CommandError("file mode needs both --spec FILE.yaml and --candles FILE.csv")
            return self.handle_files(opts)
        if not opts["name"]:
            raise CommandError("give a Backtest spec NAME, or --spec FILE.yaml --candles FILE.csv")
        return self.handle_queued(opts)

    # --- queued mode -------------------------------------------------------------
    def handle_queued(self, opts):
        from backtests import services
        from backtests.run_config import RunConfigError, backtest_spec_for
        from jobs.models import JobStatus
        from specs.owners import resolve_owner

        owner = resolve_owner(opts["user"])
        overrides = parse_set(opts["set"])

        def enqueue():
            spec = backtest_spec_for(owner, opts["name"], opts["spec_version"])
            return spec, services.run_enqueue(spec=spec, owner=owner, overrides=overrides)

        as_json = opts["json"] is not None
        run = queue_and_follow(self, opts, enqueue=enqueue, errors=RunConfigError, as_json=as_json)
        if run is None:
            return
        if as_json:
            body = {"id": run.pk, "status": run.status, "error": run.error, "metrics": run.ordered_metrics}
            self.stdout.write(json.dumps(body))
        elif run.status == JobStatus.SUCCEEDED:
            self.stdout.write(f"run {run.pk} succeeded: {run.candle_count:,} bars, {run.total_trades} trades")
            self.stdout.write(format_metrics(run.ordered_metrics))
        raise_unless_succeeded(run)

    # --- file mode ---------------------------------------------------------------
    def handle_files(self, opts):
        from backtests.file_run import FileRunError, run_spec_file

        try:
            result, doc = run_spec_file(opts["spec"], opts["candles"], name=opts["doc_name"])
        except FileRunError as exc:
            raise CommandError(printable(str(exc))) from None
        out = opts["json"]
        if out and out != "-":
            with open(out, "w", encoding="utf-8") as handle:
                json.dump(result.to_json_dict(), handle, allow_nan=False)
            self.stdout.write(
                f"{doc['name']}: {len(result.equity):,} bars, {len(result.trades)} trades; wrote {out}"
            )
        elif out == "-":
            self.stdout.write(json.dumps(result.to_json_dict(), allow_nan=False))
        else:
            self.stdout.write(f"{doc['name']}: {len(result.equity):,} bars, {len(result.trades)} trades")
            self.stdout.write(format_metrics(result.metrics))
