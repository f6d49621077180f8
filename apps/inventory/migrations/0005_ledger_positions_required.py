"""A movement's position is required, unique in its item's ledger, and one of the
ledger's facts that never change (the append-only trigger compares it too)."""

from django.db import migrations, models

FUNCTION = "inventory_stockmovement_append_only"
PREVIOUS = "apps.inventory.migrations.0003_stock_movement_source"


def _previous() -> object:
    return __import__(PREVIOUS, fromlist=["add_trigger", "drop_trigger"])


def add_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    _previous().drop_trigger(apps, schema_editor)  # type: ignore[attr-defined]
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
        BEGIN
            -- The ledger's facts never change. Only the links to a deleted user or
            -- purchase order may be cleared (ON DELETE SET NULL).
            IF TG_OP = 'UPDATE'
               AND NEW.id = OLD.id AND NEW.item_id = OLD.item_id
               AND NEW.position = OLD.position
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
    previous = _previous()
    previous.drop_trigger(apps, schema_editor)  # type: ignore[attr-defined]
    previous.add_trigger(apps, schema_editor)  # type: ignore[attr-defined]


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_ledger_positions")]

    operations = [
        migrations.AlterField(
            model_name="stockmovement",
            name="position",
            field=models.PositiveIntegerField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.UniqueConstraint(
                fields=("item", "position"), name="stock_movement_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.CheckConstraint(
                condition=models.Q(("position__gte", 1)), name="stock_movement_position_from_one"
            ),
        ),
        migrations.RunPython(add_trigger, add_previous_trigger, elidable=False),
    ]
