"""The page an admin action shows before it runs on the selected rows: what they are,
the action's form, and a button that applies it (``templates/admin/action_form.html``;
each action's template extends it with its table's columns). Sent back with ``apply``,
the action runs; a form with errors shows this page again."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import ModelAdmin, helpers
from django.forms import Form
from django.http import HttpRequest
from django.template.response import TemplateResponse


def action_form_page(
    modeladmin: ModelAdmin[Any],
    request: HttpRequest,
    *,
    template: str,
    action: str,
    title: str,
    intro: str,
    button: str,
    rows: Any,
    form: Form,
) -> TemplateResponse:
    """The page of ``action`` for ``rows`` (the selected rows, as its table shows them)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "title": title,
        "intro": intro,
        "button": button,
        "action": action,
        "rows": rows,
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, template, context)
