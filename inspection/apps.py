from django.apps import AppConfig


class InspectionConfig(AppConfig):
    name = "inspection"
    verbose_name = "Inspection"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from inspection.audit import register_audited_models

        register_audited_models()
