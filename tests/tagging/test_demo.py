"""The demo page at /: who may see it, and what it loads."""
import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_form(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/api-auth/login/?next=/"


def test_the_login_form_brings_people_back_to_the_page(client, user):
    response = client.post("/api-auth/login/?next=/", {"username": "alice", "password": "alice-password", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_signed_in_users_get_the_page_with_its_labels_and_local_scripts(client, user):
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="entries">Log entries, one per line</label>' in html
    assert '<label for="file">' in html and 'id="file" name="file" type="file"' in html
    assert '<progress id="progress"' in html and 'role="status"' in html
    # Everything the page loads comes from the site itself: no CDN.
    assert '{"imports": {"asyncrest": "/static/asyncrest/asyncrest.js"}}' in html
    assert 'src="/static/demosite/demo.js"' in html and "https://" not in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_client_module_is_served_as_javascript(client):
    response = client.get("/static/asyncrest/asyncrest.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = b"".join(response.streaming_content).decode()
    assert "export class Client" in body and "export function wait(" in body and "export function order(" in body
