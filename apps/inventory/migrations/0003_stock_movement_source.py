"""A stock movement names its cause generically (``source_type`` + ``source_id``)
instead of a foreign key to equipment's bookings, so inventory knows nothing of the
apps above it. Existing links to bookings become sources of type "reservation".

The append-only trigger is set aside while the links are copied, then put back
with the source among the facts that never change."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F

FUNCTION = "inventory_stockmovement_append_only"


def drop_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON inventory_stockmovement")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


def add_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
        BEGIN
            -- The ledger's facts never change. Only the links to a deleted user or
            -- purchase order may be cleared (ON DELETE SET NULL).
            IF TG_OP = 'UPDATE'
               AND NEW.id = OLD.id AND NEW.item_id = OLD.item_id
               AND NEW.delta = OLD.delta AND NEW.kind = OLD.kind
               AND NEW.balance_after = OLD.balance_after AND NEW.reason = OLD.reason
               AND NEW.job_id = OLD.job_id
               AND NEW.project_id IS NOT DISTINCT FROM OLD.project_id
               AND NEW.source_type = OLD.source_type
               AND NEW.source_id IS NOT DISTINCT FROM OLD.source_id
               AND NEW.unit_cost IS NOT DISTINCT FROM OLD.unit_cost
               AND NEW.created_at = OLD.created_at
               AND (NEW.user_id IS NOT DISTINCT FROM OLD.user_id OR NEW.user_id IS NULL)
               AND (NEW.purchase_order_id IS NOT DISTINCT FROM OLD.purchase_order_id
                    OR NEW.purchase_order_id IS NULL)
            THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'stock movements are append-only (%%)', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    schema_editor.execute(
        f"CREATE TRIGGER {FUNCTION} BEFORE UPDATE OR DELETE ON inventory_stockmovement "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def add_previous_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    previous = __import__(
        "apps.inventory.migrations.0002_stock_ledger_append_only", fromlist=["add_trigger"]
    )
    previous.add_trigger(apps, schema_editor)


def bookings_to_sources(apps, schema_editor):  # type: ignore[no-untyped-def]
    StockMovement = apps.get_model("inventory", "StockMovement")
    StockMovement.objects.filter(reservation__isnull=False).update(
        source_type="reservation", source_id=F("reservation_id")
    )


def sources_to_bookings(apps, schema_editor):  # type: ignore[no-untyped-def]
    StockMovement = apps.get_model("inventory", "StockMovement")
    Reservation = apps.get_model("equipment", "Reservation")
    booked = StockMovement.objects.filter(
        source_type="reservation",
        source_id__in=Reservation.objects.values("pk"),
    )
    booked.update(reservation_id=F("source_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_stock_ledger_append_only"),
        ("equipment", "0003_member_calendar_feed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_trigger, add_previous_trigger, elidable=False),
        migrations.AddField(
            model_name="stockmovement",
            name="source_id",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="stockmovement",
            name="source_type",
            field=models.CharField(
                blank=True,
                choices=[
                    ("reservation", "Booking"),
                    ("project", "Project"),
                    ("order", "Store order"),
                    ("purchase_order", "Purchase order"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(bookings_to_sources, sources_to_bookings, elidable=False),
        migrations.RemoveField(model_name="stockmovement", name="reservation"),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(
                condition=models.Q(("source_type", ""), _negated=True),
                fields=["source_type", "source_id"],
                name="stock_movement_source",
            ),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("source_id__isnull", True), ("source_type", "")),
                    models.Q(
                        models.Q(("source_type", ""), _negated=True),
                        ("source_id__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="stock_movement_source_complete",
            ),
        ),
        migrations.RunPython(add_trigger, drop_trigger, elidable=False),
    ]
