from typing import Any

from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "apps.projects"
    label = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:
        # A stock movement may name a project; inventory, a lower layer, asks this app's
        # own visibility rule through the check registered here.
        from apps.inventory.project_links import register_project_check

        register_project_check(_project_visible)


def _project_visible(*, user: Any, makerspace: Any, project_id: Any) -> bool:
    from apps.projects.selectors import projects_visible_to

    return projects_visible_to(user=user, makerspace=makerspace).filter(pk=project_id).exists()
