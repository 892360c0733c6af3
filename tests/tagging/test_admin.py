"""The site's admin: every registered model's list and change pages render, with data in them."""
import uuid

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token

from asyncrest.models import Delivery, Order, Part, PurgedOrder
from tagging.models import Batch, Log, RejectedRow, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_data(user):
    """A row of every model the admin shows."""
    Group.objects.create(name="operators")
    Token.objects.create(user=user)
    order = Order.objects.create(owner=user, resource="tagging", status="running", input={"entries": ["a", "b"]})
    Part.objects.create(order=order, index=0, func="tagging.jobs.tag_part", then="tagging.jobs.finish_batch")
    Delivery.objects.create(order=order, url="https://example.com/hook", event="order.completed")
    PurgedOrder.objects.create(id=uuid.uuid4(), owner=user, resource="tagging", status="completed")
    batch = Batch.objects.create(owner=user, order=order, filename="logs.csv", rows=3, tagged=2, rejected=1)
    RejectedRow.objects.create(batch=batch, line=3, reason="the entry is empty")
    log = Log.objects.create(owner=user, entry="wrote a program using Python Django", batch=batch)
    Tag.objects.create(log=log, value="Django")
    return {"batch": batch, "log": log}


def registered():
    return [pytest.param(model, id=model._meta.label) for model in admin.site._registry]


@pytest.mark.parametrize("model", registered())
def test_every_registered_model_has_pages_that_render(admin_client, admin_user, site_data, redis_url, model):
    opts = model._meta
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    if not opts.managed:
        return  # django-rq's dashboard: a page, no rows
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    row = admin.site._registry[model].get_queryset(request).first()
    assert row is not None, f"give site_data a {opts.label} row"
    change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(row.pk)]))
    assert change.status_code == 200


def test_a_log_shows_its_tags_and_a_batch_its_rejected_rows(admin_client, site_data):
    log_page = admin_client.get(reverse("admin:tagging_log_change", args=[site_data["log"].pk])).content.decode()
    assert 'value="Django"' in log_page
    batch_page = admin_client.get(reverse("admin:tagging_batch_change", args=[site_data["batch"].pk])).content.decode()
    assert "the entry is empty" in batch_page
