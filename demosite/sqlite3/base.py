"""SQLite for Django 4.2, set up as the site's settings set it up on Django 5.1+.

WAL, so that readers proceed while a web or worker process writes; `synchronous=NORMAL`;
and `BEGIN IMMEDIATE`, so that a transaction takes the write lock when it starts instead
of failing with "database is locked" when it first writes.
"""
from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def _start_transaction_under_autocommit(self):
        self.cursor().execute("BEGIN IMMEDIATE")
