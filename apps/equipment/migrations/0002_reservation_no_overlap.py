"""On PostgreSQL, make double-booking impossible: no two holding reservations of one
machine may have overlapping blocked time ranges (booking plus buffer).

The service checks first to give a clear 409; this constraint decides when two
requests race. SQLite (the embedded default) serialises writers instead.
"""

from django.db import migrations

CONSTRAINT = "reservation_no_overlap"


def add_constraint(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE equipment_reservation ADD CONSTRAINT {CONSTRAINT} "
        "EXCLUDE USING gist (equipment_id WITH =, tstzrange(start_time, block_end, '[)') WITH &&) "
        "WHERE (status IN ('pending', 'confirmed', 'active'))"
    )


def drop_constraint(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE equipment_reservation DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("equipment", "0001_initial")]

    operations = [migrations.RunPython(add_constraint, drop_constraint, elidable=False)]
