from apps.core.api.routers import OptionalSlashRouter
from apps.inventory.api import views
from apps.makerspaces.api.permissions import UUID_PATTERN

router = OptionalSlashRouter()
space = rf"makerspaces/(?P<makerspace_pk>{UUID_PATTERN})"
router.register(rf"{space}/inventory", views.InventoryViewSet, basename="makerspace-inventory")
router.register(
    rf"{space}/purchase-orders", views.PurchaseOrderViewSet, basename="makerspace-purchase-order"
)

urlpatterns = router.urls
