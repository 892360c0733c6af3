"""The site's URLs: the demo page at /, the engine under /async/, tagging results under /tagging/, docs under /api/."""
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from asyncrest.api.views import HealthView

from .views import DemoView


def token_in_path(request, *args, **kwargs):
    """Answer 404 to django-rq's stats URL that carries the RQ_API_TOKEN in its path."""
    raise Http404("The RQ API token goes in an Authorization: Bearer header, not in the URL.")


# django-rq also serves its stats at stats.json/<token>/ (its own pattern, dot unescaped as
# there), where the token lands in access logs and proxies; these patterns come first to
# shadow it at both places django-rq is mounted. The header and staff sessions still work.
RQ_TOKEN_IN_PATH = r"stats.json/(?P<token>\w+)/?$"

urlpatterns = [
    path("", DemoView.as_view(), name="demo"),
    path("async/", include("asyncrest.urls")),
    path("healthz/", HealthView.as_view(), name="healthz"),
    path("tagging/", include("tagging.urls")),
    re_path(rf"^admin/django_rq/dashboard/{RQ_TOKEN_IN_PATH}", token_in_path),
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
    re_path(rf"^django-rq/{RQ_TOKEN_IN_PATH}", token_in_path),
    path("django-rq/", include("django_rq.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

# Errors under the API's paths are JSON (`{"detail": …}`), as DRF's own are; elsewhere Django's pages.
handler400 = "demosite.views.bad_request"
handler403 = "demosite.views.permission_denied"
handler404 = "demosite.views.not_found"
handler500 = "demosite.views.server_error"
