from django.urls import path

from demosite.urls import urlpatterns as site_urlpatterns

from .views import OrderCreate, OrderDetail

urlpatterns = [
    path("peer/order/", OrderCreate.as_view()),
    path("peer/orders/<uuid:pk>/", OrderDetail.as_view()),
    *site_urlpatterns,
]
