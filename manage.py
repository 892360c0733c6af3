#!/usr/bin/env python
"""Django's command-line utility for the asyncrest site."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018  (reads the settings module)
    except ImproperlyConfigured as exc:
        # Say what is wrong (a missing SECRET_KEY, say); Django 4.2 would go on to a
        # traceback about the app registry instead.
        sys.exit(f"ImproperlyConfigured: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
