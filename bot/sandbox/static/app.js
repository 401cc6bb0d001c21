/*
 * Sandbox page: plays the citizen (left) and staff members in the office groups (right)
 * against the bot through the stand-in's control API (/sandbox/api/). Bot text is rendered
 * from the plain text plus Telegram entities the stand-in parsed, always through
 * createElement/textContent: no bot or user text ever reaches innerHTML.
 */
"use strict";

const API = "/sandbox/api";
const DEFAULT_CITIZEN = { id: 10001, first_name: "张三", language_code: "zh-hans" };
const SAFE_LINK = /^(https?:|tg:|mailto:)/i;

const state = {
  seq: 0,
  users: new Map(), // id -> user
  chats: new Map(), // id -> chat view
  messages: new Map(), // chat id -> Map(message id -> view)
  citizenId: DEFAULT_CITIZEN.id,
  staffId: null,
  groupId: null,
  unread: new Map(), // chat id -> messages that arrived while that chat was not on screen
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(API + path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = data.error || `HTTP ${response.status}`;
    toast(message, true);
    throw new Error(message);
  }
  return data;
}

function toast(text, isError = false) {
  const node = el("div", { class: isError ? "toast error" : "toast", text });
  $("toasts").append(node);
  setTimeout(() => node.remove(), 3500);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  const dialog = $("alert-dialog");
  if (!dialog.open) dialog.showModal();
}

/* ---------- rendering Telegram entities ---------- */

function entityElement(entity) {
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre", { "data-language": entity.language });
    case "blockquote": return el("blockquote");
    case "expandable_blockquote": return el("blockquote", { class: "expandable" });
    case "spoiler": {
      const node = el("span", { class: "spoiler", title: "spoiler" });
      node.addEventListener("click", () => node.classList.add("revealed"));
      return node;
    }
    case "text_link": {
      if (!SAFE_LINK.test(entity.url || "")) return el("span");
      return el("a", { href: entity.url, target: "_blank", rel: "noopener noreferrer" });
    }
    case "bot_command": return el("span", { class: "command" });
    default: return el("span", { class: `entity-${entity.type}` });
  }
}

/* Entities from Telegram's HTML parser nest properly; offsets are UTF-16, like JS strings. */
function renderEntities(text, entities) {
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const fragment = document.createDocumentFragment();
  function build(parent, start, end, list) {
    let pos = start;
    let i = 0;
    while (i < list.length) {
      const entity = list[i];
      const entityStart = Math.max(entity.offset, pos);
      const entityEnd = Math.min(entity.offset + entity.length, end);
      i += 1;
      const inner = [];
      while (i < list.length && list[i].offset < entityEnd) inner.push(list[i++]);
      if (entityEnd <= entityStart) continue;
      if (entityStart > pos) parent.append(text.slice(pos, entityStart));
      const node = entityElement(entity);
      build(node, entityStart, entityEnd, inner);
      parent.append(node);
      pos = entityEnd;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  }
  build(fragment, 0, text.length, sorted);
  return fragment;
}

function formatSize(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}

function describeOrigin(origin) {
  if (!origin) return null;
  const from = origin.sender_user ? origin.sender_user.first_name
    : origin.sender_user_name || (origin.chat && origin.chat.title) || "?";
  return el("div", { class: "note", text: `Forwarded from ${from}` });
}

function attachment(view) {
  if (view.kind === "sticker") return el("div", { class: "sticker", text: view.sticker || "🙂" });
  if (view.kind === "contact" && view.contact) {
    const c = view.contact;
    return el("div", { class: "attachment", text: `📇 ${c.first_name} ${c.last_name || ""} ${c.phone_number}` });
  }
  if (view.kind === "location" && view.location) {
    const l = view.location;
    return el("div", { class: "attachment", text: `📍 ${l.latitude}, ${l.longitude}` });
  }
  if (view.file) {
    const icons = { photo: "🖼", video: "🎬", voice: "🎤", audio: "🎵", document: "📄" };
    const name = view.file.file_name || view.kind;
    const link = el("a", {
      href: `${API}/files/${encodeURIComponent(view.file.file_id)}`,
      target: "_blank",
      rel: "noopener",
      text: "open",
    });
    return el("div", { class: "attachment" },
      `${icons[view.kind] || "📎"} ${name} (${formatSize(view.file.file_size || 0)}) `, link);
  }
  return null;
}

function inlineKeyboard(view, pane) {
  if (!view.buttons || !view.buttons.length || view.deleted) return null;
  const box = el("div", { class: "kb-inline" });
  for (const row of view.buttons) {
    const rowNode = el("div", { class: "kb-row" });
    for (const button of row) {
      const node = el("button", { type: "button", class: "kb", text: button.text });
      if (button.callback_data !== undefined) {
        node.dataset.data = button.callback_data;
        node.addEventListener("click", () => press(pane, view, button.callback_data));
      } else if (button.url && SAFE_LINK.test(button.url)) {
        node.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
      } else {
        node.disabled = true;
      }
      rowNode.append(node);
    }
    box.append(rowNode);
  }
  return box;
}

function messageElement(view, pane) {
  const me = pane === "citizen" ? state.citizenId : state.staffId;
  const side = view.from.is_bot ? "from-bot" : view.from.id === me ? "from-me" : "from-other";
  const node = el("div", {
    class: `msg ${side}${view.deleted ? " deleted" : ""}`,
    "data-testid": view.deleted ? "msg-deleted" : "msg",
    "data-message-id": view.message_id,
    "data-from": view.from.is_bot ? "bot" : String(view.from.id),
  });
  node.append(el("div", { class: "sender", text: view.from.name }));
  if (view.reply_to_message_id) {
    node.append(el("div", { class: "note", text: `↩ reply to #${view.reply_to_message_id}` }));
  }
  const origin = describeOrigin(view.forward_origin);
  if (origin) node.append(origin);
  const media = attachment(view);
  if (media) node.append(media);
  if (view.text) {
    node.append(el("div", { class: "body" }, renderEntities(view.text, view.entities)));
  }
  const keyboard = inlineKeyboard(view, pane);
  if (keyboard) node.append(keyboard);
  const time = new Date(view.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const flags = [time, `#${view.message_id}`];
  if (view.edited) flags.push("edited");
  if (view.deleted) flags.push("deleted");
  node.append(el("div", { class: "meta", text: flags.join(" · ") }));
  return node;
}

/* `jump`: show the newest message even if the reader had scrolled up (another chat now). */
function renderChat(pane, { jump = false } = {}) {
  const chatId = pane === "citizen" ? state.citizenId : state.groupId;
  const box = $(`${pane}-messages`);
  const nearBottom = jump || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.replaceChildren();
  const messages = state.messages.get(chatId) || new Map();
  for (const view of [...messages.values()].sort((a, b) => a.message_id - b.message_id)) {
    box.append(messageElement(view, pane));
  }
  if (nearBottom) box.scrollTop = box.scrollHeight;
  renderReplyKeyboard(pane);
}

function renderReplyKeyboard(pane) {
  const chatId = pane === "citizen" ? state.citizenId : state.groupId;
  const box = $(`${pane}-keyboard`);
  box.replaceChildren();
  const chat = state.chats.get(chatId);
  const keyboard = chat && chat.reply_keyboard;
  if (!keyboard || !keyboard.keyboard) return;
  for (const row of keyboard.keyboard) {
    const rowNode = el("div", { class: "kb-row" });
    for (const button of row) {
      const node = el("button", { type: "button", class: "kb reply-kb", text: button.text });
      node.addEventListener("click", () => replyButton(pane, button));
      rowNode.append(node);
    }
    box.append(rowNode);
  }
}

/* ---------- actions ---------- */

function paneSender(pane) {
  return pane === "citizen"
    ? { user_id: state.citizenId, chat_id: state.citizenId }
    : { user_id: state.staffId, chat_id: state.groupId };
}

async function send(pane, content) {
  const sender = paneSender(pane);
  if (!sender.user_id || !sender.chat_id) {
    toast("Pick a user and a chat first", true);
    return;
  }
  await api("/send", { ...sender, ...content });
}

async function press(pane, view, data) {
  const sender = paneSender(pane);
  await api("/press", { user_id: sender.user_id, chat_id: view.chat_id, message_id: view.message_id, data });
}

async function replyButton(pane, button) {
  const user = state.users.get(paneSender(pane).user_id);
  if (button.request_contact) {
    await send(pane, {
      contact: { phone_number: $("citizen-phone").value.trim(), first_name: user.first_name, user_id: user.id },
    });
  } else if (button.request_location) {
    askLocation(pane);
  } else {
    await send(pane, { text: button.text });
  }
}

function askLocation(pane) {
  const dialog = $("location-dialog");
  dialog.dataset.pane = pane;
  dialog.returnValue = "";
  dialog.showModal();
}

function readFileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function sendFile(file) {
  const asPhoto = $("citizen-as-photo").checked && file.type.startsWith("image/");
  const spec = { file_name: file.name, mime_type: file.type || "application/octet-stream" };
  // Big files travel as metadata only; the stand-in fabricates their content on download.
  if (file.size > 8 * 1024 * 1024) spec.size = file.size;
  else spec.data_b64 = await readFileBase64(file);
  await send("citizen", { [asPhoto ? "photo" : "document"]: spec });
}

/* ---------- loading state ---------- */

async function loadUsers() {
  const data = await api("/users");
  state.users = new Map(data.users.map((u) => [u.id, u]));
  fillUserPicker($("citizen-user"), state.citizenId, [...state.users.values()].filter((u) => !isStaff(u.id)));
  // Staff identity: members of the current group first; anyone else can be played too, e.g. to
  // check that the bot refuses a press from someone outside the office. So an outsider picked
  // on purpose stays picked here; only choosing another group (selectGroup) re-defaults it.
  const members = groupMembers();
  if (!state.users.has(state.staffId)) state.staffId = members[0] || null;
  const users = [...state.users.values()];
  const ordered = [...users.filter((u) => members.includes(u.id)), ...users.filter((u) => !members.includes(u.id))];
  fillUserPicker($("staff-user"), state.staffId, ordered, members);
  const citizen = state.users.get(state.citizenId);
  if (citizen) $("citizen-lang").value = citizen.language_code === "en" ? "en" : "zh-hans";
}

function groupMembers() {
  const chat = state.chats.get(state.groupId);
  return chat ? chat.members.filter((id) => id !== 1000000001) : [];
}

function isStaff(userId) {
  for (const chat of state.chats.values()) {
    if (chat.type !== "private" && chat.members.includes(userId)) return true;
  }
  return false;
}

function fillUserPicker(select, selected, users, members = null) {
  select.replaceChildren();
  for (const user of users) {
    const note = members && !members.includes(user.id) ? " — not in this group" : "";
    select.append(el("option", { value: user.id, text: `${user.first_name} (${user.id})${note}`, selected: user.id === selected }));
  }
  if (selected && !users.some((u) => u.id === selected) && state.users.has(selected)) {
    const user = state.users.get(selected);
    select.append(el("option", { value: user.id, text: `${user.first_name} (${user.id})`, selected: true }));
  }
}

async function loadChats() {
  const data = await api("/chats");
  state.chats = new Map(data.chats.map((c) => [c.id, c]));
  const groups = data.chats.filter((c) => c.type !== "private");
  if (!state.groupId && groups.length) state.groupId = groups[0].id;
  const tabs = $("group-tabs");
  tabs.replaceChildren();
  for (const group of groups) {
    tabs.append(el("button", {
      type: "button",
      role: "tab",
      "aria-selected": group.id === state.groupId ? "true" : "false",
      "data-chat-id": group.id,
      text: group.title,
      onclick: () => selectGroup(group.id),
    }));
  }
  const current = state.chats.get(state.groupId);
  $("staff-title").textContent = current ? `${current.title} (${current.id})` : "No staff groups configured";
  renderUnread();
  return data.seq;
}

/* Snapshots and events race: an event may bring a newer version of a message (the bot editing
 * an alert) while a snapshot taken before it is still on its way, or the other way round. The
 * view with the higher seq wins, whichever arrives last. */
function remember(view) {
  if (!state.messages.has(view.chat_id)) state.messages.set(view.chat_id, new Map());
  const messages = state.messages.get(view.chat_id);
  const known = messages.get(view.message_id);
  if (!known || known.seq <= view.seq) messages.set(view.message_id, view);
}

async function loadMessages(chatId) {
  if (chatId === null || chatId === undefined) return;
  const data = await api(`/chats/${chatId}/messages?since=0`);
  for (const view of data.messages) remember(view);
}

async function selectGroup(chatId) {
  state.groupId = chatId;
  await loadChats();
  // A new group means a new office: act as one of its members unless already one.
  const members = groupMembers();
  if (members.length && !members.includes(state.staffId)) state.staffId = members[0];
  await loadUsers();
  await loadMessages(chatId);
  renderChat("staff", { jump: true });
  markSeen();
}

async function selectCitizen(userId) {
  state.citizenId = userId;
  await loadUsers();
  await loadMessages(userId);
  renderChat("citizen", { jump: true });
  markSeen();
}

/* ---------- unread markers ---------- */

/* On a phone only one pane shows, so a chat can be selected and still not be seen. */
function paneShown(pane) {
  return $(`${pane}-pane`).getClientRects().length > 0;
}

function onScreen(chatId) {
  const pane = paneOf(chatId);
  return pane !== null && paneShown(pane);
}

function markSeen() {
  for (const chatId of [...state.unread.keys()]) {
    if (onScreen(chatId)) state.unread.delete(chatId);
  }
  renderUnread();
}

function setBadge(node, count) {
  let badge = node.querySelector(".badge");
  if (!count) {
    if (badge) badge.remove();
    return;
  }
  if (!badge) {
    badge = el("span", { class: "badge", "data-testid": "unread" });
    node.append(badge);
  }
  badge.textContent = String(count);
  badge.title = `${count} unread`;
}

/* Group tabs count their own chat; the pane switch (visible on a phone) counts what its pane
 * holds: the current citizen's chat, or every staff group, since an alert lands in the group of
 * whichever office is responsible, rarely the one selected. */
function renderUnread() {
  let staffTotal = 0;
  for (const tab of $("group-tabs").querySelectorAll("[data-chat-id]")) {
    const count = state.unread.get(Number(tab.dataset.chatId)) || 0;
    staffTotal += count;
    setBadge(tab, count);
  }
  const citizenButton = document.querySelector('.pane-switch [data-pane="citizen-pane"]');
  const staffButton = document.querySelector('.pane-switch [data-pane="staff-pane"]');
  setBadge(citizenButton, state.unread.get(state.citizenId) || 0);
  setBadge(staffButton, staffTotal);
}

/* ---------- events ---------- */

const typingTimers = {};

function showTyping(chatId) {
  for (const pane of ["citizen", "staff"]) {
    const current = pane === "citizen" ? state.citizenId : state.groupId;
    if (current !== chatId) continue;
    $(`${pane}-typing`).textContent = "Petition Bot is typing…";
    clearTimeout(typingTimers[pane]);
    typingTimers[pane] = setTimeout(() => { $(`${pane}-typing`).textContent = ""; }, 5000);
  }
}

function paneOf(chatId) {
  if (chatId === state.citizenId) return "citizen";
  if (chatId === state.groupId) return "staff";
  return null;
}

function applyEvent(event) {
  if (event.message) {
    const view = event.message;
    remember(view);
    const pane = paneOf(view.chat_id);
    if (pane && view.from.is_bot) $(`${pane}-typing`).textContent = "";
    if (pane) renderChat(pane);
    // Only new messages count, as in Telegram: an alert edited in place is not news.
    if (event.type === "message" && !onScreen(view.chat_id)) {
      state.unread.set(view.chat_id, (state.unread.get(view.chat_id) || 0) + 1);
      renderUnread();
    }
  } else if (event.type === "chat") {
    if (event.chat) {
      state.chats.set(event.chat.id, event.chat);
      const pane = paneOf(event.chat.id);
      if (pane) renderReplyKeyboard(pane);
    } else {
      loadChats().then(loadUsers);
    }
  } else if (event.type === "callback_answer") {
    const answer = event.answer;
    if (answer.show_alert && answer.text) showAlert(answer.text);
    else if (answer.text) toast(answer.text);
  } else if (event.type === "action") {
    showTyping(event.chat_id);
  }
}

async function pollEvents() {
  for (;;) {
    try {
      const response = await fetch(`${API}/events?since=${state.seq}&timeout=25`);
      const data = await response.json();
      for (const event of data.events) applyEvent(event);
      state.seq = Math.max(state.seq, data.seq);
      $("connection").textContent = "connected";
      $("connection").classList.remove("offline");
    } catch (err) {
      $("connection").textContent = "offline — retrying";
      $("connection").classList.add("offline");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

/* ---------- wiring ---------- */

function wire() {
  $("citizen-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("citizen-input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    await send("citizen", { text });
  });
  $("staff-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("staff-input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    await send("staff", { text });
  });
  $("citizen-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await sendFile(file);
  });
  $("citizen-sticker").addEventListener("click", () => send("citizen", { sticker: "👍" }));
  $("citizen-location").addEventListener("click", () => askLocation("citizen"));
  for (const preset of document.querySelectorAll(".presets button")) {
    preset.addEventListener("click", () => {
      $("location-lat").value = preset.dataset.lat;
      $("location-lon").value = preset.dataset.lon;
    });
  }
  $("location-dialog").addEventListener("close", async () => {
    const dialog = $("location-dialog");
    if (dialog.returnValue !== "send") return;
    const location = { latitude: Number($("location-lat").value), longitude: Number($("location-lon").value) };
    await send(dialog.dataset.pane || "citizen", { location });
  });
  $("citizen-user").addEventListener("change", (event) => selectCitizen(Number(event.target.value)));
  $("staff-user").addEventListener("change", (event) => {
    state.staffId = Number(event.target.value);
    renderChat("staff");
  });
  $("citizen-lang").addEventListener("change", async (event) => {
    const user = state.users.get(state.citizenId);
    if (!user) return;
    const updated = await api("/users", { ...user, language_code: event.target.value, blocked: user.blocked });
    state.users.set(updated.id, updated);
  });
  for (const [button, role] of [["citizen-new", "citizen"], ["staff-new", "staff"]]) {
    $(button).addEventListener("click", () => {
      const dialog = $("user-dialog");
      dialog.dataset.role = role;
      $("user-dialog-title").textContent = role === "citizen" ? "New citizen" : `New staff member of the current group`;
      dialog.returnValue = "";
      dialog.showModal();
    });
  }
  $("user-dialog").addEventListener("close", async () => {
    const dialog = $("user-dialog");
    if (dialog.returnValue !== "create") return;
    const body = { first_name: $("user-name").value.trim(), language_code: $("user-lang").value };
    if ($("user-id").value) body.id = Number($("user-id").value);
    if (dialog.dataset.role === "staff" && state.groupId) body.groups = [state.groupId];
    const user = await api("/users", body);
    await loadChats();
    if (dialog.dataset.role === "staff") {
      state.staffId = user.id;
      await loadUsers();
      renderChat("staff");
    } else {
      await selectCitizen(user.id);
    }
  });
  for (const button of document.querySelectorAll(".pane-switch button")) {
    button.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".pane-switch button")) other.classList.toggle("active", other === button);
      for (const pane of document.querySelectorAll(".pane")) pane.classList.toggle("active", pane.id === button.dataset.pane);
      // A hidden pane has no height, so messages that came meanwhile left it scrolled to the top.
      const shown = button.dataset.pane.replace("-pane", "-messages");
      $(shown).scrollTop = $(shown).scrollHeight;
      markSeen();
    });
  }
  // Widening the window from a phone's width shows both panes, and so their chats.
  window.addEventListener("resize", markSeen);
}

async function main() {
  wire();
  state.seq = await loadChats();
  const existing = await api("/users");
  if (!existing.users.some((u) => u.id === DEFAULT_CITIZEN.id)) await api("/users", DEFAULT_CITIZEN);
  await loadChats();
  await loadUsers();
  await loadMessages(state.citizenId);
  await loadMessages(state.groupId);
  renderChat("citizen");
  renderChat("staff");
  pollEvents();
}

main();
