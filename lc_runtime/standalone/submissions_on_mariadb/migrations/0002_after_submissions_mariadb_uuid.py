"""Remove the columns :mod:`0001_before_submissions_mariadb_uuid` added, once edx-submissions' migration has run."""

from django.db import migrations

from lc_runtime.standalone.submissions_on_mariadb.migrations import _submissions_uuid as shared


def remove_the_added_column(apps_state, schema_editor) -> None:
    connection = schema_editor.connection
    if not shared.is_mariadb(connection):
        return
    for table in shared.TABLES_WITHOUT_UUID:
        if shared.has_uuid_column(connection, table):
            schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN uuid")


class Migration(migrations.Migration):
    atomic = False  # MySQL cannot roll back DDL: Django refuses it inside a transaction
    dependencies = [("lc_runtime_submissions_on_mariadb", "0001_before_submissions_mariadb_uuid"),
                    shared.SUBMISSIONS_UUID_MIGRATION]
    operations = [migrations.RunPython(remove_the_added_column, migrations.RunPython.noop)]
