"""The tagging app's results: logs, batches, their CSV export and tag counts (include under /tagging/)."""
from django.urls import path

from . import views

app_name = "tagging"

urlpatterns = [
    path("logs/", views.LogList.as_view(), name="log-list"),
    path("logs/<int:pk>/", views.LogDetail.as_view(), name="log-detail"),
    path("batches/<uuid:pk>/", views.BatchDetail.as_view(), name="batch-detail"),
    path("batches/<uuid:pk>/export.csv", views.BatchExport.as_view(), name="batch-export"),
    path("tags/", views.TagCounts.as_view(), name="tag-list"),
]
