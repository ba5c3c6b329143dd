// A job's state as it changes: GET /gpx/{id}/events (Server-Sent Events) first, polling
// GET /gpx/{id}/status when the stream cannot be opened.
//
// The stream is read with fetch() rather than EventSource because EventSource cannot send the
// Authorization header every route needs (a token in the URL would end up in access logs).
// The reading follows the SSE rules (event/data/id/retry fields, comments, Last-Event-ID on
// reconnect); the server ends the stream after `completed` or `failed`, or after its maximum
// lifetime, and then we reconnect after the `retry:` it sent.

import { api, ApiError, authHeaders, errorFrom, reportUnauthorized } from "./api.js";

const TERMINAL = new Set(["completed", "failed"]);

// Parse an SSE byte stream, calling onEvent({ event, data, id }) for each dispatched event.
async function readEvents(body, onEvent, onRetry) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { event: "message", data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (event.data.length) onEvent({ ...event, data: event.data.join("\n") });
        event = { event: "message", data: [], id: event.id };
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: the server's heartbeat
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "event") event.event = val;
      else if (name === "data") event.data.push(val);
      else if (name === "id") event.id = val;
      else if (name === "retry" && /^\d+$/.test(val)) onRetry(Number(val));
    }
  }
}

// follow(fileId, { onState(state, body, via), onError(err) }) -> { stop(), get via() }
// state is pending | processing | retrying | completed | failed; via is "sse" or "polling".
export function followJob(fileId, { onState, onError }) {
  const id = encodeURIComponent(fileId);
  let stopped = false;
  let via = null;
  let timer = null;
  let controller = null;
  let lastId = null;
  let retryMs = 3000;
  let finished = false;

  const deliver = (state, body, how) => {
    if (stopped) return;
    via = how;
    if (TERMINAL.has(state)) finished = true;
    onState(state, body, how);
  };

  async function stream(reconnecting) {
    controller = new AbortController();
    const headers = { Accept: "text/event-stream", ...authHeaders() };
    if (lastId) headers["Last-Event-ID"] = lastId;
    let response;
    try {
      response = await fetch(`/gpx/${id}/events`, { headers, signal: controller.signal });
    } catch {
      if (!stopped) poll(0); // blocked, offline or refused: poll instead
      return;
    }
    if (stopped) return;
    const type = response.headers.get("content-type") || "";
    if (!response.ok || !type.startsWith("text/event-stream") || !response.body) {
      if (response.status === 401 || response.status === 404) {
        const error = errorFrom(response.status, await response.text());
        if (response.status === 401) reportUnauthorized(error);
        else onError(error);
        return;
      }
      poll(0);
      return;
    }
    try {
      await readEvents(
        response.body,
        ({ event, data, id: eventId }) => {
          if (eventId) lastId = eventId;
          let body;
          try {
            body = JSON.parse(data);
          } catch {
            return;
          }
          deliver(event, body, "sse");
        },
        (ms) => {
          retryMs = ms;
        },
      );
    } catch {
      // the connection dropped: reconnect below, unless we stopped it
    }
    if (stopped || finished) return;
    if (reconnecting > 3) {
      poll(0);
      return;
    }
    timer = setTimeout(() => stream(reconnecting + 1), retryMs);
  }

  async function poll(round) {
    let status;
    try {
      status = await api.get(`/gpx/${id}/status`);
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 401)) {
        if (err.status === 404) onError(err);
        return;
      }
      onError(err, { retrying: true });
      timer = setTimeout(() => poll(round + 1), 3000);
      return;
    }
    const state = status.processing_status;
    deliver(state, status, "polling");
    if (!TERMINAL.has(state)) {
      const delay = round < 20 ? 700 : round < 60 ? 1500 : 3000;
      timer = setTimeout(() => poll(round + 1), delay);
    }
  }

  stream(0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (controller) controller.abort();
    },
    get via() {
      return via;
    },
  };
}
