from io import StringIO

from django.core.management import call_command


def test_the_models_need_no_migration_that_is_not_committed(db):
    output = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=output)
    assert "No changes detected" in output.getvalue()
