from rest_framework.routers import SimpleRouter

from optimizers.api.views import SweepViewSet

router = SimpleRouter()
router.register("sweeps", SweepViewSet, basename="sweep")
urlpatterns = router.urls
