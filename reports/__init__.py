"""Report pages of backtest runs: ReportLayout specs rendered to HTML (inline SVG
charts, cached) and to PDF (WeasyPrint). See docs/reports.md.

Modules: ``svg``/``svg_axes``/``svg_chart`` (the plotter), ``charts`` with
``equity_charts``, ``price_chart``, ``return_charts`` and ``sweep_charts`` (arrays →
SVG, framework-free), ``format`` (numbers for people), ``layouts`` (which layout a run
uses), ``sections`` with ``chart_sections``, ``table_sections``, ``section_base``
(layout → section contexts), ``run_data`` (a run's arrays and analytics),
``compare``, ``render`` (whole pages), ``pdf``, ``views``/``urls``.
"""
