from django.urls import path

from apps.makerspaces import views

app_name = "makerspaces"

# Fixed words come before "<slug>/" so they are never read as a space's slug.
urlpatterns = [
    path("", views.directory_page, name="directory"),
    path("mine/", views.my_spaces_page, name="mine"),
    path("new/", views.create_page, name="create"),
    path("invitations/<str:token>/", views.invitation_page, name="invitation"),
    path(
        "mine/invitations/<uuid:invitation_id>/",
        views.invitation_respond_page,
        name="invitation-respond",
    ),
    path("<slug:slug>/", views.detail_page, name="detail"),
    path("<slug:slug>/join/", views.join_page, name="join"),
    path("<slug:slug>/members/", views.members_page, name="members"),
    path("<slug:slug>/members/invite/", views.member_invite_page, name="member-invite"),
    path(
        "<slug:slug>/members/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke_page,
        name="invitation-revoke",
    ),
    path(
        "<slug:slug>/members/<uuid:membership_id>/approve/",
        views.member_approve_page,
        name="member-approve",
    ),
    path(
        "<slug:slug>/members/<uuid:membership_id>/role/",
        views.member_role_page,
        name="member-role",
    ),
    path(
        "<slug:slug>/members/<uuid:membership_id>/remove/",
        views.member_remove_page,
        name="member-remove",
    ),
    path(
        "<slug:slug>/members/<uuid:membership_id>/skills/",
        views.skill_grant_page,
        name="skill-grant",
    ),
    path(
        "<slug:slug>/members/<uuid:membership_id>/skills/<slug:skill_slug>/revoke/",
        views.skill_revoke_page,
        name="skill-revoke",
    ),
]
