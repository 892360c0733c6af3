"""The demo page at /: tag pasted log entries or a CSV file and watch the order's progress."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class DemoView(LoginRequiredMixin, TemplateView):
    """Show signed-in users the page that orders a tagging with asyncrest.js; others go to the login form."""

    template_name = "tagging/demo.html"
