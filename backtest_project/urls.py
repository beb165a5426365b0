"""URL routes. Each app owns its routes; this file only mounts them."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backtest_project import accounts
from backtest_project.api_root import api_root
from backtest_project.health import health
from backtest_project.observability.scrape import metrics_view
from backtest_project.throttling import login_limited
from reports.api import RunAnalyticsView

# settings use SimpleAdminConfig: the admin modules are discovered here, by the site only.
admin.autodiscover()

api_v1 = [
    path("", api_root, name="root"),
    # Each app appends its own routes module here as it gains an API.
    path("candles/", include("marketdata.api")),
    path("", include("backtests.api.urls")),
    path("", include("specs.api.urls")),
    path("", include("optimizers.api.urls")),
    path("runs/<int:pk>/analytics/", RunAnalyticsView.as_view(), name="run-analytics"),
]

urlpatterns = [
    path("health", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("accounts/login/", accounts.login, name="login"),
    path("accounts/logout/", accounts.logout, name="logout"),
    # The admin's own login view, with failed attempts counted per address.
    path("admin/login/", login_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("reports.urls")),
    path("sweeps/", include("reports.sweep_urls")),
]

handler400 = "backtest_project.errors.bad_request"
handler404 = "backtest_project.errors.not_found"
handler500 = "backtest_project.errors.server_error"
