"""Inlines that only show rows: a ledger, an order's lines, a payment's events."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyTabularInline(admin.TabularInline):
    """Rows shown under their parent and written only by their services: nothing is
    added, changed or deleted here. A subclass says who sees them
    (``has_view_permission``)."""

    can_delete = False
    extra = 0
    max_num = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
