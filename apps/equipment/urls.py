from django.urls import path

from apps.equipment import views

app_name = "equipment"

# Fixed words come before "<slug>/" so they are never read as a space's slug.
urlpatterns = [
    path("mine/", views.my_reservations_page, name="my-reservations"),
    path(
        "mine/<uuid:reservation_id>/cancel/",
        views.reservation_cancel_page,
        name="reservation-cancel",
    ),
    path(
        "mine/<uuid:reservation_id>/check-in/",
        views.reservation_check_in_page,
        name="reservation-check-in",
    ),
    path(
        "mine/<uuid:reservation_id>/check-out/",
        views.reservation_check_out_page,
        name="reservation-check-out",
    ),
    path(
        "mine/waitlist/<uuid:entry_id>/claim/",
        views.waitlist_claim_page,
        name="waitlist-claim",
    ),
    path(
        "mine/waitlist/<uuid:entry_id>/leave/",
        views.waitlist_leave_page,
        name="waitlist-leave",
    ),
    path("<slug:slug>/", views.equipment_list_page, name="list"),
    path("<slug:slug>/<uuid:equipment_id>/", views.machine_page, name="machine"),
    path(
        "<slug:slug>/<uuid:equipment_id>/waitlist/",
        views.waitlist_join_page,
        name="waitlist-join",
    ),
]
