"""The demo page at / in headless Chromium: sign in, order a tagging, watch the bar, read the tags."""
import pytest

ENTRIES = [f"{i}: wrote a program using Python Django" if i % 3 == 0 else f"{i}: tuned PostgreSQL on Kubernetes"
           for i in range(30)]

# Record every value the progress bar takes, from the page's side.
RECORD_PROGRESS = """() => {
  window.progressSeen = [];
  const bar = document.getElementById("progress");
  new MutationObserver(() => {
    if (bar.hasAttribute("value")) window.progressSeen.push([bar.value, bar.max]);
  }).observe(bar, { attributes: true, attributeFilter: ["value", "max"] });
}"""


def sign_in(page, site, user):
    page.goto(f"{site}/")
    assert "/api-auth/login/" in page.url and "next=/" in page.url, "anonymous visitors are sent to sign in"
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("alice-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/")
    page.errors.clear()  # what DRF's login page logged is not this page's


def assert_progress_moved(page, total: int):
    seen = page.evaluate("window.progressSeen")
    values = [value for value, maximum in seen if maximum == total]
    assert values == sorted(values), f"the bar never goes back: {seen}"
    assert values[-1] == total
    assert len({v for v in values if 0 < v < total}) >= 2, f"the bar moved through the batch: {seen}"


@pytest.mark.usefixtures("slow_worker")
def test_pasted_entries_show_a_moving_bar_then_the_tags(page, site, user):
    sign_in(page, site, user)
    assert page.title() == "Tag log entries · asyncrest"
    page.evaluate(RECORD_PROGRESS)

    page.get_by_label("Log entries, one per line").fill("\n".join(ENTRIES) + "\n\n")
    page.get_by_role("button", name="Tag").click()

    results = page.get_by_role("region", name="Tags")
    results.wait_for()
    status = page.get_by_role("status")
    assert status.inner_text().startswith("Completed: 30 of 30 entries (100%)")
    progressbar = page.get_by_role("progressbar", name="Progress")
    assert progressbar.get_attribute("value") == "30" and progressbar.get_attribute("max") == "30"
    assert_progress_moved(page, 30)

    assert page.locator("#summary").inner_text() == "30 entries: 30 tagged, 0 not used."
    top = page.get_by_role("list", name="Top tags of the batch").get_by_role("listitem").all_inner_texts()
    assert top[:2] == ["Kubernetes (20)", "PostgreSQL (20)"] and "Django (10)" in top

    rows = page.get_by_role("table", name="Tags per entry").locator("tbody tr")
    assert rows.count(), "the first page of entries is shown"
    first = rows.nth(0).locator("td")
    assert first.nth(0).inner_text() == ENTRIES[0]
    assert first.nth(1).locator(".tag").all_inner_texts() == ["Django", "Python"]

    export = page.get_by_role("link", name="Download the tagged entries as CSV")
    href = export.get_attribute("href")
    assert href.startswith(f"{site}/tagging/batches/") and href.endswith("/export.csv")
    assert page.errors == []


@pytest.mark.usefixtures("slow_worker")
def test_cancel_stops_the_order_on_the_server(page, site, user):
    from asyncrest.models import Order

    sign_in(page, site, user)
    page.get_by_label("Log entries, one per line").fill("\n".join(ENTRIES * 10))
    page.get_by_role("button", name="Tag").click()
    page.wait_for_function("document.getElementById('progress').value > 0")
    page.get_by_role("button", name="Cancel").click()  # a DELETE with the session's CSRF token

    assert page.get_by_role("alert").inner_text() == "The tagging was cancelled."
    assert page.get_by_role("status").inner_text().startswith("Cancelled: ")
    order = Order.objects.get(owner=user)
    assert order.status == "cancelled" and order.processed < 300
    assert page.get_by_role("button", name="Tag").is_enabled()
    assert page.errors == []


def test_nothing_to_tag_is_explained(page, site, user):
    sign_in(page, site, user)
    page.get_by_role("button", name="Tag").click()
    assert page.get_by_role("alert").inner_text() == "Paste some log entries, or choose a CSV file."


@pytest.mark.usefixtures("slow_worker")
def test_a_csv_file_shows_a_moving_bar_the_tags_and_the_export(page, site, user, tmp_path):
    path = tmp_path / "logs.csv"
    path.write_text("timestamp;Entry\n" + "".join(f"2026-11-02T09:30:00Z;{e}\n" for e in ENTRIES) + ";\n",
                    encoding="utf-8-sig")
    sign_in(page, site, user)
    page.evaluate(RECORD_PROGRESS)

    page.get_by_label("…or a CSV file with an entry column").set_input_files(str(path))
    page.get_by_role("button", name="Tag").click()

    page.get_by_role("region", name="Tags").wait_for()
    assert_progress_moved(page, 30)
    assert page.locator("#summary").inner_text() == "31 entries from logs.csv: 30 tagged, 1 not used."
    rejected = page.locator("#rejected")
    rejected.get_by_text("Rows that could not be used").click()
    assert rejected.get_by_role("listitem").all_inner_texts() == ["Line 32: the entry is empty"]
    assert "Django (10)" in page.get_by_role("list", name="Top tags of the batch").inner_text()

    href = page.get_by_role("link", name="Download the tagged entries as CSV").get_attribute("href")
    export = page.request.get(href)
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv")
    assert ENTRIES[0] in export.text()
    assert page.errors == []
