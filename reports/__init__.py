"""Report pages of backtest runs: ReportLayout specs rendered to HTML (matplotlib SVG
charts, cached) and to PDF (WeasyPrint). See docs/reports.md.

Modules: ``charts`` (arrays → SVG, framework-free), ``format`` (numbers for people),
``layouts`` (which layout a run uses), ``sections`` (layout → section contexts),
``compare``, ``render`` (whole pages), ``pdf``, ``views``/``urls``.
"""
