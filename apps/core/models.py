import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class BaseModel(models.Model):
    """UUID primary key plus creation and change times, for every MakrX row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class AuditLogEntry(models.Model):
    """Who changed what, when: written by services in the same transaction as the change."""

    class Action(models.TextChoices):
        CREATE = "create", "created"
        UPDATE = "update", "updated"
        DELETE = "delete", "deleted"
        GRANT = "grant", "granted"
        REVOKE = "revoke", "revoked"
        INVITE = "invite", "invited"
        JOIN = "join", "joined"
        LEAVE = "leave", "left"
        APPROVE = "approve", "approved"
        VERIFY = "verify", "verified"

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The tenant, as a plain id: core sits below makerspaces and cannot point at it.
    makerspace_id = models.UUIDField(null=True, blank=True, db_index=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=20, choices=Action)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display()} {self.object_repr}"


class IdempotencyRecord(models.Model):
    """A request sent with an ``Idempotency-Key``, claimed before it runs and holding
    its answer after (``apps.core.idempotency``). ``status_code`` is null while the
    first request with the key is still running."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # What the key is for (``store.checkout``, ``store.order.pay``): one key may be
    # used once per scope.
    scope = models.CharField(max_length=60)
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = "idempotency record"
        verbose_name_plural = "idempotency records"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "scope", "key"], name="core_idempotency_key_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
