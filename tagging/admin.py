from django.contrib import admin

from .models import Batch, Log, RejectedRow, Tag


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


class RejectedRowInline(admin.TabularInline):
    model = RejectedRow
    extra = 0
    fields = ["line", "reason"]
    readonly_fields = ["line", "reason"]
    can_delete = False
    max_num = 0  # shown, never added by hand


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "filename", "rows", "tagged", "failed", "rejected", "created_at"]
    search_fields = ["id", "filename", "owner__username"]
    raw_id_fields = ["owner", "order"]
    inlines = [RejectedRowInline]
