"""The engine's URLs (`path("async/", include("asyncrest.urls"))`): an order path per resource, the orders, the webhook secret."""
from django.urls import path

from .api import retries, signing, views
from .registry import get_resources

app_name = "asyncrest"


def resource_patterns() -> list:
    """Return one order pattern per resource registered so far, so the schema shows each one's own input.

    Resources are registered in AppConfig.ready(), before any URLconf is loaded. They
    behave exactly like the generic pattern below, which also serves resources
    registered later and answers 404 for unknown ones.
    """
    return [
        path(f"{name}/order/", views.OrderCreateView.as_view(resource_name=name), {"resource": name},
             name="order-create")
        for name in sorted(get_resources())
    ]


urlpatterns = [
    *resource_patterns(),
    path("<slug:resource>/order/", views.OrderCreateView.as_view(), name="order-create"),
    path("orders/", views.OrderListView.as_view(), name="order-list"),
    path("orders/<uuid:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<uuid:pk>/retry/", retries.OrderRetryView.as_view(), name="order-retry"),
    path("webhooks/secret/", signing.SigningSecretView.as_view(), name="webhook-secret"),
]
