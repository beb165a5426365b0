"""PDF of a report through WeasyPrint: the same HTML as the page, printed on A4.

Charts are inline SVG, so they stay vector in the PDF. The page CSS sets the A4 size
and the "page / pages" footer (``@page``). WeasyPrint gets no base URL and may fetch
``data:`` URLs only: a report never needs the network or the file system, and a
layout's text must not be able to make the server fetch anything.
"""

from __future__ import annotations

from django.core.cache import cache

from reports.layouts import resolve_layout
from reports.render import SECTIONS_CACHE_VERSION, layout_key, run_report_html
from reports.run_data import chart_cache_seconds

# Bump when the PDF's look changes, so cached PDFs of the old look are not served.
PDF_CACHE_VERSION = 1


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of a self-contained HTML document."""
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), timeout=5)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def pdf_cache_key(run) -> str | None:
    """The cache key of a succeeded run's PDF: (run, the layout's version, the look);
    None for a run that has not succeeded (its status page changes)."""
    if run.status != "succeeded":
        return None
    versions = f"v{PDF_CACHE_VERSION}.{SECTIONS_CACHE_VERSION}"
    return f"report:pdf:{versions}:run{run.pk}:{layout_key(resolve_layout(run))}"


def run_report_pdf(run) -> bytes:
    """The run's report (its layout, or the status page) as PDF bytes. A succeeded
    run's PDF is printed once and then served from the cache, like its charts: its
    results never change, and a new layout version has a new key."""
    key = pdf_cache_key(run)
    if key is not None:
        found = cache.get(key)
        if found is not None:
            return found
    content = html_to_pdf(run_report_html(run, pdf=True))
    if key is not None:
        cache.set(key, content, timeout=chart_cache_seconds())
    return content
