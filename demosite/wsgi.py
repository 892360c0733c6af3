"""WSGI entry point for the asyncrest site (gunicorn demosite.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")
application = get_wsgi_application()

# Import the URLconf and every view while the server process starts, not in the first
# request each process serves (some 40 ms on a 2-core machine).
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
