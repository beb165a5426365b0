"""Routes of the sweep pages (mounted at /sweeps/)."""

from django.urls import path

from reports import sweep_views as views

app_name = "sweeps"

urlpatterns = [
    path("", views.sweep_list, name="sweep-list"),
    path("<int:pk>/", views.sweep_report, name="sweep-report"),
    path("<int:pk>/trials/", views.sweep_trials, name="sweep-trials"),
    path("<int:pk>/promote/", views.sweep_promote, name="sweep-promote"),
]
