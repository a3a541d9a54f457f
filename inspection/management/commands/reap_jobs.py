from django.core.management.base import BaseCommand

from inspection.services.jobs import job_reap_stale


class Command(BaseCommand):
    help = "Mark running jobs whose worker stopped sending heartbeats as failed (also runs periodically in the worker)."

    def handle(self, *args, **options):
        reaped = job_reap_stale()
        self.stdout.write(f"{reaped} stale job(s) marked as failed.")
