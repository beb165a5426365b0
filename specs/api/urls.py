from django.urls import path
from rest_framework.routers import SimpleRouter

from specs.api.views import SpecSchemaView, SpecViewSet

router = SimpleRouter()
router.register("specs", SpecViewSet, basename="spec")
urlpatterns = [
    path("schemas/<slug:kind>.json", SpecSchemaView.as_view(), name="spec-schema"),
    *router.urls,
]
