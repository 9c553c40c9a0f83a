"""A course run may pin a published snapshot (a PublishLog of its package)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lc_runtime", "0003_selectors"),
        ("openedx_content", "0014_typed_media_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="courserun",
            name="pinned_publish_log",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to="openedx_content.publishlog",
            ),
        ),
    ]
