from rest_framework.routers import SimpleRouter

from backtests.api.views import RunViewSet

router = SimpleRouter()
router.register("runs", RunViewSet, basename="run")
urlpatterns = router.urls
