// The playground page: long-polls /playground/api/state and posts what people do.
// Message and view HTML comes rendered (and escaped) from the server; this script
// only escapes the few strings it places itself.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  me: localStorage.getItem("playground-user") || "",
  version: -1,
  data: null,
  tab: "channel",
  thread: null,
  modalHash: null,
  poller: null,
};
const COLORS = ["#e8912d", "#4a154b", "#1264a3", "#2bac76", "#cd2553", "#0b4c8c", "#9b3b9b"];

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function color(id) {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.remove("hidden");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.add("hidden"), 4000);
}

async function post(path, body) {
  try {
    const response = await fetch(`/playground/api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...body, user: ui.me }),
    });
    if (!response.ok) {
      toast(`${path}: ${await response.text()}`);
      return null;
    }
    return await response.json();
  } catch (error) {
    toast(`${path}: ${error}`);
    return null;
  }
}

// --- polling -------------------------------------------------------------------

async function pollForever() {
  for (;;) {
    const controller = new AbortController();
    ui.poller = controller;
    try {
      const query = new URLSearchParams({ user: ui.me, since: String(ui.version) });
      const response = await fetch(`/playground/api/state?${query}`, { signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      apply(await response.json());
    } catch (error) {
      if (error.name !== "AbortError") await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function refreshNow() {
  ui.version = -1;
  if (ui.poller) ui.poller.abort();
}

// --- rendering -------------------------------------------------------------------

function apply(data) {
  ui.data = data;
  ui.version = data.version;
  if (!ui.me || !data.people.some((p) => p.id === ui.me)) ui.me = data.me;
  renderPicker(data);
  $("team").textContent = data.team;
  $("channel-name").textContent = `# ${data.channel.name}`;
  renderMessages(data);
  renderDm(data);
  renderThread(data);
  renderHome(data);
  renderModal(data);
}

function renderPicker(data) {
  const picker = $("user-picker");
  const options = data.people.map((p) => `<option value="${esc(p.id)}">${esc(p.name)}${p.admin ? " (admin)" : ""}</option>`).join("");
  if (picker.dataset.options !== options) {
    picker.innerHTML = options;
    picker.dataset.options = options;
  }
  picker.value = ui.me;
}

function messageHtml(m, { inThread }) {
  const initials = m.bot ? "DD" : esc(m.author.slice(0, 1).toUpperCase());
  const avatarStyle = m.bot ? "" : ` style="background:${color(m.user)}"`;
  let footer = "";
  if (!inThread && !m.ephemeral) {
    if (m.replies) {
      footer = `<button type="button" class="replies" data-open-thread="${esc(m.ts)}">${m.replies} ${m.replies === 1 ? "reply" : "replies"}</button>`;
    } else if (m.event_type === "drill_prompt" || m.event_type === "drill_review") {
      footer = `<button type="button" class="replies" data-open-thread="${esc(m.ts)}">Answer in thread</button>`;
    }
  }
  const hover = !inThread && !m.ephemeral
    ? `<div class="msg-actions"><button type="button" data-open-thread="${esc(m.ts)}" title="Reply in thread">💬 Reply</button></div>`
    : "";
  return `<div class="msg${m.ephemeral ? " ephemeral" : ""}" data-ts="${esc(m.ts)}" data-event-type="${esc(m.event_type || "")}">
    <div class="avatar${m.bot ? " bot" : ""}"${avatarStyle}>${initials}</div>
    <div class="msg-body">
      <div class="msg-head"><span class="author">${esc(m.author)}</span>${m.bot ? '<span class="app-badge">APP</span>' : ""}<span class="time">${esc(m.time)}</span>${m.ephemeral ? '<span class="only-you">Only visible to you</span>' : ""}</div>
      ${m.command ? `<div class="command-echo">${esc(m.command)}</div>` : ""}
      <div class="msg-content">${m.html}</div>
      ${m.edited ? '<span class="edited">(edited)</span>' : ""}
      ${footer}
    </div>${hover}
  </div>`;
}

function fill(container, html) {
  const nearBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 80;
  if (container.dataset.html === html) return;
  container.innerHTML = html;
  container.dataset.html = html;
  if (nearBottom || !container.dataset.scrolled) {
    container.scrollTop = container.scrollHeight;
    container.dataset.scrolled = "1";
  }
}

function renderMessages(data) {
  const top = data.messages.filter((m) => !m.reply);
  const html = top.length
    ? top.map((m) => messageHtml(m, { inThread: false })).join("")
    : `<div class="empty">No messages yet. Run <code>/deploy-question deploy-ml-models</code> below to get a question.</div>`;
  fill($("messages"), html);
}

function renderDm(data) {
  const top = data.dm.messages.filter((m) => !m.reply);
  const html = top.length
    ? top.map((m) => messageHtml(m, { inThread: false })).join("")
    : `<div class="empty">No messages yet. Run <code>/deploy-question review on</code> in the channel: when a criterion you tend to miss is due, a two-minute drill on it arrives here.</div>`;
  fill($("dm-messages"), html);
  const count = top.filter((m) => m.event_type === "drill_review" && !m.replies).length;
  $("dm-count").textContent = count ? String(count) : "";
}

function renderThread(data) {
  const pane = $("thread-view");
  const everything = data.messages.concat(data.dm.messages);
  const root = ui.thread && everything.find((m) => m.ts === ui.thread);
  if (!root) {
    pane.classList.add("hidden");
    ui.thread = null;
    return;
  }
  pane.classList.remove("hidden");
  const inDm = data.dm.messages.includes(root);
  $("thread-channel").textContent = inDm ? "Deploy Drill" : `# ${data.channel.name}`;
  const replies = everything.filter((m) => m.reply && m.thread_ts === ui.thread);
  const count = replies.filter((m) => !m.ephemeral).length;
  const html = `<div class="thread-root">${messageHtml(root, { inThread: true })}</div>
    <div class="reply-count">${count} ${count === 1 ? "reply" : "replies"}</div>
    ${replies.map((m) => messageHtml(m, { inThread: true })).join("")}`;
  fill($("thread-messages"), html);
}

function renderHome(data) {
  const onHome = ui.tab === "home";
  for (const tab of ["home", "channel", "dm"]) {
    $(`${tab}-view`).classList.toggle("hidden", ui.tab !== tab);
    $(`nav-${tab}`).classList.toggle("active", ui.tab === tab);
  }
  if (onHome) {
    const html = data.home ? data.home.html : '<p class="muted">Opening the Home tab…</p>';
    const body = $("home-body");
    if (body.dataset.html !== html) {
      body.innerHTML = html;
      body.dataset.html = html;
    }
  }
}

function renderModal(data) {
  const backdrop = $("modal");
  const modal = data.modal;
  if (!modal) {
    backdrop.classList.add("hidden");
    ui.modalHash = null;
    return;
  }
  if (ui.modalHash !== modal.hash) {
    ui.modalHash = modal.hash;
    $("modal-title").innerHTML = modal.title;
    $("modal-body").innerHTML = modal.html;
    $("modal-submit").innerHTML = modal.submit || "Submit";
    $("modal-submit").classList.toggle("hidden", !modal.submit);
    $("modal-close").innerHTML = modal.close;
  }
  showErrors(modal.errors || {});
  backdrop.classList.remove("hidden");
}

function showErrors(errors) {
  document.querySelectorAll("#modal-body .bk-error").forEach((e) => { e.textContent = ""; });
  $("modal-error").textContent = errors[""] || "";
  for (const [blockId, message] of Object.entries(errors)) {
    const slot = document.querySelector(`#modal-body .bk-input[data-block-id="${CSS.escape(blockId)}"] .bk-error`);
    if (slot) slot.textContent = message;
    else if (blockId) $("modal-error").textContent = message;
  }
}

// --- modal values (view.state.values) -------------------------------------------------

function option(text, value) {
  return { text: { type: "plain_text", text, emoji: true }, value };
}

function collectValues(root) {
  const values = {};
  root.querySelectorAll("[data-input]").forEach((el) => {
    const meta = JSON.parse(el.dataset.input);
    let value;
    if (meta.type === "static_select") {
      const chosen = el.selectedOptions[0];
      value = { type: meta.type, selected_option: chosen && chosen.value ? option(chosen.textContent, chosen.value) : null };
    } else if (meta.type === "radio_buttons") {
      const chosen = el.querySelector("input:checked");
      value = { type: meta.type, selected_option: chosen ? option(chosen.parentElement.textContent.trim(), chosen.value) : null };
    } else if (meta.type === "checkboxes") {
      const chosen = [...el.querySelectorAll("input:checked")];
      value = { type: meta.type, selected_options: chosen.map((c) => option(c.parentElement.textContent.trim(), c.value)) };
    } else {
      value = { type: meta.type, value: el.value === "" ? null : el.value };
    }
    (values[meta.block_id] ||= {})[meta.action_id] = value;
  });
  return values;
}

function missingRequired(root) {
  const errors = {};
  root.querySelectorAll('.bk-input[data-required="true"]').forEach((block) => {
    const input = block.querySelector("[data-input]");
    if (!input) return;
    const meta = JSON.parse(input.dataset.input);
    const empty = ["radio_buttons", "checkboxes"].includes(meta.type)
      ? !input.querySelector("input:checked")
      : !String(input.value || "").trim();
    if (empty) errors[block.dataset.blockId] = "This field is required.";
  });
  return errors;
}

// --- what people do ---------------------------------------------------------------

async function send(text, threadTs) {
  if (!text.trim()) return;
  if (!threadTs && text.trim().startsWith("/")) {
    await post("command", { text: text.trim() });
  } else {
    await post("message", { text, thread_ts: threadTs || null });
  }
}

function composer(formId, inputId, threadOf) {
  const form = $(formId);
  const input = $(inputId);
  const submit = async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    form.querySelector("button[type=submit]").disabled = true;
    try {
      await send(text, threadOf());
    } finally {
      form.querySelector("button[type=submit]").disabled = false;
      input.focus();
    }
  };
  form.addEventListener("submit", submit);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
}

function openThread(ts) {
  ui.thread = ts;
  $("thread-messages").dataset.scrolled = "";
  if (ui.data) renderThread(ui.data);
  $("thread-input").focus();
}

function actionContext(el) {
  if (el.closest("#modal-body")) {
    return { view_id: ui.data.modal.id, values: collectValues($("modal-body")) };
  }
  if (el.closest("#home-body")) return { view_id: ui.data.home.id };
  const message = el.closest("[data-ts]");
  return { ts: message ? message.dataset.ts : null };
}

async function clickButton(button) {
  const action = JSON.parse(button.dataset.action);
  if (button.dataset.url) window.open(button.dataset.url, "_blank", "noopener");
  if (button.dataset.confirm) {
    const confirm = JSON.parse(button.dataset.confirm);
    const words = [confirm.title && confirm.title.text, confirm.text && confirm.text.text].filter(Boolean).join("\n\n");
    if (!window.confirm(words || "Are you sure?")) return;
  }
  button.disabled = true;
  try {
    await post("action", { action, ...actionContext(button) });
  } finally {
    button.disabled = false;
  }
}

async function pickOption(select) {
  const meta = JSON.parse(select.dataset.action);
  const chosen = select.selectedOptions[0];
  if (!chosen || !chosen.value) return;
  const action = { ...meta, selected_option: option(chosen.textContent, chosen.value) };
  await post("action", { action, ...actionContext(select) });
}

async function showTab(tab) {
  ui.tab = tab;
  if (ui.data) renderHome(ui.data);
  if (tab === "home") await post("home", {});
}

document.addEventListener("click", (event) => {
  const target = event.target;
  const opener = target.closest("[data-open-thread]");
  if (opener) return openThread(opener.dataset.openThread);
  const chip = target.closest("[data-fill]");
  if (chip) {
    $("composer-input").value = chip.dataset.fill;
    $("composer-input").focus();
    return;
  }
  const button = target.closest("button[data-action]");
  if (button) return clickButton(button);
  const tab = target.closest("[data-tab]");
  if (tab) return showTab(tab.dataset.tab);
});

document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-action]");
  if (select) pickOption(select);
});

$("user-picker").addEventListener("change", (event) => {
  ui.me = event.target.value;
  localStorage.setItem("playground-user", ui.me);
  refreshNow();
  if (ui.tab === "home") post("home", {});
});

$("thread-close").addEventListener("click", () => {
  ui.thread = null;
  $("thread-view").classList.add("hidden");
});

$("modal-submit").addEventListener("click", async () => {
  const body = $("modal-body");
  const missing = missingRequired(body);
  if (Object.keys(missing).length) return showErrors(missing);
  const button = $("modal-submit");
  button.disabled = true;
  try {
    await post("submit", { view_id: ui.data.modal.id, values: collectValues(body) });
  } finally {
    button.disabled = false;
  }
});

for (const id of ["modal-close", "modal-x"]) {
  $(id).addEventListener("click", () => post("close", { view_id: ui.data.modal.id }));
}

composer("composer", "composer-input", () => null);
composer("thread-composer", "thread-input", () => ui.thread);
pollForever();
