# The storage classes of selectors and Variants took names of their own (the plugin API keeps
# ``Selector`` and ``Variant``); their tables keep the names they had, so no row moves.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('lc_runtime', '0005_static_assets'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RenameModel('Selector', 'SelectorPool'),
                migrations.AlterModelTable('SelectorPool', 'lc_runtime_selector'),
                migrations.RenameModel('SelectorVersion', 'SelectorPoolVersion'),
                migrations.AlterModelTable('SelectorPoolVersion', 'lc_runtime_selectorversion'),
                migrations.RenameModel('Variant', 'LearnerVariant'),
                migrations.AlterModelTable('LearnerVariant', 'lc_runtime_variant'),
            ],
        ),
    ]
