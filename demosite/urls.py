"""The site's URLs: the demo page at /, the engine under /async/, tagging results under /tagging/, docs under /api/."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from asyncrest.api.views import HealthView

from .views import DemoView

urlpatterns = [
    path("", DemoView.as_view(), name="demo"),
    path("async/", include("asyncrest.urls")),
    path("healthz/", HealthView.as_view(), name="healthz"),
    path("tagging/", include("tagging.urls")),
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
    path("django-rq/", include("django_rq.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

# A URL under the API's paths that matches nothing (e.g. `/async/orders/not-a-uuid/`): JSON, not a page.
handler404 = "demosite.views.not_found"
