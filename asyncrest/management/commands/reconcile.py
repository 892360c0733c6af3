"""`manage.py reconcile`: put stranded, lost and overdue orders back on track."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from asyncrest import conf
from asyncrest.worker.reconciler import reconcile, reconcile_if_due


class Command(BaseCommand):
    help = (
        "Enqueue queued orders that have no job in Redis, retry or fail running orders whose "
        "worker is gone, and fail orders past their timeout. With --loop, repeat every "
        "RECONCILE_INTERVAL seconds until stopped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep reconciling until stopped.")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between passes with --loop.")

    def handle(self, *args, loop: bool, interval: float | None, **options) -> None:
        if not loop:
            self.stdout.write(f"Reconciled: {reconcile()}")
            return
        interval = interval or conf.get("RECONCILE_INTERVAL")
        try:
            while True:
                close_old_connections()
                try:
                    reconcile_if_due()
                except Exception as exc:  # a database or Redis outage: try again next round
                    self.stderr.write(f"reconciler pass failed: {exc}")
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
