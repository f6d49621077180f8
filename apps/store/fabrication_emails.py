"""Emails to a member about their 3D-print job, sent by Celery after the move that
causes them has committed (``services.fabrication`` enqueues them with
``transaction.on_commit``), in the member's language.

A task may run twice (a retry, a replayed message): each email is claimed once per
job and state in the shared cache before it is sent, and the claim is dropped again
when sending fails so that a retry can send it.
"""

from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from apps.store.models import FabricationJob, FabricationStatus

CLAIM_SECONDS = 7 * 24 * 3600
STATUS_EMAILS = (
    FabricationStatus.ACCEPTED,
    FabricationStatus.PRINTING,
    FabricationStatus.READY,
    FabricationStatus.SHIPPED,
    FabricationStatus.PICKED_UP,
    FabricationStatus.CANCELLED,
)


def _language(job: FabricationJob) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    order_item = getattr(job, "order_item", None)
    order_locale = order_item.order.locale if order_item is not None else None
    if order_locale in supported:
        return str(order_locale)
    locale = job.user.locale
    return locale if locale in supported else settings.LANGUAGE_CODE


def _job(job_id: str) -> FabricationJob | None:
    return (
        FabricationJob.objects.select_related("user", "makerspace", "material", "order_item__order")
        .filter(pk=job_id)
        .first()
    )


@shared_task(
    name="apps.store.fabrication_emails.send_fabrication_status_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_fabrication_status_email(job_id: str, status: str) -> bool:
    """Tell the member their print job moved to ``status`` (once per job and state)."""
    if status not in STATUS_EMAILS:
        raise ValueError(f"Unknown fabrication email {status!r}")
    job = _job(job_id)
    if job is None:
        return False
    user = job.user
    with translation.override(_language(job)), timezone.override(job.makerspace.timezone):
        context: dict[str, Any] = {
            "job": job,
            "user": user,
            "status": status,
            "link": settings.SITE_URL + reverse("store:fabrication-job", args=[job.pk]),
        }
        subject = render_to_string("store/fabrication/email/status_subject.txt", context).strip()
        body = render_to_string("store/fabrication/email/status.txt", context)
    claim = f"store:fabrication-email:{job.pk}:{status}"
    if not cache.add(claim, "sent", timeout=CLAIM_SECONDS):
        return False
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception:
        cache.delete(claim)
        raise
    return True
