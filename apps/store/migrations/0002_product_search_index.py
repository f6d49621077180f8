"""Full-text search over products: a GIN index on the expression the search filters on
(``apps.store.selectors.products_matching``), on PostgreSQL only. SQLite searches
with a plain substring match and needs no index."""

from typing import Any

from django.db import migrations

INDEX = "store_product_search"
EXPRESSION = "to_tsvector('simple'::regconfig, COALESCE(search_document, ''))"


def create_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON store_product USING gin ({EXPRESSION})"
    )


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("store", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
