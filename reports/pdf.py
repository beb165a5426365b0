"""PDF of a report through WeasyPrint: the same HTML as the page, printed on A4.

Charts are inline SVG, so they stay vector in the PDF. The page CSS sets the A4 size
and the "page / pages" footer (``@page``). WeasyPrint gets no base URL and may fetch
``data:`` URLs only: a report never needs the network or the file system, and a
layout's text must not be able to make the server fetch anything.
"""

from __future__ import annotations

from reports.render import run_report_html


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of a self-contained HTML document."""
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), timeout=5)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def run_report_pdf(run) -> bytes:
    """The run's report (its layout, or the status page) as PDF bytes."""
    return html_to_pdf(run_report_html(run, pdf=True))
