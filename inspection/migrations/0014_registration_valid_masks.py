import django.db.models
from django.db import migrations

import inspection.models.inspections
import inspection.models.products


class Migration(migrations.Migration):
    """Where each aligned copy shows the picture's own pixels; copies aligned before have none (all valid)."""

    dependencies = [
        ("inspection", "0013_registration_report"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="aligned_valid_mask",
            field=django.db.models.FileField(
                blank=True, max_length=500, upload_to=inspection.models.products._aligned_path
            ),
        ),
        migrations.AddField(
            model_name="inspection",
            name="registered_valid_mask",
            field=django.db.models.FileField(
                blank=True, max_length=500, upload_to=inspection.models.inspections._inspection_path
            ),
        ),
    ]
