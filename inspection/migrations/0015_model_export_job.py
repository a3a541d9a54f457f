"""Export as a background job: the job kind, and the version's latest export job."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inspection", "0014_registration_valid_masks"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="export_job",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="inspection.job",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(
                choices=[
                    ("registration", "Registration"),
                    ("training", "Training"),
                    ("inspection", "Inspection"),
                    ("pixel_evaluation", "Pixel Evaluation"),
                    ("export", "Export"),
                ],
                max_length=32,
            ),
        ),
    ]
