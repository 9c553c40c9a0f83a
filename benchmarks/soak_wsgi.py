"""The WSGI application ``make soak``'s server process loads: Django set up with :mod:`benchmarks.soak_settings`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.soak_settings")
application = get_wsgi_application()
