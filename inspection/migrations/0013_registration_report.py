from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("inspection", "0012_decision_integrity"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="registration_report",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
