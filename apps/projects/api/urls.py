from apps.core.api.routers import OptionalSlashRouter
from apps.makerspaces.api.permissions import UUID_PATTERN
from apps.projects.api import views

router = OptionalSlashRouter()
space = rf"makerspaces/(?P<makerspace_pk>{UUID_PATTERN})"
project = rf"{space}/projects/(?P<project_pk>{UUID_PATTERN})"
router.register(rf"{space}/projects", views.ProjectViewSet, basename="makerspace-project")
router.register(
    rf"{project}/collaborators", views.CollaboratorViewSet, basename="project-collaborator"
)
router.register(rf"{project}/bom", views.BomLineViewSet, basename="project-bom")
router.register(
    rf"{project}/reservations", views.ProjectReservationViewSet, basename="project-reservation"
)
router.register("projects", views.PublicProjectViewSet, basename="public-project")
router.register("users/me/projects", views.MyProjectViewSet, basename="my-project")

urlpatterns = router.urls
