"""Each ledger movement gets its place in its item's ledger (``position``), and each
item the number of movements it holds (``movement_count``), so a page of the ledger is
a range of positions and its total needs no count.

Existing movements are numbered in the order their balances follow (time, then id).
The next migration makes the position required and unique per item."""

from django.db import migrations, models

NUMBER_MOVEMENTS = """
UPDATE inventory_stockmovement SET "position" = numbered.place
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY item_id ORDER BY created_at, id) AS place
    FROM inventory_stockmovement
) AS numbered
WHERE inventory_stockmovement.id = numbered.id
"""

COUNT_MOVEMENTS = """
UPDATE inventory_inventoryitem SET movement_count = counted.movements
FROM (
    SELECT item_id, COUNT(*) AS movements FROM inventory_stockmovement GROUP BY item_id
) AS counted
WHERE inventory_inventoryitem.id = counted.item_id
"""


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_stock_movement_source")]

    operations = [
        migrations.AddField(
            model_name="inventoryitem",
            name="movement_count",
            field=models.PositiveIntegerField(
                db_default=0, default=0, editable=False, verbose_name="ledger movements"
            ),
        ),
        migrations.AddField(
            model_name="stockmovement",
            name="position",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        # The append-only trigger compares the ledger's facts, which the position is not
        # yet among, so numbering the existing rows passes it.
        migrations.RunSQL(NUMBER_MOVEMENTS, migrations.RunSQL.noop, elidable=False),
        migrations.RunSQL(COUNT_MOVEMENTS, migrations.RunSQL.noop, elidable=False),
    ]
