# Static files as Learning Core media (ADR 0010): the settings of an asset version that openedx-core does not model.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('lc_runtime', '0004_course_run_pins'),
        ('openedx_content', '0014_typed_media_id'),
    ]

    operations = [
        migrations.CreateModel(
            name='AssetSettings',
            fields=[
                ('component_version', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='lc_asset_settings', serialize=False, to='openedx_content.publishableentityversion')),
                ('locked', models.BooleanField(default=False)),
            ],
        ),
    ]
