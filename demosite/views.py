"""The site's own views: the demo page at /, and the error handlers that keep the API's answers JSON."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import JsonResponse
from django.views import csrf, defaults
from django.views.generic import TemplateView

#: Where the API lives: any error there is JSON, as DRF's own are; elsewhere it is Django's page.
API_PATH_PREFIXES = ("/async/", "/tagging/", "/healthz/")


class DemoView(LoginRequiredMixin, TemplateView):
    """Show signed-in users the page that orders a tagging with asyncrest.js; others go to the login form."""

    template_name = "demosite/demo.html"


def is_api(request) -> bool:
    """Return whether the request is for one of the API's paths."""
    return request.path_info.startswith(API_PATH_PREFIXES)


def bad_request(request, exception):
    """Answer the site's 400 (handler400), such as an unreadable multipart body: JSON under the API's paths."""
    if is_api(request):
        return JsonResponse({"detail": "The request could not be read."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    """Answer the site's 403 (handler403): JSON under the API's paths, Django's page elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """Answer a refused CSRF check (CSRF_FAILURE_VIEW): JSON under the API's paths, as DRF words it."""
    if is_api(request):
        return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)
    return csrf.csrf_failure(request, reason)


def not_found(request, exception):
    """Answer the site's 404 (handler404): JSON under the API's paths, Django's page elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Answer the site's 500 (handler500): JSON under the API's paths, never a traceback."""
    if is_api(request):
        return JsonResponse({"detail": "A server error occurred."}, status=500)
    return defaults.server_error(request)
