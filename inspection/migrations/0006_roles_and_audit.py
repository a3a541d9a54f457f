"""The four roles as groups with their permissions; existing accounts keep working as engineers.

A frozen copy of inspection.lib.roles as it was when this migration was
written (a migration must not change when the code does); a test checks that
the two still agree.
"""

import django.contrib.auth.models
from django.db import migrations

PERMISSIONS = {
    "view_platform": "See products, data sets, versions and inspections",
    "inspect_parts": "Inspect parts, one at a time or in batches",
    "review_parts": "Claim and decide review items",
    "annotate_images": "Draw and save annotations, create and edit defect types",
    "curate_dataset": "Upload, label, split, exclude and delete images; choose the reference and region of interest",
    "train_models": "Start, cancel and compare trainings; evaluate versions",
    "set_operating_point": "Set thresholds and activate versions",
    "export_data": "Export annotations and data",
    "manage_products": "Create and delete products",
    "manage_users": "Create users and station accounts, set roles, lift sign-in locks",
    "view_audit_log": "Read the audit log",
}
OPERATOR = ["view_platform", "inspect_parts"]
REVIEWER = OPERATOR + ["review_parts", "annotate_images"]
ENGINEER = REVIEWER + ["curate_dataset", "train_models", "set_operating_point", "export_data"]
ADMIN = ENGINEER + ["manage_products", "manage_users", "view_audit_log"]
ROLES = {"operator": OPERATOR, "reviewer": REVIEWER, "engineer": ENGINEER, "admin": ADMIN}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    # Django adds content types and permissions only after all migrations ran; the groups need them now.
    content_type, _ = ContentType.objects.get_or_create(app_label="inspection", model="role")
    permissions = {}
    for codename, name in PERMISSIONS.items():
        permissions[codename], _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permissions[codename] for codename in codenames))
    # Everyone could change everything before roles existed; engineers keep that, short of
    # creating and deleting products and managing accounts (README, "Upgrade notes").
    engineer = Group.objects.get(name="engineer")
    for user in User.objects.filter(is_superuser=False, groups__isnull=True):
        user.groups.add(engineer)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('inspection', '0005_annotations_pixel_evaluation'),
    ]

    operations = [
        migrations.CreateModel(
            name='Role',
            fields=[
            ],
            options={
                'permissions': [('view_platform', 'See products, data sets, versions and inspections'), ('inspect_parts', 'Inspect parts, one at a time or in batches'), ('review_parts', 'Claim and decide review items'), ('annotate_images', 'Draw and save annotations, create and edit defect types'), ('curate_dataset', 'Upload, label, split, exclude and delete images; choose the reference and region of interest'), ('train_models', 'Start, cancel and compare trainings; evaluate versions'), ('set_operating_point', 'Set thresholds and activate versions'), ('export_data', 'Export annotations and data'), ('manage_products', 'Create and delete products'), ('manage_users', 'Create users and station accounts, set roles, lift sign-in locks'), ('view_audit_log', 'Read the audit log')],
                'proxy': True,
                'default_permissions': (),
                'indexes': [],
                'constraints': [],
            },
            bases=('auth.group',),
            managers=[
                ('objects', django.contrib.auth.models.GroupManager()),
            ],
        ),
        migrations.RunPython(create_roles, remove_roles),
    ]
