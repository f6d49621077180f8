"""Lean reads of accounts (see ``apps.core.api.lean``): rows equal to their serializers'."""

from typing import Any

from apps.accounts.models import User
from apps.core.api.lean import iso_datetime


def user_row(user: User) -> dict[str, Any]:
    """``UserSerializer(user).data``."""
    return {
        "id": str(user.pk),
        "email": user.email,
        "name": user.name,
        "phone": user.phone,
        "address": user.address,
        "locale": user.locale,
        "preferences": user.preferences,
        "email_verified": user.email_verified,
        "is_active": user.is_active,
        "created_at": iso_datetime(user.created_at),
    }
