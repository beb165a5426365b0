"""The PDF's layout, read from WeasyPrint's own boxes: no table is wider than the page's
text box, and a succeeded run's PDF is printed once and then served from the cache."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reports import pdf as pdf_module
from reports.render import run_report_html
from specs.models import SpecKind
from tests.factories import backtest_data, make_run, make_spec

pytestmark = pytest.mark.django_db


def _tables_past_the_text_box(html: str) -> list[tuple[int, str, float, float]]:
    """(page, table class, right edge, text box right edge) of every table box that
    reaches beyond its page's content box."""
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    document = HTML(string=html).render()
    found = []

    def walk(box, page_number, limit):
        if isinstance(box, boxes.TableBox):
            right = box.position_x + box.margin_width()
            if right > limit + 0.5:
                found.append((page_number, box.element.get("class", ""), right, limit))
        for child in box.all_children() if hasattr(box, "all_children") else []:
            walk(child, page_number, limit)

    for number, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        limit = page_box.content_box_x() + page_box.width
        walk(page_box, number, limit)
    return found


def test_no_pdf_table_is_wider_than_the_page(alice):
    spec = make_spec(alice, SpecKind.BACKTEST, "wide", backtest_data("wide", symbol="SHIB-USDT-SWAP"))
    run = make_run(alice, spec, bars=24 * 40, store=True)
    assert run.total_trades > 5
    html = run_report_html(run, pdf=True)
    for table in (
        'class="data trades"',
        'class="data drawdowns"',
        'class="data breakdown"',
        'class="data yearly"',
    ):
        assert table in html  # the default layout prints every wide table
    assert _tables_past_the_text_box(html) == []


def test_the_pdf_is_printed_once_and_then_served_from_the_cache(alice_client, run_with_trades, monkeypatch):
    printed = []
    real = pdf_module.html_to_pdf

    def counting(html):
        printed.append(1)
        return real(html)

    monkeypatch.setattr(pdf_module, "html_to_pdf", counting)
    url = reverse("reports:run-pdf", args=[run_with_trades.pk])
    first = alice_client.get(url).content
    second = alice_client.get(url).content
    assert first == second and first.startswith(b"%PDF-")
    assert len(printed) == 1
    # a new version of the layout is a new document
    from tests.factories import layout_data

    make_spec(
        alice_client.session and run_with_trades.owner,
        SpecKind.REPORT_LAYOUT,
        "every",
        layout_data("every", [{"type": "text", "text": "v2"}]),
    )
    alice_client.get(url)
    assert len(printed) == 2
