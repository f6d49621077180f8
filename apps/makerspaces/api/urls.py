from apps.core.api.routers import OptionalSlashRouter
from apps.makerspaces.api import views
from apps.makerspaces.api.permissions import UUID_PATTERN

router = OptionalSlashRouter()
router.register("makerspaces", views.MakerspaceViewSet, basename="makerspace")
space = rf"makerspaces/(?P<makerspace_pk>{UUID_PATTERN})"
router.register(rf"{space}/members", views.MemberViewSet, basename="makerspace-member")
router.register(rf"{space}/skills", views.SkillViewSet, basename="makerspace-skill")
router.register(rf"{space}/closures", views.ClosureViewSet, basename="makerspace-closure")
router.register(
    rf"{space}/invitations", views.SpaceInvitationViewSet, basename="makerspace-invitation"
)
router.register(rf"{space}/audit-log", views.AuditLogViewSet, basename="makerspace-audit-log")
router.register("users/me/invitations", views.MyInvitationViewSet, basename="my-invitation")
router.register("users/me/memberships", views.MyMembershipViewSet, basename="my-membership")
router.register("invitations", views.InvitationViewSet, basename="invitation")

urlpatterns = router.urls
