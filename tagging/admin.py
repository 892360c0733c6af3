from django.contrib import admin

from .models import Batch, Log, Tag


class TagInline(admin.TabularInline):
    model = Tag
    extra = 0
    fields = ["type", "value", "timestamp"]


@admin.register(Log)
class LogAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "short_entry", "timestamp", "batch"]
    list_filter = ["tags__value"]
    search_fields = ["entry"]
    list_select_related = ["owner"]
    raw_id_fields = ["batch", "order", "owner"]
    inlines = [TagInline]

    @admin.display(description="entry")
    def short_entry(self, log: Log) -> str:
        return log.entry[:80]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["value", "type", "log", "timestamp"]
    list_filter = ["type"]
    search_fields = ["value"]
    raw_id_fields = ["log"]


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "rows", "tagged", "rejected", "created_at"]
    readonly_fields = ["rejected_rows"]
    raw_id_fields = ["owner", "order"]
