from apps.core.api.routers import OptionalSlashRouter
from apps.store.api import views

router = OptionalSlashRouter()
router.register("categories", views.CategoryViewSet, basename="store-category")
router.register("products", views.ProductViewSet, basename="store-product")
router.register("markets", views.MarketViewSet, basename="store-market")

urlpatterns = router.urls
