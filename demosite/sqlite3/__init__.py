"""SQLite configured on Django 4.2 as `init_command` and `transaction_mode` configure it on 5.1+."""
