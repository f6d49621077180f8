"""On PostgreSQL the stock ledger refuses UPDATE and DELETE: corrections are new
movements, so current stock always equals the sum of the ledger. Clearing a link to a
deleted user, booking or purchase order is the one change allowed."""

from django.db import migrations

FUNCTION = "inventory_stockmovement_append_only"


def add_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
        BEGIN
            -- The ledger's facts never change. Only the links to a deleted user,
            -- booking or purchase order may be cleared (ON DELETE SET NULL).
            IF TG_OP = 'UPDATE'
               AND NEW.id = OLD.id AND NEW.item_id = OLD.item_id
               AND NEW.delta = OLD.delta AND NEW.kind = OLD.kind
               AND NEW.balance_after = OLD.balance_after AND NEW.reason = OLD.reason
               AND NEW.job_id = OLD.job_id
               AND NEW.project_id IS NOT DISTINCT FROM OLD.project_id
               AND NEW.unit_cost IS NOT DISTINCT FROM OLD.unit_cost
               AND NEW.created_at = OLD.created_at
               AND (NEW.user_id IS NOT DISTINCT FROM OLD.user_id OR NEW.user_id IS NULL)
               AND (NEW.reservation_id IS NOT DISTINCT FROM OLD.reservation_id
                    OR NEW.reservation_id IS NULL)
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


def drop_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON inventory_stockmovement")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(add_trigger, drop_trigger, elidable=False)]
