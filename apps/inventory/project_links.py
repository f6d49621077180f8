"""Which project a stock movement may name.

A movement records the project it went into as a bare id (``StockMovement.project_id``),
since projects sit above inventory in the layers and inventory may not import them. Who
may see which project is the projects app's rule, so that app hands its check to
inventory when it loads (``register_project_check``); inventory only calls it.

Without a registered check no project can be named: a movement never points at a
project nobody vouched for.
"""

from typing import Any, Protocol

from apps.accounts.models import User
from apps.makerspaces.models import Makerspace


class ProjectCheck(Protocol):
    def __call__(self, *, user: User | None, makerspace: Makerspace, project_id: Any) -> bool:
        """Whether ``project_id`` is a project of ``makerspace`` that ``user`` may see."""
        ...


_checks: list[ProjectCheck] = []


def register_project_check(check: ProjectCheck) -> None:
    """Called once by the projects app when it loads; a second call replaces the first."""
    _checks[:] = [check]


def may_link(*, user: User | None, makerspace: Makerspace, project_id: Any) -> bool:
    return bool(_checks) and _checks[0](user=user, makerspace=makerspace, project_id=project_id)
