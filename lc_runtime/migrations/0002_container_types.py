"""
Create the container types lc-runtime uses, once, in a migration.

openedx-core creates a ContainerType row the first time a type is used and caches it on the class.
Creating them here makes them permanent rows, so a rolled-back first use (in a failed import, or in
a test) can never leave that cache pointing at a row that does not exist.
"""

from django.db import migrations

TYPE_CODES = ["lc_course", "section", "subsection", "unit"]


def create_container_types(apps, schema_editor):
    container_type = apps.get_model("openedx_content", "ContainerType")
    for type_code in TYPE_CODES:
        container_type.objects.get_or_create(type_code=type_code)


class Migration(migrations.Migration):
    dependencies = [
        ("lc_runtime", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_container_types, migrations.RunPython.noop)]
