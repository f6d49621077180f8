from django.urls import path

from apps.store import views

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
]
