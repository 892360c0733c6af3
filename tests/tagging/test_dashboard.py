"""django-rq's dashboard at /django-rq/ for staff, and its Prometheus metrics for staff or a Bearer token."""
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("carol", password="x", is_staff=True))
    return client


def test_the_dashboard_sends_anonymous_visitors_and_non_staff_to_the_admin_login(client, user):
    response = client.get("/django-rq/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(user)
    assert client.get("/django-rq/").status_code == 302


def test_staff_see_the_dashboard_with_the_order_queue(staff_client, redis_url, settings):
    response = staff_client.get("/django-rq/")
    assert response.status_code == 200
    assert settings.ASYNCREST["QUEUE"] in response.content.decode()


def test_metrics_need_staff_or_the_api_token(client, redis_url, settings):
    settings.RQ_API_TOKEN = TOKEN
    assert client.get("/django-rq/metrics/").status_code == 401
    assert client.get("/django-rq/metrics/", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401

    response = client.get("/django-rq/metrics/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "# TYPE rq_workers gauge" in text
    assert f'rq_jobs{{queue="{settings.ASYNCREST["QUEUE"]}",status="queued"}}' in text


def test_without_a_token_set_metrics_are_for_staff_only(staff_client, redis_url, settings):
    settings.RQ_API_TOKEN = ""
    assert Client().get("/django-rq/metrics/", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert staff_client.get("/django-rq/metrics/").status_code == 200
