"""The site's own views: the demo page at /, and the 404 handler that keeps the API's answers JSON."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.views import defaults
from django.views.generic import TemplateView

#: Where the API lives: a URL there that matches no pattern is a JSON 404, as DRF's own are.
API_PATH_PREFIXES = ("/async/", "/tagging/", "/healthz/")


class DemoView(LoginRequiredMixin, TemplateView):
    """Show signed-in users the page that orders a tagging with asyncrest.js; others go to the login form."""

    template_name = "demosite/demo.html"


def not_found(request, exception):
    """The site's 404 (handler404): JSON under the API's paths, Django's page elsewhere."""
    if request.path_info.startswith(API_PATH_PREFIXES):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
