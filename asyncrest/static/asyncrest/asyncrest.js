/**
 * asyncrest.js: order long-running jobs from an asyncrest server, wait for them, collect the result.
 *
 * A dependency-free ES module; no build step. Import it from the server that serves it
 * (`<origin>/static/asyncrest/asyncrest.js`) or copy it next to your code:
 *
 *   import { configure, order, wait, result } from "https://api.example.com/static/asyncrest/asyncrest.js";
 *   configure({ baseUrl: "https://api.example.com", token: "…" });
 *   const placed = await order("tagging", { entries: ["wrote a program using Python Django"] });
 *   const done = await wait(placed, { onProgress: (o) => console.log(o.processed, "/", o.total) });
 *   console.log(await result(done));
 *
 * `wait` long-polls: each status request asks the server to hold it until the order
 * changes (`Prefer: wait=N`, with the last `ETag` in `If-None-Match`); a server that does
 * not hold it is asked again after its `Retry-After`. An AbortSignal stops it.
 */

const PENDING = new Set(["queued", "running"]);

/** The root of this module's errors; `status` and `detail` come from an HTTP error answer. */
export class AsyncRestError extends Error {
  constructor(message, { status = null, detail = null } = {}) {
    super(message);
    this.name = "AsyncRestError";
    this.status = status;
    this.detail = detail;
  }
}

/** The order finished without a result: `code` and `message` say why, `order` is its last state. */
export class OrderFailed extends AsyncRestError {
  constructor(order) {
    const error = order.error || {};
    super(error.message || `The order was ${order.status}.`);
    this.name = "OrderFailed";
    this.code = error.code || order.status;
    this.order = order;
  }
}

/** The order was cancelled before it finished. */
export class OrderCancelled extends OrderFailed {
  constructor(order) {
    super(order);
    this.name = "OrderCancelled";
  }
}

/** The order was still pending when `wait`'s timeout ran out; it goes on on the server. */
export class WaitTimeout extends AsyncRestError {
  constructor(order, timeout) {
    super(`The order is still ${order ? order.status : "pending"} after ${timeout} s.`);
    this.name = "WaitTimeout";
    this.order = order;
  }
}

/** Talk to one asyncrest server: `baseUrl` ("" = this page's origin), a `token`, or the session. */
export class Client {
  constructor(options = {}) {
    this.baseUrl = "";
    this.token = null;
    this.csrfToken = null;
    this.headers = {};
    this.pollWait = 25;
    this.configure(options);
  }

  /** Change `baseUrl`, `token`, `csrfToken` (session auth), extra `headers` or `pollWait` (seconds). */
  configure(options = {}) {
    for (const name of ["baseUrl", "token", "csrfToken", "headers", "pollWait"]) {
      if (options[name] !== undefined) this[name] = options[name];
    }
    return this;
  }

  /**
   * Place an order for `resource`; return the order, whose `url` is the answer's `Location`.
   * `body` is a plain object (sent as JSON), a File or Blob (a CSV upload, multipart field
   * `file`), a FormData, or a string (sent as `text/csv`).
   */
  async order(resource, body = {}, { idempotencyKey = null, signal } = {}) {
    const headers = {};
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    let payload;
    if (typeof Blob !== "undefined" && body instanceof Blob) {
      payload = new FormData();
      payload.append("file", body, body.name || "entries.csv");
    } else if (typeof FormData !== "undefined" && body instanceof FormData) {
      payload = body;
    } else if (typeof body === "string") {
      payload = body;
      headers["Content-Type"] = "text/csv; charset=utf-8";
    } else {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const url = this.url(`async/${encodeURIComponent(resource)}/order/`);
    const response = await this.send(url, { method: "POST", headers, body: payload, signal });
    const placed = await response.json();
    // Cross-origin, the Location header is readable only when the server exposes it (CORS).
    placed.url = response.headers.get("Location") || placed.url;
    return placed;
  }

  /** Return the order (an order object or its URL) as the server describes it now. */
  async get(order, { signal } = {}) {
    return (await this.send(orderUrl(order), { signal })).json();
  }

  /**
   * Wait until the order finishes and return it; call `onProgress(order)` on every change.
   * Rejects with OrderFailed or OrderCancelled, with WaitTimeout after `timeout` seconds,
   * or with the signal's reason when `signal` aborts.
   */
  async wait(order, { onProgress = null, signal, timeout = null, pollWait = this.pollWait } = {}) {
    const url = orderUrl(order);
    const deadline = timeout == null ? null : Date.now() + timeout * 1000;
    let current = typeof order === "string" ? null : order;
    let etag = null;
    let first = true;
    while (!current || PENDING.has(current.status)) {
      signal?.throwIfAborted();
      const remaining = deadline == null ? Infinity : (deadline - Date.now()) / 1000;
      if (remaining <= 0) throw new WaitTimeout(current, timeout);
      // The first request reads the order as it is now; the next ones wait for a change.
      const hold = first ? 0 : Math.min(pollWait, Math.floor(remaining));
      const headers = {};
      if (etag) headers["If-None-Match"] = etag;
      if (hold >= 1) headers["Prefer"] = `wait=${hold}`;
      const response = await this.send(url, { headers, signal, cache: "no-store" });
      if (response.status !== 304) {
        etag = response.headers.get("ETag");
        const next = await response.json();
        if (!current || JSON.stringify(next) !== JSON.stringify(current)) onProgress?.(next);
        current = next;
      }
      if (PENDING.has(current.status) && !first && !response.headers.has("Preference-Applied")) {
        // The server did not hold the request (or the deadline is near): poll after Retry-After.
        await sleep(Math.min(retryAfter(response), remaining), signal);
      }
      first = false;
    }
    if (current.status === "cancelled") throw new OrderCancelled(current);
    if (current.status === "failed") throw new OrderFailed(current);
    return current;
  }

  /** Return the JSON of a completed order's resource. */
  async result(order, { signal } = {}) {
    const done = typeof order !== "string" && order.resource_url ? order : await this.get(order, { signal });
    if (!done.resource_url) throw new AsyncRestError(`The order is ${done.status}; it has no result.`);
    return this.json(done.resource_url, { signal });
  }

  /** Cancel the order: at once if it is queued, at its next progress step if it runs. */
  async cancel(order, { signal } = {}) {
    return (await this.send(orderUrl(order), { method: "DELETE", signal })).json();
  }

  /** GET any JSON the server offers (a result's links, a page of a list). */
  async json(url, { signal } = {}) {
    return (await this.send(this.url(url), { signal })).json();
  }

  /** Resolve `path` against `baseUrl`, or against this page's origin when there is none. */
  url(path) {
    const base = this.baseUrl || (typeof location !== "undefined" ? location.origin : "");
    if (!base) return new URL(path).href; // outside a browser, set baseUrl for relative paths
    return new URL(path, base.endsWith("/") ? base : `${base}/`).href;
  }

  /** Fetch with the client's credentials; reject with AsyncRestError on an error status. */
  async send(url, { method = "GET", headers = {}, ...init } = {}) {
    const all = { Accept: "application/json", ...this.headers, ...headers };
    if (this.token) all.Authorization = `Token ${this.token}`;
    const csrf = this.csrfToken || (this.token ? null : cookie("csrftoken"));
    if (csrf && !["GET", "HEAD", "OPTIONS"].includes(method)) all["X-CSRFToken"] = csrf;
    const response = await fetch(url, { method, headers: all, ...init });
    if (response.status >= 400) {
      let detail = null;
      try {
        detail = await response.json();
      } catch {
        detail = null;
      }
      const text = detail && typeof detail === "object" && detail.detail ? detail.detail : JSON.stringify(detail);
      throw new AsyncRestError(`${method} ${url} answered ${response.status}: ${text}`, { status: response.status, detail });
    }
    return response;
  }
}

function orderUrl(order) {
  return typeof order === "string" ? order : order.url;
}

/** Return the seconds a `Retry-After` header asks for (delta-seconds or an HTTP date); 1 if none. */
export function retryAfter(response) {
  const value = (response.headers.get("Retry-After") || "").trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? 1 : Math.max(0, (date - Date.now()) / 1000);
}

function sleep(seconds, signal) {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(done, Math.max(0, seconds) * 1000);
    function done() {
      signal?.removeEventListener("abort", aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

function cookie(name) {
  if (typeof document === "undefined") return null;
  const found = document.cookie.split("; ").find((pair) => pair.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

/** The client behind the module-level functions; `configure()` sets it up. */
export const client = new Client();

export function configure(options) {
  return client.configure(options);
}

export function order(resource, body, options) {
  return client.order(resource, body, options);
}

export function wait(placed, options) {
  return client.wait(placed, options);
}

export function result(done, options) {
  return client.result(done, options);
}

export function cancel(placed, options) {
  return client.cancel(placed, options);
}
