"""`manage.py purge`: delete the finished orders past their retention, leaving tombstones (410 Gone)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from asyncrest import conf
from asyncrest.worker.retention import expired_orders, purge


class Command(BaseCommand):
    help = (
        "Delete finished orders kept longer than their resource's retention (ASYNCREST['RETENTION'], "
        "register(..., retention=)), with their parts, webhook deliveries and, where the resource says so, "
        "results, in batches of short transactions; each leaves a tombstone that answers 410 Gone for "
        "TOMBSTONE_RETENTION. Pending orders are never purged. The reconciler does the same a little at a time."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=None,
                            help=f"Orders per batch (default PURGE_BATCH, {conf.DEFAULTS['PURGE_BATCH']}).")
        parser.add_argument("--dry-run", action="store_true", help="Count the orders that would go; delete nothing.")

    def handle(self, *args, batch_size: int | None, dry_run: bool, **options) -> None:
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        if dry_run:
            count = sum(expired.count() for expired in expired_orders(None))
            self.stdout.write(f"{count:,} finished orders are past their retention; nothing was deleted (--dry-run).")
            return
        self.stdout.write(f"Purged: {purge(batch_size=batch_size)}.")
