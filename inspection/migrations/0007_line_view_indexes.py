# Indexes behind the inspection history, the production dashboard and the drift check.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inspection', '0006_roles_and_audit'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='inspection',
            index=models.Index(fields=['product', 'inspected_at', 'id'], include=('decision', 'version', 'engine_seconds'), name='inspection_product_inspected'),
        ),
        migrations.AddIndex(
            model_name='inspection',
            index=models.Index(fields=['product', 'version', 'inspected_at'], name='inspection_version_inspected'),
        ),
        migrations.AddIndex(
            model_name='inspection',
            index=models.Index(fields=['product', 'score', 'id'], name='inspection_product_score'),
        ),
        migrations.AddIndex(
            model_name='inspection',
            index=models.Index(fields=['product', 'created_at', 'id'], name='inspection_product_created'),
        ),
        migrations.AddIndex(
            model_name='inspection',
            index=models.Index(fields=['product', 'decision', 'inspected_at'], name='inspection_decision_inspected'),
        ),
    ]
