from django.urls import re_path

from apps.core.api.routers import OptionalSlashRouter
from apps.store.api import views
from apps.store.api.cart import CART_ITEM_PATTERN, CartViewSet, CheckoutViewSet
from apps.store.api.fabrication import FabricationJobViewSet
from apps.store.api.orders import OrderViewSet
from apps.store.api.payments import StripeWebhookView

router = OptionalSlashRouter()
router.register("categories", views.CategoryViewSet, basename="store-category")
router.register("products", views.ProductViewSet, basename="store-product")
router.register("markets", views.MarketViewSet, basename="store-market")
router.register("fabrication", FabricationJobViewSet, basename="store-fabrication")
router.register("orders", OrderViewSet, basename="store-order")

urlpatterns = router.urls
urlpatterns += [
    re_path(
        r"^payments/stripe/webhook/?$",
        StripeWebhookView.as_view(),
        name="store-stripe-webhook",
    ),
]
urlpatterns += [
    re_path(r"^cart/?$", CartViewSet.as_view({"get": "summary"}), name="store-cart"),
    re_path(r"^cart/items/?$", CartViewSet.as_view({"post": "add"}), name="store-cart-items"),
    re_path(
        rf"^cart/items/(?P<item_id>{CART_ITEM_PATTERN})/?$",
        CartViewSet.as_view({"patch": "change", "delete": "remove"}),
        name="store-cart-item",
    ),
    re_path(
        r"^cart/from-bom/?$", CartViewSet.as_view({"post": "from_bom"}), name="store-cart-from-bom"
    ),
    re_path(
        r"^cart/voucher/?$", CartViewSet.as_view({"post": "voucher"}), name="store-cart-voucher"
    ),
    re_path(r"^checkout/?$", CheckoutViewSet.as_view({"post": "create"}), name="store-checkout"),
]
