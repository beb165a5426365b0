"""``manage.py report RUN_ID [--pdf OUT.pdf] [--html OUT.html]``: write a run's report.

The same document as ``/runs/<id>/`` (its ReportLayout, or the status page for a run
that has not succeeded), self-contained: the stylesheet and the SVG charts are inline.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backtests.models import BacktestRun


class Command(BaseCommand):
    help = "Write the report of a backtest run as PDF (--pdf) and/or HTML (--html)."

    def add_arguments(self, parser):
        parser.add_argument("run_id", type=int, help="the id of the BacktestRun")
        parser.add_argument("--pdf", type=Path, metavar="OUT.pdf", help="write the PDF here")
        parser.add_argument("--html", type=Path, metavar="OUT.html", help="write the HTML page here")

    def handle(self, *args, run_id: int, pdf: Path | None, html: Path | None, **options):
        from reports.pdf import html_to_pdf
        from reports.render import run_report_html

        if pdf is None and html is None:
            raise CommandError("nothing to write: give --pdf OUT.pdf and/or --html OUT.html")
        run = BacktestRun.objects.select_related("spec__owner", "owner").filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"no backtest run with id {run_id}")
        for target in (pdf, html):
            if target is not None and not target.parent.exists():
                raise CommandError(f"cannot write {target}: the directory {target.parent} does not exist")
        if html is not None:
            html.write_text(run_report_html(run), encoding="utf-8")
            self.stdout.write(f"wrote {html}")
        if pdf is not None:
            # seconds of charts and WeasyPrint: say so (stderr: stdout lists what was written)
            self.stderr.write(
                f"rendering the PDF of run {run_id} (charts, then the layout: a few seconds)...",
                style_func=str,
            )
            pdf.write_bytes(html_to_pdf(run_report_html(run, pdf=True)))
            self.stdout.write(f"wrote {pdf}")
        if run.status != "succeeded":
            self.stderr.write(f"run {run_id} is {run.status}: the report shows its status, not results")
