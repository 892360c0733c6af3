"""The admin of orders: filters, progress, errors, attempts and timings; actions to cancel and to retry."""
from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from . import lifecycle
from .broker.dispatch import remove_job
from .lifecycle import log_transition
from .models import Delivery, Order, Part, PurgedOrder, Status

logger = logging.getLogger("asyncrest.orders")


class PartInline(admin.TabularInline):
    """The parts of a fanned-out order, each with its own status, progress and attempts."""

    model = Part
    extra = 0
    fields = ["index", "status", "processed", "failed", "total", "attempts", "started_at", "finished_at", "error_code",
              "error_message"]
    readonly_fields = fields
    can_delete = False
    max_num = 0  # shown, never added by hand


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id", "resource", "owner", "status", "progress_shown", "error_code", "attempts",
        "created_at", "started_at", "finished_at", "duration_shown",
    ]
    list_filter = ["status", "resource", ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["id", "owner__username", "error_code", "message"]
    date_hierarchy = "created_at"
    list_select_related = ["owner"]
    actions = ["cancel_orders", "retry_orders"]
    inlines = [PartInline]
    readonly_fields = [
        "id", "owner", "resource", "status", "input", "progress", "processed", "failed", "total", "message", "retry_of",
        "resource_url", "error_code", "error_message", "error_detail", "usage", "attempts", "job_id",
        "created_at", "updated_at", "started_at", "finished_at", "heartbeat_at", "available_at", "cancel_requested_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "owner", "resource", "status", "input", "retry_of"]}),
        ("Progress", {"fields": ["progress", "processed", "failed", "total", "message", "resource_url"]}),
        ("Error", {"fields": ["error_code", "error_message", "error_detail"]}),
        ("Usage", {"fields": ["usage"]}),
        ("Delivery", {"fields": [
            "attempts", "job_id", "created_at", "updated_at", "started_at", "finished_at", "heartbeat_at",
            "available_at", "cancel_requested_at",
        ]}),
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description="progress", ordering="progress")
    def progress_shown(self, order: Order) -> str:
        total = f"{order.total:,}" if order.total is not None else "?"
        return f"{order.progress:.0f} % ({order.processed:,} of {total})"

    @admin.display(description="duration")
    def duration_shown(self, order: Order) -> str:
        return f"{order.duration.total_seconds():.1f} s" if order.duration else "–"

    @admin.action(description="Cancel the selected orders", permissions=["change"])
    def cancel_orders(self, request, queryset) -> None:
        """Cancel as DELETE does: waiting orders at once, running ones at their next progress step."""
        cancelled = stopping = finished = 0
        for order in queryset:
            if order.is_finished:
                finished += 1
            elif lifecycle.cancel_waiting(order.pk):
                log_transition(order, Status.CANCELLED, detail="by=admin")
                remove_job(order)
                cancelled += 1
            elif lifecycle.request_cancel(order.pk) or order.cancel_requested_at:
                stopping += 1
            else:
                finished += 1  # it finished between the read and the cancel
        self.message_user(
            request,
            f"{cancelled} cancelled, {stopping} stopping at their next progress step, "
            f"{finished} already finished (left as they are).",
            messages.SUCCESS if cancelled or stopping else messages.WARNING,
        )

    @admin.action(description="Retry what the selected orders did not do (as new orders)", permissions=["change"])
    def retry_orders(self, request, queryset) -> None:
        """Place a new order redoing what each finished one did not do (`POST /async/orders/<id>/retry/`):
        a finished order never changes, so it is not reused."""
        skipped = 0
        for order in queryset:
            if lifecycle.why_not_retryable(order):
                skipped += 1
                continue
            again = place_again(order)
            link = reverse("admin:asyncrest_order_change", args=[again.pk])
            self.message_user(
                request,
                format_html('Order {} is retried as <a href="{}">{}</a>.', order.pk, link, again.pk),
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request, f"{skipped} selected order(s) were pending, or completed with nothing failed, and were "
                "not retried.", messages.WARNING
            )


def place_again(order: Order) -> Order:
    """Place the order that redoes what the finished `order` did not do; enqueue it once committed."""
    again = lifecycle.place_retry(order)
    logger.info("order %s retried as %s from the admin", order.pk, again.pk)
    return again


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Webhook deliveries: where each finished order was announced, and how that went."""

    list_display = ["order", "event", "url", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "event"]
    search_fields = ["order__id", "url"]
    raw_id_fields = ["order"]
    readonly_fields = [
        "id", "order", "url", "event", "status", "attempts", "next_attempt_at", "last_status_code",
        "last_error", "created_at", "delivered_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(PurgedOrder)
class PurgedOrderAdmin(admin.ModelAdmin):
    """The tombstones of purged orders: what answers 410 Gone until TOMBSTONE_RETENTION has passed."""

    list_display = ["id", "resource", "owner", "status", "finished_at", "purged_at"]
    list_filter = ["status", "resource"]
    search_fields = ["id", "owner__username"]
    date_hierarchy = "purged_at"
    readonly_fields = ["id", "owner", "resource", "status", "finished_at", "purged_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
