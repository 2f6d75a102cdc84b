// The Durable Functions dashboard: one page, plain JavaScript, no build step.
// Everything it shows or changes goes through the host's management HTTP API.
"use strict";

// The local prefix: open to this machine without a key, also under --require-keys.
const API = "/durabletask";
const POLL_MS = 3000;
const TERMINAL = new Set(["Completed", "Failed", "Terminated", "Canceled"]);
let META = { taskHub: "", eventTypes: {}, runtimeStatuses: [], functions: [] };
let pollTimer = null;
let renderToken = 0;

// ---------------------------------------------------------------- helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "style") for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v); // CSSOM: allowed by the CSP
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function enc(text) {
  return encodeURIComponent(text);
}

async function api(method, path, { body, headers, token } = {}) {
  const init = { method, headers: { ...(headers || {}) }, credentials: "same-origin" };
  if (token) init.headers["x-ms-continuation-token"] = token;
  if (body !== undefined) {
    init.body = body;
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(API + path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: response.status, ok: response.ok, data, token: response.headers.get("x-ms-continuation-token") };
}

function message(answer) {
  const d = answer.data;
  if (d && typeof d === "object" && (d.ExceptionMessage || d.Message)) return d.ExceptionMessage || d.Message;
  return typeof d === "string" && d ? d : `HTTP ${answer.status}`;
}

function parseTime(text) {
  if (!text) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

function pad(n, w = 2) { return String(n).padStart(w, "0"); }

function showTime(text, withMs) {
  const t = parseTime(text);
  if (t === null) return "";
  const d = new Date(t);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

function timeCell(text, withMs) {
  return h("td", { class: "time", title: text || "" }, showTime(text, withMs));
}

function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}

function instanceDuration(inst) {
  // The status times have whole seconds: under one second is all they can tell.
  const start = parseTime(inst.createdTime);
  const end = TERMINAL.has(inst.runtimeStatus) ? parseTime(inst.lastUpdatedTime) : Date.now();
  if (start === null || end === null) return "";
  return end - start < 1000 ? "< 1 s" : duration(end - start);
}

function pill(status) {
  return h("span", { class: `status s-${status}` }, status);
}

function pretty(value) {
  if (value === undefined) return "";
  if (typeof value === "string") {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return JSON.stringify(value); }
  }
  return JSON.stringify(value, null, 2);
}

function jsonBlock(value, small) {
  return h("pre", { class: small ? "json small" : "json" }, pretty(value));
}

function toast(text, bad) {
  const note = h("div", { class: bad ? "note bad" : "note" }, text);
  document.getElementById("toast").append(note);
  setTimeout(() => note.remove(), 6000);
}

function instanceLink(id) {
  return h("a", { href: `/dashboard/instances/${enc(id)}`, "data-nav": true, class: "mono" }, id);
}

function stopPolling() {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

function poll(fn) {
  stopPolling();
  pollTimer = setInterval(() => { if (!document.hidden) fn(); }, POLL_MS);
}

function show(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function failureBlock(failure) {
  if (failure && typeof failure === "object" && (failure.ErrorType || failure.ErrorMessage)) {
    return h("div", {},
      h("p", {}, h("strong", {}, failure.ErrorType || "Error"), ": ", failure.ErrorMessage || ""),
      failure.StackTrace ? h("details", {}, h("summary", {}, "Stack trace"), h("pre", { class: "json" }, failure.StackTrace)) : null,
      failure.InnerFailure ? h("div", {}, h("h3", { class: "muted" }, "Caused by"), failureBlock(failure.InnerFailure)) : null);
  }
  return jsonBlock(failure);
}

function errorBox(text) {
  return h("div", { class: "error-box", role: "alert" }, text);
}

// A confirmation dialog with optional fields; resolves to the field values or null.
function confirmDialog({ title, text, fields = [], ok = "Confirm", danger = false }) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text || "";
  const box = document.getElementById("confirm-fields");
  box.replaceChildren();
  const inputs = {};
  for (const f of fields) {
    let input;
    if (f.type === "textarea") input = h("textarea", { name: f.name, spellcheck: "false" });
    else if (f.type === "checkbox") input = h("input", { type: "checkbox", name: f.name, checked: f.value });
    else input = h("input", { type: "text", name: f.name, autocomplete: "off", required: f.required });
    if (f.value !== undefined && f.type !== "checkbox") input.value = f.value;
    inputs[f.name] = input;
    box.append(f.type === "checkbox" ? h("label", { class: "inline" }, input, f.label) : h("label", {}, f.label, input));
  }
  const okButton = document.getElementById("confirm-ok");
  okButton.textContent = ok;
  okButton.className = danger ? "primary danger-fill" : "primary";
  return new Promise((resolve) => {
    const cancel = document.getElementById("confirm-cancel");
    const form = document.getElementById("confirm-form");
    const done = (value) => {
      form.onsubmit = null; cancel.onclick = null; dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    form.onsubmit = (event) => {
      event.preventDefault();
      const values = {};
      for (const [name, input] of Object.entries(inputs)) values[name] = input.type === "checkbox" ? input.checked : input.value;
      done(values);
    };
    cancel.onclick = () => done(null);
    dialog.onclose = () => done(null);
    dialog.showModal();
    const first = Object.values(inputs)[0];
    (first || okButton).focus();
  });
}

// ---------------------------------------------------------------- router

function currentPage() {
  const path = location.pathname.replace(/^\/dashboard\/?/, "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "instances" && parts[1]) return { page: "instance", id: decodeURIComponent(parts[1]) };
  if (parts[0] === "entities") return { page: "entities" };
  if (parts[0] === "functions") return { page: "functions" };
  return { page: "instances" };
}

function navigate(url, replace) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  route();
}

async function route() {
  stopPolling();
  renderToken += 1;
  const where = currentPage();
  const section = where.page === "instance" ? "instances" : where.page;
  for (const a of document.querySelectorAll("nav a[data-page]")) {
    if (a.dataset.page === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  try {
    if (where.page === "instance") await instancePage(main, where.id);
    else if (where.page === "entities") await entitiesPage(main);
    else if (where.page === "functions") functionsPage(main);
    else await instancesPage(main);
  } catch (err) {
    show(main, errorBox(`Could not load the page: ${err.message || err}`));
  }
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-nav]");
  if (!a || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
  document.getElementById("main").focus({ preventScroll: true });
  window.scrollTo(0, 0);
});
window.addEventListener("popstate", route);

// ---------------------------------------------------------------- instances list

function listQuery(params) {
  const q = new URLSearchParams({ newestFirst: "true", showInput: "false", top: params.get("top") || "50" });
  if (params.get("status")) q.set("runtimeStatus", params.get("status"));
  if (params.get("name")) q.set("name", params.get("name"));
  if (params.get("prefix")) q.set("instanceIdPrefix", params.get("prefix"));
  const from = params.get("from"), to = params.get("to");
  if (from) q.set("createdTimeFrom", new Date(from).toISOString());
  if (to) q.set("createdTimeTo", new Date(to).toISOString());
  return q.toString();
}

async function instancesPage(main) {
  const mine = renderToken;
  const params = new URLSearchParams(location.search);
  const chosen = new Set((params.get("status") || "").split(",").filter(Boolean));
  const orchestrators = META.functions.filter((f) => f.kind === "orchestrator").map((f) => f.durableName);
  const statusBoxes = META.runtimeStatuses.map((s) =>
    h("label", { class: "chip" }, h("input", { type: "checkbox", name: "status", value: s, checked: chosen.has(s) }), pill(s)));
  const form = h("form", { class: "panel filters", role: "search", "aria-label": "Filter instances" },
    h("fieldset", { class: "statuses" }, h("legend", {}, "Runtime status"), statusBoxes),
    h("label", {}, "Orchestrator", h("input", { type: "text", name: "name", list: "orchestrators", value: params.get("name") || "", placeholder: "any" })),
    h("datalist", { id: "orchestrators" }, orchestrators.map((n) => h("option", { value: n }))),
    h("label", {}, "Instance id prefix", h("input", { type: "search", name: "prefix", value: params.get("prefix") || "", placeholder: "any", class: "mono" })),
    h("label", {}, "Created from", h("input", { type: "datetime-local", name: "from", value: params.get("from") || "", step: 1 })),
    h("label", {}, "Created to", h("input", { type: "datetime-local", name: "to", value: params.get("to") || "", step: 1 })),
    h("label", {}, "Page size", h("select", { name: "top" }, ["25", "50", "100", "200"].map((n) => h("option", { value: n, selected: (params.get("top") || "50") === n }, n)))),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply"), h("button", { type: "button", id: "clear-filters" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const q = new URLSearchParams();
    const statuses = data.getAll("status");
    if (statuses.length) q.set("status", statuses.join(","));
    for (const key of ["name", "prefix", "from", "to"]) if (data.get(key)) q.set(key, data.get(key));
    if (data.get("top") !== "50") q.set("top", data.get("top"));
    navigate(`/dashboard/${q.toString() ? "?" + q : ""}`);
  });
  form.querySelector("#clear-filters").addEventListener("click", () => navigate("/dashboard/"));

  const tokens = [null]; // continuation token of each page seen so far
  let page = 0;
  const live = h("span", { class: "live" }, h("span", { class: "dot" }), "Live");
  const counter = h("span", { class: "muted", id: "page-info" });
  const tbody = h("tbody", { id: "instance-rows" });
  const table = h("div", { class: "table-wrap" }, h("table", { "aria-label": "Instances" },
    h("thead", {}, h("tr", {}, ["Instance ID", "Orchestrator", "Status", "Created", "Last updated", "Duration"].map((t) => h("th", { scope: "col" }, t)))),
    tbody));
  const prev = h("button", { type: "button", id: "prev-page" }, "← Newer");
  const next = h("button", { type: "button", id: "next-page" }, "Older →");
  const problems = h("div");
  show(main, 
    h("div", { class: "toolbar" }, h("h1", {}, "Instances"), h("span", { class: "spacer" }), live),
    form, problems, table, h("div", { class: "pager" }, counter, prev, next));

  const query = listQuery(params);
  let lastJson = "";
  async function load() {
    const answer = await api("GET", `/instances/?${query}`, { token: tokens[page] });
    if (mine !== renderToken) return;
    if (!answer.ok) {
      show(problems, errorBox(message(answer)));
      live.querySelector(".dot").classList.add("off");
      return;
    }
    show(problems, );
    live.querySelector(".dot").classList.remove("off");
    tokens[page + 1] = answer.token || undefined;
    prev.disabled = page === 0;
    next.disabled = !answer.token;
    const rows = answer.data || [];
    counter.textContent = rows.length ? `Page ${page + 1} · ${rows.length} instance${rows.length === 1 ? "" : "s"}` : "";
    const json = JSON.stringify(rows);
    if (json === lastJson && tbody.childElementCount) {
      // Same rows: refresh the running durations only; scroll and focus stay put.
      rows.forEach((inst, i) => { const cell = tbody.children[i]?.lastChild; if (cell) cell.textContent = instanceDuration(inst); });
      return;
    }
    lastJson = json;
    if (!rows.length) {
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No instances match these filters.")));
      return;
    }
    tbody.replaceChildren(...rows.map((inst) => h("tr", { "data-instance": inst.instanceId },
      h("td", {}, instanceLink(inst.instanceId)),
      h("td", {}, inst.name),
      h("td", {}, pill(inst.runtimeStatus)),
      timeCell(inst.createdTime), timeCell(inst.lastUpdatedTime),
      h("td", { class: "num" }, instanceDuration(inst)))));
  }
  prev.addEventListener("click", async () => { if (page > 0) { page -= 1; lastJson = ""; await load(); } });
  next.addEventListener("click", async () => { if (tokens[page + 1]) { page += 1; lastJson = ""; await load(); } });
  await load();
  poll(load);
}

// ---------------------------------------------------------------- one instance

function eventName(event) {
  return META.eventTypes[String(event.EventType)] || String(event.EventType);
}

// Pairs scheduling events with their completions: timeline spans and per-event details.
function analyse(history) {
  const spans = [];
  const byScheduleId = new Map();
  const timers = new Map();
  for (const ev of history) {
    const type = eventName(ev);
    const at = parseTime(ev.Timestamp);
    if (type === "TaskScheduled" || type === "SubOrchestrationInstanceCreated") {
      const span = { kind: type === "TaskScheduled" ? "activity" : "sub", name: ev.Name, start: at, end: null, failed: false, instanceId: ev.InstanceId, event: ev };
      byScheduleId.set(ev.EventId, span);
      spans.push(span);
    } else if (type === "TimerCreated") {
      const span = { kind: "timer", name: `timer until ${showTime(ev.FireAt)}`, start: at, end: null, failed: false, fireAt: parseTime(ev.FireAt) };
      timers.set(ev.EventId, span);
      spans.push(span);
    } else if (["TaskCompleted", "TaskFailed", "SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed"].includes(type)) {
      const span = byScheduleId.get(ev.TaskScheduledId);
      if (span) { span.end = at; span.failed = type.endsWith("Failed"); ev._span = span; }
    } else if (type === "TimerFired") {
      const span = timers.get(ev.TimerId);
      if (span) { span.end = at; ev._span = span; }
    }
  }
  return spans;
}

function eventDetails(ev) {
  const type = eventName(ev);
  const parts = [];
  const add = (label, value) => {
    if (value === undefined || value === null || value === "") return;
    let data = value, text = null; // the stored JSON text, or plain text that is not JSON
    if (typeof value === "string") { try { data = JSON.parse(value); } catch { text = value; } }
    const compact = text ?? JSON.stringify(data);
    const short = compact.length <= 90 && !compact.includes("\n");
    parts.push(h("div", {}, h("span", { class: "muted" }, `${label}: `),
      short ? h("span", { class: "mono" }, compact) : h("details", {}, h("summary", {}, "show"), jsonBlock(data, true))));
  };
  if (type === "ExecutionStarted" && ev.Input !== undefined) add("Input", ev.Input);
  if (type === "TaskScheduled" || type === "SubOrchestrationInstanceCreated") add("Input", ev.Input);
  if (ev.Result !== undefined) add("Result", ev.Result);
  if (ev.Reason) add("Reason", ev.Reason);
  if (ev.Details) add("Details", ev.Details);
  if (ev.FailureDetails) add("Failure", ev.FailureDetails);
  if (type === "EventRaised" || type === "EventSent") add("Input", ev.Input);
  if (type === "TimerCreated") add("Fires at", showTime(ev.FireAt, true));
  if (type === "ExecutionTerminated" || type === "ExecutionSuspended" || type === "ExecutionResumed") add("Reason", ev.Input);
  if (type === "SubOrchestrationInstanceCreated" && ev.InstanceId) parts.push(h("div", {}, h("span", { class: "muted" }, "Instance: "), instanceLink(ev.InstanceId)));
  return parts;
}

function eventFunction(ev) {
  const type = eventName(ev);
  if (ev._span) return ev._span.kind === "timer" ? "" : ev._span.name;
  if (["ExecutionStarted", "TaskScheduled", "SubOrchestrationInstanceCreated", "EventRaised", "EventSent"].includes(type)) return ev.Name || "";
  return "";
}

function historyTable(history) {
  const start = history.length ? parseTime(history.find((e) => eventName(e) === "ExecutionStarted")?.Timestamp || history[0].Timestamp) : null;
  const rows = history.map((ev, i) => {
    const type = eventName(ev);
    const at = parseTime(ev.Timestamp);
    const took = ev._span && ev._span.end !== null ? duration(ev._span.end - ev._span.start) : "";
    const cls = type.endsWith("Failed") || type === "ExecutionTerminated" ? "ev ev-fail" : type.endsWith("Completed") || type === "TimerFired" ? "ev ev-ok" : "ev";
    return h("tr", {},
      h("td", { class: "num muted" }, i + 1),
      h("td", {}, h("span", { class: cls }, type)),
      h("td", { class: "mono" }, eventFunction(ev)),
      timeCell(ev.Timestamp, true),
      h("td", { class: "num muted" }, start !== null && at !== null ? `+${duration(at - start) || "0 ms"}` : ""),
      h("td", { class: "num" }, took),
      h("td", {}, eventDetails(ev)));
  });
  return h("div", { class: "table-wrap" }, h("table", { "aria-label": "History", id: "history" },
    h("thead", {}, h("tr", {}, ["#", "Event", "Function", "Timestamp", "Elapsed", "Duration", "Details"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

function gantt(spans, inst) {
  if (!spans.length) return h("p", { class: "muted" }, "No activities, timers or sub-orchestrations.");
  const now = Date.now();
  const running = !TERMINAL.has(inst.runtimeStatus);
  const t0 = Math.min(...spans.map((s) => s.start));
  const ends = spans.map((s) => s.end ?? (s.kind === "timer" && s.fireAt ? s.fireAt : running ? now : s.start));
  const t1 = Math.max(...ends, t0 + 1);
  const span = t1 - t0;
  const rows = spans.map((s, i) => {
    const end = ends[i];
    const left = ((s.start - t0) / span) * 100;
    const width = Math.max(((end - s.start) / span) * 100, 0.4);
    const label = s.kind === "sub" && s.instanceId ? h("a", { href: `/dashboard/instances/${enc(s.instanceId)}`, "data-nav": true }, s.name) : s.name;
    const what = `${s.kind === "sub" ? "sub-orchestration" : s.kind} ${s.name}: ${s.end === null ? "not finished" : duration(s.end - s.start)}`;
    return h("div", { class: "gantt-row" },
      h("div", { class: "gantt-label mono", title: s.name }, label),
      h("div", { class: "gantt-track" }, h("div", { class: `bar ${s.kind}${s.failed ? " failed" : ""}${s.end === null ? " open" : ""}`, style: { left: `${left}%`, width: `${width}%` }, title: what, role: "img", "aria-label": what })));
  });
  return h("div", {},
    h("div", { class: "gantt" }, rows),
    h("div", { class: "gantt-axis" }, h("div"), h("div", {}, h("span", {}, showTime(new Date(t0).toISOString(), true)), h("span", {}, `+${duration(span)}`))),
    h("div", { class: "legend" }, h("span", { style: { "--c": "#5b8def" } }, "activity"), h("span", { style: { "--c": "#c9a227" } }, "timer"), h("span", { style: { "--c": "#8e6cd8" } }, "sub-orchestration"), h("span", { style: { "--c": "#d9534f" } }, "failed")));
}

function actionButtons(inst, answerBox, refresh) {
  const id = inst.instanceId;
  const path = `/instances/${enc(id)}`;
  async function act(label, request) {
    const answer = await request();
    const text = answer.ok ? `${label}: the host answered ${answer.status}` : `${label} refused (${answer.status}): ${message(answer)}`;
    answerBox.replaceChildren(h("div", { class: answer.ok ? "" : "error-box", role: "status" }, text,
      answer.data !== null && answer.data !== "" ? jsonBlock(answer.data, true) : null));
    toast(text, !answer.ok);
    await refresh(answer);
  }
  const reasonField = [{ name: "reason", label: "Reason", value: "" }];
  // Every action is offered: what is allowed is the host's rule, and its answer is shown.
  const buttons = [
    ["Raise event", "raise-event", async () => {
      const v = await confirmDialog({ title: "Raise an event", text: `Send an event to ${id}.`, fields: [{ name: "name", label: "Event name", required: true }, { name: "data", label: "Event data (JSON)", type: "textarea", value: "null" }], ok: "Raise event" });
      if (!v) return;
      try { JSON.parse(v.data || "null"); } catch (err) { toast(`The event data is not JSON: ${err.message}`, true); return; }
      await act("Raise event", () => api("POST", `${path}/raiseEvent/${enc(v.name)}`, { body: v.data || "null" }));
    }],
    ["Suspend", "suspend", async () => {
      const v = await confirmDialog({ title: "Suspend this instance?", text: id, fields: reasonField, ok: "Suspend" });
      if (v) await act("Suspend", () => api("POST", `${path}/suspend?reason=${enc(v.reason)}`));
    }],
    ["Resume", "resume", async () => {
      const v = await confirmDialog({ title: "Resume this instance?", text: id, fields: reasonField, ok: "Resume" });
      if (v) await act("Resume", () => api("POST", `${path}/resume?reason=${enc(v.reason)}`));
    }],
    ["Terminate", "terminate", async () => {
      const v = await confirmDialog({ title: "Terminate this instance?", text: `${id} stops for good; its pending work is dropped.`, fields: reasonField, ok: "Terminate", danger: true });
      if (v) await act("Terminate", () => api("POST", `${path}/terminate?reason=${enc(v.reason)}`));
    }],
    ["Rewind", "rewind", async () => {
      const v = await confirmDialog({ title: "Rewind this failed instance?", text: "Its failed steps run again from the last good state.", fields: reasonField, ok: "Rewind" });
      if (v) await act("Rewind", () => api("POST", `${path}/rewind?reason=${enc(v.reason)}`));
    }],
    ["Restart", "restart", async () => {
      const v = await confirmDialog({ title: "Restart this instance?", text: "It starts again with its original input.", fields: [{ name: "fresh", label: "under a new instance id", type: "checkbox", value: true }], ok: "Restart" });
      if (v) await act("Restart", () => api("POST", `${path}/restart?restartWithNewInstanceId=${v.fresh}`));
    }],
    ["Purge", "purge", async () => {
      const v = await confirmDialog({ title: "Purge this instance?", text: `${id} and its whole history are deleted. This cannot be undone.`, ok: "Purge", danger: true });
      if (v) await act("Purge", () => api("DELETE", path));
    }],
  ];
  return h("div", { class: "actions", role: "group", "aria-label": "Actions" },
    buttons.map(([label, key, handler]) => h("button", { type: "button", class: key === "terminate" || key === "purge" ? "danger" : "", "data-action": key, onclick: handler }, label)));
}

async function instancePage(main, id) {
  const mine = renderToken;
  const answerBox = h("div", { class: "answer", id: "action-answer" });
  let lastJson = "";
  async function load(after) {
    const [statusAnswer, raw] = await Promise.all([
      api("GET", `/instances/${enc(id)}?showInput=true`),
      api("GET", `/instances/${enc(id)}/history/raw`),
    ]);
    if (mine !== renderToken) return;
    if (statusAnswer.status === 404) {
      stopPolling();
      show(main, h("h1", {}, "Instance ", h("span", { class: "id" }, id)), errorBox(message(statusAnswer)), answerBox,
        h("p", {}, h("a", { href: "/dashboard/", "data-nav": true }, "← All instances")));
      return;
    }
    if (!statusAnswer.ok) { show(main, errorBox(message(statusAnswer))); return; }
    const inst = statusAnswer.data;
    const history = raw.ok ? raw.data.history : [];
    const json = JSON.stringify([inst, history]);
    if (json === lastJson && !after) return;
    lastJson = json;
    if (after && after.ok && after.data && after.data.id && after.data.id !== id) {
      toast(`Restarted as ${after.data.id}`);
    }
    const spans = analyse(history);
    const started = history.find((e) => eventName(e) === "ExecutionStarted");
    const parent = started && started.ParentInstance && started.ParentInstance.OrchestrationInstance ? started.ParentInstance.OrchestrationInstance.InstanceId : null;
    const children = spans.filter((s) => s.kind === "sub" && s.instanceId);
    const completed = history.find((e) => eventName(e) === "ExecutionCompleted");
    const failure = inst.runtimeStatus === "Failed" ? (completed && completed.FailureDetails) || inst.output : null;
    const scrollY = window.scrollY;
    show(main, 
      h("p", {}, h("a", { href: "/dashboard/", "data-nav": true }, "← All instances")),
      h("div", { class: "toolbar" }, h("h1", {}, inst.name, " ", h("span", { class: "id" }, inst.instanceId)), pill(inst.runtimeStatus)),
      h("section", { class: "panel", "aria-label": "Actions" }, actionButtons(inst, answerBox, load), answerBox),
      h("div", { class: "grid" },
        h("section", { class: "panel" }, h("h2", {}, "Overview"), h("dl", { class: "facts" },
          h("dt", {}, "Status"), h("dd", { id: "runtime-status" }, pill(inst.runtimeStatus)),
          h("dt", {}, "Orchestrator"), h("dd", {}, inst.name),
          h("dt", {}, "Created"), h("dd", { title: inst.createdTime }, showTime(inst.createdTime)),
          h("dt", {}, "Last updated"), h("dd", { title: inst.lastUpdatedTime }, showTime(inst.lastUpdatedTime)),
          h("dt", {}, "Duration"), h("dd", {}, instanceDuration(inst)),
          h("dt", {}, "Execution"), h("dd", { class: "mono" }, raw.ok ? raw.data.executionId : ""),
          parent ? [h("dt", {}, "Parent"), h("dd", {}, instanceLink(parent))] : null,
          children.length ? [h("dt", {}, "Children"), h("dd", {}, children.map((c) => h("div", {}, instanceLink(c.instanceId))))] : null)),
        h("section", { class: "panel" }, h("h2", {}, "Input"), jsonBlock(inst.input)),
        h("section", { class: "panel" }, h("h2", {}, "Output"), jsonBlock(inst.output)),
        h("section", { class: "panel" }, h("h2", {}, "Custom status"), jsonBlock(inst.customStatus))),
      failure ? h("section", { class: "panel failure", id: "failure" }, h("h2", {}, "Failure"), failureBlock(failure)) : null,
      h("section", { class: "panel" }, h("h2", {}, "Timeline"), gantt(spans, inst)),
      h("section", {}, h("h2", {}, `History (${history.length} events)`), historyTable(history)));
    window.scrollTo(0, scrollY);
  }
  await load();
  poll(() => load());
}

// ---------------------------------------------------------------- entities

async function entitiesPage(main) {
  const mine = renderToken;
  const params = new URLSearchParams(location.search);
  const name = params.get("name") || "";
  const entityNames = META.functions.filter((f) => f.kind === "entity").map((f) => f.durableName);
  const form = h("form", { class: "panel filters", role: "search", "aria-label": "Filter entities" },
    h("label", {}, "Entity name", h("input", { type: "text", name: "name", list: "entity-names", value: name, placeholder: "any" })),
    h("datalist", { id: "entity-names" }, entityNames.map((n) => h("option", { value: n }))),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = new FormData(form).get("name");
    navigate(`/dashboard/entities${value ? "?name=" + enc(value) : ""}`);
  });
  const tbody = h("tbody", { id: "entity-rows" });
  const problems = h("div");
  const tokens = [null];
  let page = 0;
  const prev = h("button", { type: "button" }, "← Previous");
  const next = h("button", { type: "button" }, "Next →");
  show(main, 
    h("div", { class: "toolbar" }, h("h1", {}, "Entities"), h("span", { class: "spacer" }), h("span", { class: "live" }, h("span", { class: "dot" }), "Live")),
    form, problems,
    h("div", { class: "table-wrap" }, h("table", { "aria-label": "Entities" },
      h("thead", {}, h("tr", {}, ["Name", "Key", "Last operation", "State", ""].map((t) => h("th", { scope: "col" }, t)))), tbody)),
    h("div", { class: "pager" }, prev, next));
  let lastJson = "";
  async function load() {
    const path = name ? `/entities/${enc(name)}` : "/entities/";
    const answer = await api("GET", `${path}?fetchState=true&top=50`, { token: tokens[page] });
    if (mine !== renderToken) return;
    if (!answer.ok) { show(problems, errorBox(message(answer))); return; }
    show(problems, );
    tokens[page + 1] = answer.token || undefined;
    prev.disabled = page === 0;
    next.disabled = !answer.token;
    const json = JSON.stringify(answer.data);
    if (json === lastJson) return;
    lastJson = json;
    const rows = answer.data || [];
    if (!rows.length) { tbody.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No entities yet."))); return; }
    tbody.replaceChildren(...rows.map((e) => h("tr", { "data-entity": `${e.entityId.name}@${e.entityId.key}` },
      h("td", { class: "mono" }, e.entityId.name),
      h("td", { class: "mono" }, e.entityId.key),
      timeCell(e.lastOperationTime),
      h("td", {}, jsonBlock(e.state, true)),
      h("td", {}, h("button", { type: "button", "data-action": "signal", onclick: () => signal(e.entityId) }, "Signal…")))));
  }
  async function signal(entity) {
    const v = await confirmDialog({ title: `Signal ${entity.name}@${entity.key}`, text: "Send a one-way operation to this entity.", fields: [{ name: "op", label: "Operation", required: true }, { name: "input", label: "Input (JSON, empty for none)", type: "textarea", value: "" }], ok: "Signal" });
    if (!v) return;
    if (v.input.trim()) { try { JSON.parse(v.input); } catch (err) { toast(`The input is not JSON: ${err.message}`, true); return; } }
    const key = entity.key === "" ? "$" : entity.key;
    const answer = await api("POST", `/entities/${enc(entity.name)}/${enc(key)}?op=${enc(v.op)}`, { body: v.input.trim() ? v.input : undefined });
    toast(answer.ok ? `Signal sent (${answer.status})` : `Signal refused (${answer.status}): ${message(answer)}`, !answer.ok);
    setTimeout(load, 400);
  }
  prev.addEventListener("click", async () => { if (page > 0) { page -= 1; lastJson = ""; await load(); } });
  next.addEventListener("click", async () => { if (tokens[page + 1]) { page += 1; lastJson = ""; await load(); } });
  await load();
  poll(load);
}

// ---------------------------------------------------------------- functions

function functionsPage(main) {
  const rows = META.functions.map((f) => h("tr", {},
    h("td", { class: "mono" }, f.name, f.durableName !== f.name ? h("span", { class: "muted" }, ` (${f.durableName})`) : null),
    h("td", {}, f.trigger),
    h("td", {}, f.kind === "http" ? (f.methods.length ? f.methods.join(", ") : "ALL") : ""),
    h("td", { class: "mono" }, f.url ? (f.methods.length === 0 || f.methods.includes("GET")) && !f.url.includes("{") ? h("a", { href: f.url }, f.url) : f.url : ""),
    h("td", {}, f.kind === "other" ? h("span", { class: "muted" }, "not run by the local host") : f.authLevel && f.authLevel !== "anonymous" ? `${f.authLevel} key` : "")));
  show(main, 
    h("h1", {}, "Functions"),
    h("div", { class: "table-wrap" }, h("table", { "aria-label": "Functions" },
      h("thead", {}, h("tr", {}, ["Function", "Trigger", "Methods", "URL", "Notes"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No functions."))))),
    h("p", { class: "muted" }, "Management API: ", h("span", { class: "mono" }, `${location.origin}${API}/`)));
}

// ---------------------------------------------------------------- start

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select, dialog")) return;
  if (event.key === "/") {
    const first = document.querySelector("main form input[type=text], main form input[type=search]");
    if (first) { event.preventDefault(); first.focus(); }
  }
});

(async () => {
  try {
    const response = await fetch("/dashboard/meta.json", { credentials: "same-origin" });
    META = await response.json();
    document.getElementById("hub").textContent = `task hub ${META.taskHub}`;
  } catch (err) {
    toast(`Could not read the host's description: ${err.message || err}`, true);
  }
  await route();
})();
