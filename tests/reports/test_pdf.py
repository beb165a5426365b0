"""The PDF: produced by WeasyPrint, A4, numbered pages, the report's text, vector charts."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from jobs.models import JobStatus
from specs.models import SpecKind
from tests.factories import backtest_data, layout_data, make_run, make_spec

pytestmark = pytest.mark.django_db

A4_POINTS = (595.28, 841.89)


def _read(content: bytes) -> pypdf.PdfReader:
    assert content.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(content))


def _text(reader: pypdf.PdfReader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


def test_it_downloads_a_numbered_a4_pdf_of_the_report(alice_client, run_with_trades):
    response = alice_client.get(reverse("reports:run-pdf", args=[run_with_trades.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == f'attachment; filename="run-{run_with_trades.pk}-ema-btc-1h.pdf"'
    )
    reader = _read(response.content)
    pages = len(reader.pages)
    # text, metrics, 6 charts, 2 tables and the provenance do not fit on one or two pages
    assert pages >= 3
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (width, height) == pytest.approx(A4_POINTS, abs=0.5)
    texts = _text(reader)
    for number, text in enumerate(texts, start=1):
        assert re.search(rf"\b{number} / {pages}\b", text), (number, text[-200:])
    everything = "\n".join(texts)
    for expected in (
        "All sections",
        "Why this run",
        "Total return",
        "Price, indicators and trades",
        "strategy: ema_cross",
    ):
        assert expected in everything
    assert "Download PDF" not in everything  # no page furniture in print


def test_it_fits_a_short_report_on_one_page(alice, client):
    from tests.reports.conftest import login

    sections = [
        {"type": "metrics", "metrics": ["total_return", "sharpe_ratio"]},
        {"type": "text", "text": "Short."},
    ]
    make_spec(alice, SpecKind.REPORT_LAYOUT, "short", layout_data("short", sections))
    spec = make_spec(alice, SpecKind.BACKTEST, "s", backtest_data("s", report="short"))
    run = make_run(alice, spec, bars=300)
    login(client, alice)
    reader = _read(client.get(reverse("reports:run-pdf", args=[run.pk])).content)
    assert len(reader.pages) == 1
    text = _text(reader)[0]
    assert "1 / 1" in text and "Short." in text and "Sharpe ratio" in text


def test_it_keeps_charts_as_vectors_in_the_pdf(alice, client):
    from tests.reports.conftest import login

    make_spec(alice, SpecKind.REPORT_LAYOUT, "eq", layout_data("eq", [{"type": "chart", "chart": "equity"}]))
    spec = make_spec(alice, SpecKind.BACKTEST, "s", backtest_data("s", report="eq"))
    run = make_run(alice, spec, bars=300)
    login(client, alice)
    reader = _read(client.get(reverse("reports:run-pdf", args=[run.pk])).content)
    page = reader.pages[0]
    resources = page.get("/Resources") or {}
    xobjects = resources.get("/XObject") or {}
    images = [name for name, obj in xobjects.items() if obj.get_object().get("/Subtype") == "/Image"]
    assert images == []  # no raster: the chart is drawn with paths
    assert "equity (USDT)" in _text(reader)[0]  # the axis label is real text


def test_the_command_writes_the_pdf_and_the_html(tmp_path, run_with_trades):
    pdf, html = tmp_path / "out.pdf", tmp_path / "out.html"
    call_command("report", str(run_with_trades.pk), "--pdf", str(pdf), "--html", str(html))
    reader = _read(pdf.read_bytes())
    assert len(reader.pages) >= 3
    page = html.read_text()
    assert page.count('<svg class="chart-svg"') == 6
    assert "<style>" in page and "@page" in page  # self-contained
    assert 'data-section="chart:rolling_sharpe"' in page


def test_the_command_prints_a_failed_runs_status(tmp_path, alice, every_spec, capsys):
    run = make_run(alice, every_spec, status=JobStatus.FAILED, error="no candles stored")
    pdf = tmp_path / "failed.pdf"
    call_command("report", str(run.pk), "--pdf", str(pdf))
    text = "\n".join(_text(_read(pdf.read_bytes())))
    assert "This run failed" in text and "no candles stored" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999999", "--pdf", "x.pdf"], "no backtest run with id 999999"),
        (["1"], "nothing to write"),
        (["1", "--pdf", "/nonexistent/dir/x.pdf"], "does not exist"),
    ],
)
def test_the_command_explains_what_is_wrong(args, message, run_with_trades):
    if args[0] == "1":
        args = [str(run_with_trades.pk), *args[1:]]
    with pytest.raises(CommandError, match=message):
        call_command("report", *args)
