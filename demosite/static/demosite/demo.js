// The demo page: order a tagging of pasted entries or a CSV file, follow it, show the tags.
import { AsyncRestError, Client, OrderCancelled, OrderFailed } from "asyncrest";

const $ = (id) => document.getElementById(id);
const form = $("order-form");
// Same origin, signed in: the session cookie authenticates, the CSRF token guards POST and DELETE.
const client = new Client({ csrfToken: form.dataset.csrfToken });
let placed = null;
let watching = null;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  const entries = $("entries").value.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  if (!file && entries.length === 0) {
    showError("Paste some log entries, or choose a CSV file.");
    $("entries").focus();
    return;
  }
  start();
  watching = new AbortController();
  try {
    placed = await client.order("tagging", file || { entries }, { signal: watching.signal });
    $("order-link").href = placed.url;
    $("order-link").textContent = placed.url;
    showProgress(placed);
    const done = await client.wait(placed, { onProgress: showProgress, signal: watching.signal });
    showProgress(done);
    await showBatch(await client.result(done, { signal: watching.signal }), done);
  } catch (error) {
    if (error.name === "AbortError") return;
    if (error instanceof OrderCancelled) {
      showError("The tagging was cancelled.");
    } else if (error instanceof OrderFailed) {
      showError(`The tagging failed: ${error.message}`);
    } else if (error instanceof AsyncRestError && error.detail && typeof error.detail === "object") {
      showError(describe(error.detail));
    } else {
      showError(error.message);
    }
  } finally {
    $("submit").disabled = false;
    $("cancel").hidden = true;
  }
});

$("cancel").addEventListener("click", async () => {
  if (!placed) return;
  $("cancel").disabled = true;
  try {
    await client.cancel(placed);  // the wait above then ends with "cancelled"
  } catch (error) {
    showError(error.message);
  }
});

$("more").addEventListener("click", async () => {
  $("more").disabled = true;
  try {
    await showLogs($("more").dataset.next);
  } catch (error) {
    showError(error.message);
  } finally {
    $("more").disabled = false;
  }
});

function start() {
  watching?.abort();
  $("error").hidden = true;
  $("results").hidden = true;
  $("progress-section").hidden = false;
  $("progress").removeAttribute("value"); // indeterminate until the order has a total
  $("status").textContent = "Sending…";
  $("submit").disabled = true;
  $("cancel").hidden = false;
  $("cancel").disabled = false;
}

function showProgress(order) {
  const progress = $("progress");
  if (order.total) {
    progress.max = order.total;
    progress.value = order.processed;
  } else if (!["queued", "running"].includes(order.status)) {
    progress.max = 1; // finished without a total: a still bar, full only if completed
    progress.value = order.status === "completed" ? 1 : 0;
  } else {
    progress.removeAttribute("value");
  }
  const counts = order.total ? `${order.processed} of ${order.total} entries` : `${order.processed} entries`;
  const message = order.message && ["queued", "running"].includes(order.status) ? ` · ${order.message}` : "";
  $("status").textContent = `${capitalize(order.status)}: ${counts} (${Math.round(order.progress)}%)${message}`;
}

async function showBatch(batch, done) {
  const failed = batch.failed ? `, ${batch.failed} the tagger could not read` : "";
  const source = batch.filename ? ` from ${batch.filename}` : "";
  $("summary").textContent = `${batch.rows} ${batch.rows === 1 ? "entry" : "entries"}${source}: ` +
    `${batch.tagged} tagged${failed}, ${batch.rejected} not used.`;
  $("export").href = batch.export_url || new URL("export.csv", done.resource_url).href;
  const topTags = $("top-tags");
  topTags.replaceChildren(...batch.top_tags.map((tag) => element("li", `${tag.value} (${tag.count})`)));
  if (batch.top_tags.length === 0) topTags.replaceChildren(element("li", "No tags found."));
  const rejected = batch.rejected_rows || [];
  $("rejected").hidden = rejected.length === 0;
  $("rejected").querySelector("ul").replaceChildren(
    ...rejected.map((row) => element("li", `Line ${row.line}: ${row.reason}`)),
  );
  $("logs").tBodies[0].replaceChildren();
  await showLogs(batch.logs_url);
  $("results").hidden = false;
}

async function showLogs(url) {
  const page = await client.json(url);
  const rows = page.results.map((log) => {
    const tags = element("td");
    for (const tag of log.tags) tags.append(element("span", tag.value, "tag"), " ");
    if (log.tags.length === 0) tags.append(element("span", "none", "none"));
    const row = element("tr");
    row.append(element("td", log.entry), tags);
    return row;
  });
  $("logs").tBodies[0].append(...rows);
  $("more").hidden = !page.next;
  $("more").dataset.next = page.next || "";
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
}

function describe(detail) {
  // DRF's errors: {"detail": "…"} or {"field": ["…"]}.
  if (detail.detail) return detail.detail;
  return Object.entries(detail)
    .map(([field, problems]) => `${field === "non_field_errors" ? "" : `${field}: `}${[].concat(problems).join(" ")}`)
    .join(" ");
}

function element(name, text = null, className = null) {
  const node = document.createElement(name);
  if (text !== null) node.textContent = text; // entries are text, never HTML
  if (className) node.className = className;
  return node;
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
