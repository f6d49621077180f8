"""Helpers for driving the staff admin through its real views."""

from typing import Any

from django.contrib.messages import get_messages
from django.forms import MultiWidget
from django.test import Client
from django.urls import reverse

from apps.makerspaces.models import Makerspace
from tests import factories

MembershipFactory: Any = factories.MembershipFactory


def change_url(obj: Any) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff(makerspace: Makerspace, role: str) -> Any:
    return MembershipFactory.create(makerspace=makerspace, role=role).user


def rows(response: Any) -> list[Any]:
    return list(response.context["cl"].result_list)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def action_names(response: Any) -> set[str]:
    action_form = response.context["action_form"]
    if action_form is None:
        return set()
    return {name for name, _label in action_form.fields["action"].choices if name}


def form_data(response: Any) -> dict[str, Any]:
    """What a browser would post back from a change form as it was rendered."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None or value is False:
                continue
            if value is True:
                data[key] = "on"
            elif isinstance(field.widget, MultiWidget):
                for index, part in enumerate(field.widget.decompress(value) or []):
                    if part is not None:
                        data[f"{key}_{index}"] = str(part)
            elif isinstance(value, list | tuple):
                data[key] = [str(getattr(item, "pk", item)) for item in value]
            else:
                data[key] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data
