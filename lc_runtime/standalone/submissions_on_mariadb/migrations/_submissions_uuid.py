"""What the two migrations around edx-submissions' MariaDB uuid migration share."""

SUBMISSIONS_UUID_MIGRATION = ("submissions", "0006_mariadb_uuid_conversion")

# The tables that migration alters whose models have no ``uuid`` field (so a ``uuid`` column there is ours).
TABLES_WITHOUT_UUID = ("submissions_studentitem", "submissions_score")


def is_mariadb(connection) -> bool:
    if connection.vendor != "mysql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        return "mariadb" in cursor.fetchone()[0].lower()


def has_uuid_column(connection, table: str) -> bool:
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
    return any(column.name == "uuid" for column in description)
