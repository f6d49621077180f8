from django.urls import path

from apps.inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.index_page, name="index"),
    path("<slug:slug>/", views.item_list_page, name="list"),
    path("<slug:slug>/reorder/", views.reorder_page, name="reorder"),
    path("<slug:slug>/reorder/suggestions.csv", views.reorder_csv, name="reorder-csv"),
    path("<slug:slug>/orders/", views.order_create_page, name="order-create"),
    path(
        "<slug:slug>/orders/<uuid:order_id>/receive/",
        views.order_receive_page,
        name="order-receive",
    ),
    path(
        "<slug:slug>/orders/<uuid:order_id>/cancel/",
        views.order_cancel_page,
        name="order-cancel",
    ),
    path("<slug:slug>/items/<uuid:item_id>/", views.item_page, name="item"),
    path("<slug:slug>/items/<uuid:item_id>/restock/", views.restock_page, name="restock"),
    path("<slug:slug>/items/<uuid:item_id>/deduct/", views.deduct_page, name="deduct"),
    path("<slug:slug>/items/<uuid:item_id>/adjust/", views.adjust_page, name="adjust"),
]
