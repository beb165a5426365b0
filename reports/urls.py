"""Routes of the HTML report pages (mounted at the site root)."""

from django.urls import path
from django.views.generic import RedirectView

from reports import views

app_name = "reports"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="reports:run-list", permanent=False), name="home"),
    path("runs/", views.run_list, name="run-list"),
    path("runs/compare/", views.compare, name="compare"),
    path("runs/<int:pk>/", views.run_report, name="run-report"),
    path("runs/<int:pk>/pdf/", views.run_pdf, name="run-pdf"),
    path("runs/<int:pk>/trades.<str:fmt>", views.run_trades_export, name="run-trades-export"),
]
