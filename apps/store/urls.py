from django.urls import path

from apps.store import views, views_fabrication, views_orders

app_name = "store"

# Fixed words come before "<slug>/" so they are never read as a market's slug.
urlpatterns = [
    path("", views.catalogue_page, name="catalogue"),
    path("p/<slug:slug>/", views.product_page, name="product"),
    path("p/<slug:slug>/review/", views.review_page, name="review"),
    path("markets/", views.market_directory_page, name="markets"),
    path("markets/new/", views.market_create_page, name="market-create"),
    path("markets/mine/", views.my_market_page, name="my-market"),
    path("markets/<slug:slug>/", views.market_page, name="market"),
    path("markets/<slug:slug>/manage/", views.market_manage_page, name="market-manage"),
    path(
        "markets/<slug:market_slug>/manage/products/new/",
        views.product_add_page,
        name="product-add",
    ),
    path(
        "markets/<slug:market_slug>/manage/products/<slug:product_slug>/",
        views.product_edit_page,
        name="product-edit",
    ),
    path(
        "markets/<slug:market_slug>/manage/products/<slug:product_slug>/stock/",
        views.product_stock_page,
        name="product-stock",
    ),
    path(
        "markets/<slug:market_slug>/manage/products/<slug:product_slug>/images/",
        views.product_image_add_page,
        name="product-image-add",
    ),
    path(
        "markets/<slug:market_slug>/manage/products/<slug:product_slug>/images/"
        "<uuid:image_id>/remove/",
        views.product_image_remove_page,
        name="product-image-remove",
    ),
    path(
        "markets/<slug:market_slug>/manage/products/<slug:product_slug>/images/"
        "<uuid:image_id>/move/",
        views.product_image_move_page,
        name="product-image-move",
    ),
]

# 3D-print orders: a member's jobs and upload form, a job, and a space's print queue.
urlpatterns += [
    path("fabrication/", views_fabrication.fabrication_page, name="fabrication"),
    path(
        "fabrication/queue/<slug:slug>/",
        views_fabrication.fabrication_queue_page,
        name="fabrication-queue",
    ),
    path(
        "fabrication/<uuid:job_id>/",
        views_fabrication.fabrication_job_page,
        name="fabrication-job",
    ),
    path(
        "fabrication/<uuid:job_id>/accept/",
        views_fabrication.fabrication_accept_page,
        name="fabrication-accept",
    ),
    path(
        "fabrication/<uuid:job_id>/status/",
        views_fabrication.fabrication_status_page,
        name="fabrication-status",
    ),
]

# Buying: the cart, the checkout, the test-mode pay page, the member's orders, and a
# market's orders for its owner and staff. "orders/pay/" comes before an order number.
urlpatterns += [
    path("cart/", views_orders.cart_page, name="cart"),
    path("cart/add/", views_orders.cart_add_page, name="cart-add"),
    path("cart/items/<uuid:item_id>/", views_orders.cart_item_page, name="cart-item"),
    path("checkout/", views_orders.checkout_page, name="checkout"),
    path("orders/", views_orders.orders_page, name="orders"),
    path("orders/pay/<uuid:payment_id>/", views_orders.pay_page, name="pay"),
    path("orders/card/<uuid:payment_id>/", views_orders.card_page, name="card"),
    path("orders/<str:order_number>/", views_orders.order_page, name="order"),
    path(
        "orders/<str:order_number>/cancel/",
        views_orders.order_cancel_page,
        name="order-cancel",
    ),
    path(
        "markets/<slug:slug>/manage/orders/",
        views_orders.market_orders_page,
        name="market-orders",
    ),
    path(
        "markets/<slug:slug>/manage/orders/<str:order_number>/move/",
        views_orders.market_order_move_page,
        name="market-order-move",
    ),
    path(
        "markets/<slug:slug>/manage/orders/<str:order_number>/refund/",
        views_orders.market_order_refund_page,
        name="market-order-refund",
    ),
]
