"""A page on another origin imports asyncrest.js from the site, orders with a token and long-polls."""
import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.authtoken.models import Token

ENTRIES = ["wrote a program using Python Django", "deployed the API to Kubernetes with Helm"] * 10

# The page records what the browser let it read of every answer, so the test can tell a
# header the client read from one CORS hid from it.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another origin</title><link rel="icon" href="data:,"></head>
<body><p id="out">starting</p>
<script type="module">
  const answers = [];
  const realFetch = window.fetch;
  window.fetch = async (url, init = {{}}) => {{
    const response = await realFetch(url, init);
    const header = (name) => response.headers.get(name);
    answers.push({{ method: init.method || "GET", url: String(url), status: response.status,
      location: header("Location"), retryAfter: header("Retry-After"), etag: header("ETag"),
      applied: header("Preference-Applied") }});
    return response;
  }};
  window.report = {{ answers, progress: [] }};
  try {{
    const {{ configure, order, wait, result }} = await import("{site}/static/asyncrest/asyncrest.js");
    configure({{ baseUrl: "{site}", token: "{token}", pollWait: 5 }});
    const placed = await order("tagging", {{ entries: {entries} }});
    report.url = placed.url;
    const done = await wait(placed, {{ onProgress: (o) => report.progress.push([o.status, o.processed]) }});
    report.done = done;
    report.batch = await result(done);
    document.getElementById("out").textContent = "done";
  }} catch (error) {{
    report.error = `${{error.name}}: ${{error.message}}`;
    document.getElementById("out").textContent = "error";
  }}
</script></body></html>
"""


@pytest.fixture
def other_origin(tmp_path):
    """A plain static server on 127.0.0.1: another origin than the site's http://localhost:port."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def open_page(page, other_origin, site, user):
    directory, origin = other_origin
    token = Token.objects.create(user=user).key
    (directory / "index.html").write_text(PAGE.format(site=site, token=token, entries=json.dumps(ENTRIES)))
    page.goto(f"{origin}/index.html")
    page.wait_for_function("['done', 'error'].includes(document.getElementById('out').textContent)")
    return page.evaluate("window.report")


@pytest.mark.usefixtures("slow_worker")
def test_a_page_on_an_allowed_origin_orders_and_polls_reading_location(page, site, other_origin, user, settings):
    settings.CORS_ALLOWED_ORIGINS = [other_origin[1]]
    report = open_page(page, other_origin, site, user)
    assert "error" not in report, report.get("error")

    post = report["answers"][0]
    assert (post["method"], post["status"], post["retryAfter"]) == ("POST", 202, "1")
    assert post["location"].startswith(f"{site}/async/orders/"), "Location is exposed to other origins"
    assert report["url"] == post["location"]

    polls = [a for a in report["answers"] if a["url"] == post["location"]]
    assert polls[0]["etag"], "ETag is exposed, so the client can send If-None-Match"
    assert all(a["retryAfter"] == "1" for a in polls if a["status"] == 202)
    # After the first read, every pending answer was a long poll the server held (Prefer passed the preflight).
    held = [a for a in polls[1:] if a["status"] in (202, 304)]
    assert held and all(a["applied"] == "wait=5" for a in held), polls
    final = polls[-1]
    assert final["status"] == 201 and final["location"].startswith(f"{site}/tagging/batches/")

    assert report["done"]["status"] == "completed"
    assert report["progress"][-1] == ["completed", 20]
    assert any(0 < processed < 20 for _, processed in report["progress"]), report["progress"]
    assert report["batch"]["rows"] == 20
    assert {"value": "Helm", "count": 10} in report["batch"]["top_tags"]
    assert page.errors == []


def test_a_page_on_another_origin_is_refused(page, site, other_origin, user, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://allowed.example"]
    report = open_page(page, other_origin, site, user)
    # The module itself loads (static files are public); the API answers are withheld by the browser.
    assert report["error"] == "TypeError: Failed to fetch"
    assert report["answers"] == []
