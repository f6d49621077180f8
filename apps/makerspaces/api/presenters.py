"""Lean rows of the makerspace API's hot reads: the directory and a space's page.

Each function gives exactly the JSON of ``MakerspaceSerializer`` for the same space,
built from the plain rows of ``selectors.makerspace_rows`` and
``selectors.closures_by_space`` (tests/makerspaces/test_api_presenters.py holds them
to it).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from apps.core.api.lean import iso_datetime
from apps.makerspaces.selectors import ClosureRow


def closure_rows(closures: Iterable[ClosureRow]) -> list[dict[str, Any]]:
    """``ClosureSerializer``'s rows of ``(id, date, reason)``."""
    return [
        {"id": str(closure_id), "date": day.isoformat(), "reason": reason}
        for closure_id, day, reason in closures
    ]


def makerspace_row(space: Mapping[str, Any], closures: Iterable[ClosureRow] = ()) -> dict[str, Any]:
    """One space as ``MakerspaceSerializer`` shows it; ``distance_km`` when the row has one."""
    latitude = space["latitude"]
    longitude = space["longitude"]
    distance = space.get("distance_km")
    return {
        "id": str(space["id"]),
        "name": space["name"],
        "slug": space["slug"],
        "description": space["description"],
        "address": space["address"],
        "location": space["location"],
        "coordinates": (
            {"lat": float(latitude), "lng": float(longitude)}
            if latitude is not None and longitude is not None
            else None
        ),
        "timezone": space["timezone"],
        "currency": space["currency"],
        "contact_email": space["contact_email"],
        "contact_phone": space["contact_phone"],
        "business_hours": space["business_hours"],
        "closures": closure_rows(closures),
        "join_policy": space["join_policy"],
        "settings": space["settings"],
        "verified": space["verified"],
        "is_active": space["is_active"],
        "distance_km": round(distance, 2) if distance is not None else None,
        "created_at": iso_datetime(space["created_at"]),
    }


def directory_rows(
    spaces: Iterable[Mapping[str, Any]], closures: Mapping[Any, list[ClosureRow]]
) -> list[dict[str, Any]]:
    """A page of the directory; ``closures`` maps a space's id to its closures."""
    return [makerspace_row(space, closures.get(space["id"], ())) for space in spaces]
