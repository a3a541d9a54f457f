import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the administrator account with a generated password and print it; run again, it "
        "prints the same password as long as nobody changed it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        # The password is kept (readable only by its owner) under VAR_DIR so the
        # start script can show it again on the next start.
        password_file = Path(settings.VAR_DIR) / "admin_password"
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser(username=username, email="", password=password)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
            self.stdout.write(f"Created administrator {username!r} with password: {password}")
            return
        saved = password_file.read_text().strip() if password_file.exists() else ""
        if saved and user.check_password(saved):
            self.stdout.write(f"Administrator {username!r}, password: {saved}")
        else:
            self.stdout.write(
                f"Administrator {username!r} exists; its password was changed. "
                f"Reset it with: python manage.py changepassword {username}"
            )
