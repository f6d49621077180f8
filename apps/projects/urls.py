from django.urls import path

from apps.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.my_projects_page, name="mine"),
    path("new/", views.project_create_page, name="create"),
    path("gallery/<slug:slug>/", views.gallery_page, name="gallery"),
    path("<uuid:project_id>/", views.project_page, name="detail"),
    path("<uuid:project_id>/edit/", views.project_edit_page, name="edit"),
    path("<uuid:project_id>/delete/", views.project_delete_page, name="delete"),
    path("<uuid:project_id>/consume/", views.consume_page, name="consume"),
    path("<uuid:project_id>/bom/add/", views.bom_add_page, name="bom-add"),
    path("<uuid:project_id>/bom/<uuid:line_id>/", views.bom_update_page, name="bom-update"),
    path(
        "<uuid:project_id>/bom/<uuid:line_id>/remove/",
        views.bom_remove_page,
        name="bom-remove",
    ),
    path(
        "<uuid:project_id>/collaborators/add/",
        views.collaborator_add_page,
        name="collaborator-add",
    ),
    path(
        "<uuid:project_id>/collaborators/<uuid:collaborator_id>/remove/",
        views.collaborator_remove_page,
        name="collaborator-remove",
    ),
    path("<uuid:project_id>/bookings/link/", views.booking_link_page, name="booking-link"),
    path(
        "<uuid:project_id>/bookings/<uuid:reservation_id>/unlink/",
        views.booking_unlink_page,
        name="booking-unlink",
    ),
]
