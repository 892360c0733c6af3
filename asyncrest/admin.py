from django.contrib import admin

from .models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "resource", "owner", "status", "progress", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "resource"]
    search_fields = ["id", "owner__username", "error_code", "message"]
    date_hierarchy = "created_at"
    list_select_related = ["owner"]
    readonly_fields = [
        "id", "owner", "resource", "status", "input", "progress", "processed", "total", "message",
        "resource_url", "error_code", "error_message", "error_detail", "usage", "attempts", "job_id",
        "created_at", "updated_at", "started_at", "finished_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "owner", "resource", "status", "input"]}),
        ("Progress", {"fields": ["progress", "processed", "total", "message", "resource_url"]}),
        ("Error", {"fields": ["error_code", "error_message", "error_detail"]}),
        ("Usage", {"fields": ["usage"]}),
        ("Delivery", {"fields": ["attempts", "job_id", "created_at", "updated_at", "started_at", "finished_at"]}),
    ]

    def has_add_permission(self, request):
        return False
