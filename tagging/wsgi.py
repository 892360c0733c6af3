"""WSGI entry point for the asyncrest site (gunicorn tagging.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagging.settings")
application = get_wsgi_application()
