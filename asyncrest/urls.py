from django.urls import path

from . import views

app_name = "asyncrest"

urlpatterns = [
    path("<slug:resource>/order/", views.OrderCreateView.as_view(), name="order-create"),
    path("orders/", views.OrderListView.as_view(), name="order-list"),
    path("orders/<uuid:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
]
