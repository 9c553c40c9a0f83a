"""
edx-platform's learner tables, created in the test database as edx-platform's migrations leave them.

lc-runtime never creates these tables (they belong to edx-platform); tests do, with edx-platform's
column names and types, indexes and unique keys: ``courseware_studentmodule`` (StudentModule) and
``user_api_usercoursetag`` (UserCourseTag). On SQLite and MariaDB alike.
"""

from __future__ import annotations

from django.db import connection

STUDENT_MODULE_TABLE = "courseware_studentmodule"
OTHER_STUDENT_MODULE_TABLE = "edx_studentmodule_elsewhere"  # for LC_RUNTIME["STUDENT_MODULE_TABLE"] tests
USER_COURSE_TAG_TABLE = "user_api_usercoursetag"


def _student_module_sql(table: str, mysql: bool) -> list[str]:
    if mysql:
        return [
            f"""CREATE TABLE IF NOT EXISTS `{table}` (
                `id` int NOT NULL AUTO_INCREMENT PRIMARY KEY,
                `module_type` varchar(32) NOT NULL,
                `module_id` varchar(255) NOT NULL,
                `student_id` int NOT NULL,
                `state` longtext NULL,
                `grade` double NULL,
                `created` datetime(6) NOT NULL,
                `modified` datetime(6) NOT NULL,
                `max_grade` double NULL,
                `done` varchar(8) NOT NULL,
                `course_id` varchar(255) NOT NULL,
                UNIQUE KEY `{table}_student_id_module_id_course_id_uniq` (`student_id`, `module_id`, `course_id`),
                KEY `{table}_module_type_idx` (`module_type`),
                KEY `{table}_module_id_idx` (`module_id`),
                KEY `{table}_grade_idx` (`grade`),
                KEY `{table}_created_idx` (`created`),
                KEY `{table}_modified_idx` (`modified`),
                KEY `{table}_course_id_idx` (`course_id`)
            )"""
        ]
    return [
        f"""CREATE TABLE IF NOT EXISTS "{table}" (
            "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "module_type" varchar(32) NOT NULL,
            "module_id" varchar(255) NOT NULL,
            "student_id" integer NOT NULL,
            "state" text NULL,
            "grade" real NULL,
            "created" datetime NOT NULL,
            "modified" datetime NOT NULL,
            "max_grade" real NULL,
            "done" varchar(8) NOT NULL,
            "course_id" varchar(255) NOT NULL
        )""",
        f'CREATE UNIQUE INDEX IF NOT EXISTS "{table}_student_id_module_id_course_id_uniq" '
        f'ON "{table}" ("student_id", "module_id", "course_id")',
        *(f'CREATE INDEX IF NOT EXISTS "{table}_{column}_idx" ON "{table}" ("{column}")'
          for column in ("module_type", "module_id", "grade", "created", "modified", "course_id")),
    ]


def _user_course_tag_sql(mysql: bool) -> list[str]:
    table = USER_COURSE_TAG_TABLE
    if mysql:
        return [
            f"""CREATE TABLE IF NOT EXISTS `{table}` (
                `id` int NOT NULL AUTO_INCREMENT PRIMARY KEY,
                `key` varchar(255) NOT NULL,
                `course_id` varchar(255) NOT NULL,
                `value` longtext NOT NULL,
                `user_id` int NOT NULL,
                UNIQUE KEY `{table}_user_id_course_id_key_uniq` (`user_id`, `course_id`, `key`),
                KEY `{table}_key_idx` (`key`),
                KEY `{table}_course_id_idx` (`course_id`)
            )"""
        ]
    return [
        f"""CREATE TABLE IF NOT EXISTS "{table}" (
            "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "key" varchar(255) NOT NULL,
            "course_id" varchar(255) NOT NULL,
            "value" text NOT NULL,
            "user_id" integer NOT NULL
        )""",
        f'CREATE UNIQUE INDEX IF NOT EXISTS "{table}_user_id_course_id_key_uniq" '
        f'ON "{table}" ("user_id", "course_id", "key")',
        f'CREATE INDEX IF NOT EXISTS "{table}_key_idx" ON "{table}" ("key")',
        f'CREATE INDEX IF NOT EXISTS "{table}_course_id_idx" ON "{table}" ("course_id")',
    ]


def create_edx_tables() -> None:
    """Create edx-platform's learner tables (StudentModule under two names, user course tags) if missing."""
    mysql = connection.vendor == "mysql"
    statements = [
        *_student_module_sql(STUDENT_MODULE_TABLE, mysql),
        *_student_module_sql(OTHER_STUDENT_MODULE_TABLE, mysql),
        *_user_course_tag_sql(mysql),
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def drop_edx_tables() -> None:
    with connection.cursor() as cursor:
        for table in (STUDENT_MODULE_TABLE, OTHER_STUDENT_MODULE_TABLE, USER_COURSE_TAG_TABLE):
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")


def student_module_rows(table: str = STUDENT_MODULE_TABLE) -> list[dict]:
    """Every row of a StudentModule table, as dicts by column, by id."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY id")
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
