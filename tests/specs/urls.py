"""The routes of the specs app alone, mounted where the project mounts them.

The spec tests use this so that they exercise only this app (the project's urls.py
also imports every other app's views); test_api.py checks the project's own mount.
"""

from django.contrib import admin
from django.urls import include, path

admin.autodiscover()  # as the project's urls.py does (the settings use SimpleAdminConfig)

api_v1 = [path("", include("specs.api.urls"))]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
]
