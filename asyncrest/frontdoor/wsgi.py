"""The WSGI application runstack's gunicorn serves: the project's own (WSGI_APPLICATION), behind the front door."""
from django.core.servers.basehttp import get_internal_wsgi_application

from . import behind_front_door

application = behind_front_door(get_internal_wsgi_application())
