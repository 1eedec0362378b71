// The sandbox chat page: plays one WhatsApp user through the sandbox control API only.
"use strict";

const POLL_MS = 700;
const TICKS = { accepted: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", played: "✓✓", failed: "⚠" };
const $ = (id) => document.getElementById(id);
let phone = null;
let lastRendered = "";
let timer = null;

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || data));
  return data;
}

function say(text) { $("status").textContent = text; }

async function loadPhones() {
  try {
    const { data } = await api("phones");
    $("phones").replaceChildren(...data.map((p) => new Option(p.profile_name || "", p.wa_id)));
  } catch (error) { say(error.message); }
}

function openThread() {
  const digits = $("phone").value.replace(/\D/g, "");
  if (digits.length < 6 || digits.length > 15) { say("A phone number has 6 to 15 digits."); return; }
  phone = digits;
  localStorage.setItem("sandbox-chat", JSON.stringify({ phone, name: $("name").value }));
  $("text").disabled = $("send").disabled = false;
  lastRendered = "";
  say(`Chatting as +${phone}`);
  clearTimeout(timer);
  poll();
}

async function poll() {
  try {
    const thread = await api(`thread?phone=${phone}`);
    if (thread.profile_name && !$("name").value) $("name").value = thread.profile_name;
    const snapshot = JSON.stringify(thread.messages);
    if (snapshot !== lastRendered) { lastRendered = snapshot; render(thread.messages); }
    const unread = thread.messages.some((m) => m.direction === "outbound" && ["sent", "delivered"].includes(m.status));
    if (unread && document.visibilityState === "visible") await api("thread/read", { phone });
  } catch (error) { say(error.message); }
  timer = setTimeout(poll, POLL_MS);
}

function render(messages) {
  const list = $("messages");
  if (!messages.length) {
    list.replaceChildren(el("p", "empty", "No messages yet: say hi."));
    return;
  }
  list.replaceChildren(...messages.map(bubble));
  list.scrollTop = list.scrollHeight;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function bubble(message) {
  const node = el("div", `msg ${message.direction === "inbound" ? "in" : "out"}`);
  node.dataset.id = message.id;
  node.dataset.type = message.type;
  const box = message.interactive;
  if (box && box.header) node.append(el("div", "head", box.header));
  node.append(el("div", "text", message.text));
  if (box && box.footer) node.append(el("div", "foot", box.footer));
  if (box && box.type === "button") node.append(choices(box.buttons, (b) => b.title, (b) => tap(message.id, "button_reply", b)));
  if (box && box.type === "list") node.append(listRows(message.id, box));
  if (message.buttons && message.buttons.length) {
    node.append(choices(message.buttons, (b) => b.text, (b) => quickReply(message.id, b)));
  }
  node.append(meta(message));
  return node;
}

function choices(items, label, onTap) {
  const box = el("div", "choices");
  for (const item of items) {
    const button = el("button", "reply", label(item));
    button.type = "button";
    button.addEventListener("click", () => onTap(item));
    box.append(button);
  }
  return box;
}

function listRows(wamid, box) {
  const details = el("details", "list");
  details.append(el("summary", "list-button", box.button || "Options"));
  for (const section of box.sections) {
    if (section.title) details.append(el("div", "section", section.title));
    const rows = choices(section.rows, (r) => r.title, (r) => tap(wamid, "list_reply", r));
    rows.querySelectorAll("button").forEach((button, i) => {
      button.classList.add("row");
      if (section.rows[i].description) button.append(el("span", "row-description", section.rows[i].description));
    });
    details.append(rows);
  }
  return details;
}

function meta(message) {
  const line = el("div", "meta", message.timestamp ? message.timestamp.slice(11, 16) + " " : "");
  if (message.status) {
    const ticks = el("span", `ticks ${message.status}`, TICKS[message.status] || "");
    ticks.dataset.status = message.status;
    ticks.title = message.status;
    line.append(ticks);
  }
  return line;
}

async function inject(body) {
  const name = $("name").value.trim();
  try {
    await api("inbound", { from: phone, ...(name ? { profile_name: name } : {}), ...body });
    clearTimeout(timer);
    await poll();
  } catch (error) { say(error.message); }
}

function tap(wamid, kind, choice) {
  const reply = { id: choice.id, title: choice.title };
  if (choice.description) reply.description = choice.description;
  return inject({ type: kind, [kind]: reply, context: { id: wamid } });
}

function quickReply(wamid, button) {
  return inject({ type: "button", button: { payload: button.payload, text: button.text }, context: { id: wamid } });
}

$("open").addEventListener("click", openThread);
$("phone").addEventListener("focus", loadPhones);
$("phone").addEventListener("keydown", (event) => { if (event.key === "Enter") openThread(); });
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = $("text").value.trim();
  if (!body || !phone) return;
  $("text").value = "";
  inject({ type: "text", text: { body } });
});

const saved = JSON.parse(localStorage.getItem("sandbox-chat") || "null");
if (saved) { $("phone").value = saved.phone; $("name").value = saved.name || ""; }
loadPhones();
