"""
Let edx-submissions' ``0006_mariadb_uuid_conversion`` run on a new MariaDB database.

That migration changes ``uuid`` columns to MariaDB's ``uuid`` type in three tables, two of which
(``submissions_studentitem``, ``submissions_score``) have no ``uuid`` column: on a new database MariaDB stops
the migration. Running on its own, lc-runtime creates its databases, so before that migration it adds the columns the
statements expect, and :mod:`0002_after_submissions_mariadb_uuid` removes them right after. Other databases are
left alone. The app is installed with edx-submissions only, by the standalone settings; edx-platform does
not install it.
"""

from django.db import migrations

from lc_runtime.standalone.submissions_on_mariadb.migrations import _submissions_uuid as shared


def add_the_expected_column(apps_state, schema_editor) -> None:
    connection = schema_editor.connection
    if not shared.is_mariadb(connection):
        return
    for table in shared.TABLES_WITHOUT_UUID:
        if not shared.has_uuid_column(connection, table):
            schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN uuid char(32) NULL")


class Migration(migrations.Migration):
    atomic = False  # MySQL cannot roll back DDL: Django refuses it inside a transaction
    dependencies = [("submissions", "0005_CreateTeamModel")]
    run_before = [shared.SUBMISSIONS_UUID_MIGRATION]
    operations = [migrations.RunPython(add_the_expected_column, migrations.RunPython.noop)]
