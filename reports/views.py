"""HTML report pages: run list, run report, PDF download and comparison. Thin: parse →
select (``runs_visible_to``: own runs, staff all; anything else is a 404) → render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.text import slugify

from backtests import exports
from backtests.selectors import runs_visible_to
from jobs.models import JobStatus
from reports.compare import CompareError, parse_ids
from reports.pdf import run_report_pdf
from reports.render import compare_html, report_css, run_report_html

RUNS_PER_PAGE = 50
LIST_FILTERS = ("status", "strategy", "symbol", "timeframe")


@login_required
def run_list(request):
    visible = runs_visible_to(request.user)
    runs = visible.defer("config", "metrics", "error")
    active = {}
    for name in LIST_FILTERS:
        value = request.GET.get(name, "").strip()
        if value:
            runs = runs.filter(**{name: value})
            active[name] = value
    filters = [
        {
            "name": name,
            "active": active.get(name, ""),
            "choices": (
                [choice for choice, _ in JobStatus.choices]
                if name == "status"
                else list(visible.order_by(name).values_list(name, flat=True).distinct())
            ),
        }
        for name in LIST_FILTERS
    ]
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode(active)
    return render(
        request,
        "reports/run_list.html",
        {"page": page, "filters": filters, "active": active, "query": query, "css": report_css()},
    )


def _visible_run(request, pk: int):
    # spec__owner: the provenance footer names the spec's owner
    return get_object_or_404(runs_visible_to(request.user).select_related("spec__owner"), pk=pk)


def _page_number(request, name: str) -> int:
    raw = request.GET.get(name, "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**9 else 1


@login_required
def run_report(request, pk: int):
    run = _visible_run(request, pk)
    html = run_report_html(run, request=request, trades_page=_page_number(request, "trades_page"))
    return HttpResponse(html)


@login_required
def run_trades_export(request, pk: int, fmt: str):
    """Every trade of a run as ``fmt`` (csv | parquet), as a download."""
    if fmt not in exports.WRITERS:
        raise Http404("unknown export format")
    run = _visible_run(request, pk)
    content = exports.WRITERS[fmt](exports.trade_table(run.trades.all()))
    response = HttpResponse(content, content_type=exports.MEDIA_TYPES[fmt])
    filename = f"run-{run.pk}-{slugify(run.spec.name) or 'report'}-trades.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def run_pdf(request, pk: int):
    run = _visible_run(request, pk)
    response = HttpResponse(run_report_pdf(run), content_type="application/pdf")
    filename = f"run-{run.pk}-{slugify(run.spec.name) or 'report'}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def compare(request):
    try:
        ids = parse_ids(request.GET.getlist("ids"))
    except CompareError as exc:
        context = {"error": str(exc), "css": report_css(), "pdf": False}
        return render(request, "reports/compare.html", context, status=400)
    found = {run.pk: run for run in runs_visible_to(request.user).filter(pk__in=ids)}
    if len(found) != len(ids):
        raise Http404("run not found")
    return HttpResponse(compare_html([found[pk] for pk in ids], request=request))
