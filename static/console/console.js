/* The agents' console. Vanilla JS, no dependencies.
 *
 * The page's data comes from the REST API (which applies the member's scope); the
 * websocket only says *that* something changed (ids, a status, a snippet), and the script
 * reloads what is on screen. After a reconnect or an "overflow" it reloads everything, so
 * nothing missed while away stays missing.
 */
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const T = cfg.strings;
  const $ = (id) => document.getElementById(id);
  const root = $("console");
  const SIGN_KEY = "console.sign";

  // localStorage may be unavailable (private windows, a locked-down browser): then the
  // choice lasts as long as the page.
  function stored(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (error) {
      return null;
    }
  }

  function store(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (error) {
      // Not remembered; nothing else depends on it.
    }
  }

  const state = {
    box: "mine",
    filters: { status: "live" },
    counts: {},
    list: [],
    currentId: null,
    convo: null,
    messages: [],
    lastEventAt: null,
    chosenPrepared: null,
    // The image attached in the reply box (a File), sent with the next send.
    image: null,
    presence: cfg.presence,
    profile: null,
    // The last message each conversation's live events carried ({msg_type, snippet, at}),
    // shown under its name until the list's own preview (last_message) is as new.
    snippets: {},
    // Sign replies with the agent's customer-facing identity; remembered on this browser.
    sign: stored(SIGN_KEY) === "1",
    // What had focus before the transfer dialog opened, to give it back on close.
    transferOpener: null,
    // Where the open transfer dialog may hand the conversation (names for the confirmation).
    transferTargets: null,
    // Transfers waiting for my answer (`/api/v1/transfers/`), and those I sent this
    // session by id, until I dismiss their answer.
    incoming: [],
    sent: new Map(),
    // The first counts decide the box the console opens on (`openingBox`), unless the
    // agent chose one first.
    opened: false,
    boxChosen: false,
    // My open mentions (`/api/v1/mentions/`): the Mentioned box, and the Done button on a
    // conversation I read because a colleague mentioned me.
    mentions: [],
    // Whom a note may mention (loaded on the first "@"), and those picked for this note.
    candidates: null,
    noteMentions: new Map(),
    // The open conversation's timeline (routing decisions and transfers), and which tab
    // shows: the messages or the timeline.
    timeline: [],
    tab: "thread",
  };

  // -- helpers --------------------------------------------------------------------------

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of [].concat(children || [])) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function api(method, url, body) {
    const options = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body instanceof FormData) {
      options.body = body;  // the browser sets the multipart boundary
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.detail) || T.request_failed);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function urlWith(base, params) {
    const url = new URL(base, window.location.origin);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
    }
    return url.pathname + url.search;
  }

  function conversationUrl(id, action) {
    return `${cfg.api.conversations}${id}/${action ? action + "/" : ""}`;
  }

  function minutesSince(iso) {
    return iso ? Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000)) : null;
  }

  function duration(minutes) {
    if (minutes < 60) return fmt(T.minutes, { n: minutes });
    const hours = Math.floor(minutes / 60);
    return fmt(T.hours_minutes, { h: hours, m: minutes % 60 });
  }

  // Times by the pages' one rule (accounts/times.py): in the viewer's zone, which the page
  // names (cfg.times.zone), 24-hour, the time alone today and with its date before, with
  // the patterns the server translated ("%(month)02d-%(day)02d %(hour)02d:%(minute)02d").
  const zoneClock = new Intl.DateTimeFormat("en-US", {
    timeZone: cfg.times.zone, year: "numeric", month: "numeric", day: "numeric",
    hour: "numeric", minute: "numeric", hourCycle: "h23",
  });

  function clockParts(date) {
    const parts = {};
    for (const part of zoneClock.formatToParts(date)) {
      if (part.type !== "literal") parts[part.type] = Number(part.value);
    }
    return parts;
  }

  function momentFmt(pattern, parts) {
    return pattern.replace(/%\((\w+)\)(02)?d/g, (_, key, pad) => String(parts[key]).padStart(pad ? 2 : 1, "0"));
  }

  // `full`: always the date and the year (tooltips).
  function timeOf(iso, full) {
    const parts = clockParts(new Date(iso));
    const today = clockParts(new Date());
    const P = cfg.times.patterns;
    let pattern = P.this_year;
    if (full || parts.year !== today.year) pattern = P.older;
    else if (parts.month === today.month && parts.day === today.day) pattern = P.today;
    return momentFmt(pattern, parts);
  }

  // The moment with its date, year and zone: "2026-12-01 14:35 (Asia/Shanghai)".
  function zonedTimeOf(iso) {
    return fmt(cfg.times.patterns.zoned, { time: timeOf(iso, true), zone: cfg.times.zone });
  }

  function accountName(id) {
    const account = cfg.accounts.find((a) => a.id === id);
    return account ? account.name : T.other_account;
  }

  // A problem, or with `done` a confirmation (shown as one, not as an error).
  function toast(text, done) {
    $("c-toast").textContent = text;
    $("c-toast").classList.toggle("is-done", Boolean(done));
  }

  // Many events in a burst (a busy queue) cost one reload each of lists and thread.
  const timers = {};
  function soon(name, fn, delay) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, delay === undefined ? 120 : delay);
  }

  // -- boxes, filters, the list -----------------------------------------------------------

  function boxes() {
    const list = [
      { id: "mine", name: T.box_mine },
      { id: "unassigned", name: T.box_unassigned },
    ];
    for (const team of cfg.teams) list.push({ id: `team:${team.id}`, name: team.name });
    list.push({ id: "all", name: T.box_all });
    list.push({ id: "snoozed", name: T.box_snoozed });
    list.push({ id: "mentioned", name: T.box_mentioned });
    return list;
  }

  function renderBoxes() {
    const nav = $("c-boxes");
    nav.replaceChildren(
      ...boxes().map((box) =>
        el("button", {
          type: "button",
          "data-box": box.id,
          "data-testid": `box-${box.id}`,
          "aria-current": String(state.box === box.id),
          onclick: () => chooseBox(box.id),
        }, [el("span", { text: box.name }), el("span", { class: "c-count", text: boxCount(box.id) })]),
      ),
    );
  }

  function boxCount(id) {
    return id === "mentioned" ? state.mentions.length : state.counts[id] ?? "·";
  }

  function chooseBox(box) {
    state.box = box;
    state.boxChosen = true;
    renderBoxes();
    loadList();
  }

  // The console opens on Mine; when nothing is the agent's and conversations wait
  // unassigned, on Unassigned instead. Decided once, by the first counts.
  function openingBox() {
    if (state.opened) return;
    state.opened = true;
    if (state.boxChosen || state.box !== "mine") return;
    if (!state.counts.mine && state.counts.unassigned) {
      state.box = "unassigned";
      loadList();
    }
  }

  // A translated text by plural category ({one, other}, as the server gives them).
  function plural(forms, n) {
    const rule = new Intl.PluralRules(document.documentElement.lang || undefined).select(n);
    return fmt(forms[rule] || forms.other, { n });
  }

  function fillSelect(select, options) {
    for (const option of options) select.append(el("option", { value: option.id, text: option.name }));
  }

  function setupFilters() {
    const form = $("c-filters");
    fillSelect(form.querySelector("[name=account]"), cfg.accounts);
    fillSelect(form.querySelector("[name=status]"), cfg.statuses);
    fillSelect(form.querySelector("[name=language]"), cfg.languages);
    fillSelect(form.querySelector("[name=tag]"), cfg.tags);
    form.addEventListener("change", () => {
      for (const field of form.querySelectorAll("select, input")) state.filters[field.name] = field.value;
      loadList();
    });
    fillSelect($("c-lang"), [{ id: "", name: T.customer_language }].concat(cfg.languages));
  }

  // Loads overlap when events come in bursts; only the latest one issued may paint, so a
  // slow stale answer never overwrites a fresher one.
  const issued = {};
  function ticket(name) {
    issued[name] = (issued[name] || 0) + 1;
    return issued[name];
  }

  async function loadCounts() {
    const mine = ticket("counts");
    let counts;
    try {
      counts = await api("GET", cfg.api.counts);
    } catch (error) {
      return;
    }
    if (mine !== issued.counts) return;
    state.counts = counts;
    openingBox();
    renderBoxes();
    // An empty Mine box points to what waits unassigned, by the latest count.
    if (issued.list && !state.list.length) renderList();
  }

  async function loadList() {
    if (state.box === "mentioned") {
      await loadMentions();
      return;
    }
    const params = Object.assign({ box: state.box, page_size: 100 }, state.filters);
    const mine = ticket("list");
    let data;
    try {
      data = await api("GET", urlWith(cfg.api.conversations, params));
    } catch (error) {
      return;
    }
    if (mine !== issued.list) return;
    const before = new Map(state.list.map((c) => [c.id, c.last_message_at]));
    state.list = data.results || data;
    renderList(before);
  }

  // The person's headline is the server's (display_name: name, else remark, else
  // "Customer #id"); the openid is never one.
  function convoName(c) {
    return c.display_name || `#${c.id}`;
  }

  // A message in one line: a text's first words, any other type named in the page's
  // language ("[image]"), from the type the server sends.
  function typeLabel(msgType) {
    const kind = msgType === "shortvideo" ? "video" : msgType;
    return T[`snippet_${kind}`] || T.snippet_other;
  }

  function previewText(p) {
    return p.msg_type === "text" ? p.snippet : typeLabel(p.msg_type);
  }

  // The newer of the list's preview and the last live event's.
  function previewOf(c) {
    const live = state.snippets[c.id];
    const loaded = c.last_message;
    if (live && (!loaded || !loaded.at || Date.parse(live.at) > Date.parse(loaded.at))) return live;
    return loaded || null;
  }

  function previewLine(c) {
    const p = previewOf(c);
    if (!p) return null;
    return el("div", { class: "c-snip", "data-testid": "conversation-preview" }, [
      el("span", { class: "c-snip-text", text: previewText(p) }),
      p.at ? el("time", { class: "c-snip-time", datetime: p.at, title: zonedTimeOf(p.at), text: timeOf(p.at) }) : null,
    ]);
  }

  function assigneeName(c) {
    return c.assignee ? c.assignee.display_name : T.unassigned;
  }

  // The box's order, said above it: the server's (`conversation_list`).
  function renderOrder() {
    const order = { snoozed: T.order_snoozed, mentioned: "" }[state.box];
    $("c-order").textContent = order === undefined ? T.order_waiting : order;
  }

  // An empty Mine box says what waits in Unassigned, as a way there.
  function emptyBox() {
    const waiting = state.box === "mine" ? state.counts.unassigned || 0 : 0;
    const children = [T.empty_box];
    if (waiting) {
      children.push(" ", el("button", {
        type: "button", class: "c-link", "data-testid": "waiting-unassigned",
        text: plural(T.waiting_unassigned, waiting), onclick: () => chooseBox("unassigned"),
      }));
    }
    return el("li", { class: "c-empty", "data-testid": "empty-box" }, children);
  }

  // The handling account, and the account the follower writes to where it differs (after
  // an account-to-account transfer; replies still go out through it).
  function accountLabels(c) {
    const labels = [c.handling_account.name];
    if (c.channel_account.id !== c.handling_account.id) {
      labels.push(fmt(T.via, { account: c.channel_account.name }));
    }
    return labels;
  }

  function minutesUntil(iso) {
    return Math.max(0, Math.ceil((Date.parse(iso) - Date.now()) / 60000));
  }

  // Marks under the name: the reply window closing soon (the server says when, within
  // two hours), and when a snoozed conversation comes back.
  // A response target (`response_due_at`) close or past: "Due in 4 min" from
  // `warn_before_minutes` before it, "Overdue 12 min" after. Re-evaluated each minute.
  function dueFlag(iso, testid) {
    if (!iso) return null;
    const left = (Date.parse(iso) - Date.now()) / 60000;
    if (left > (cfg.warn_before_minutes || 0)) return null;
    const breached = left < 0;
    const text = breached
      ? fmt(T.overdue, { time: duration(Math.max(1, Math.floor(-left))) })
      : fmt(T.due_in, { time: duration(Math.ceil(left)) });
    const level = breached ? "breached" : "near";
    return el("span", {
      class: `c-due ${level}`, "data-testid": testid, "data-due": level,
      title: fmt(T.due_title, { time: timeOf(iso) }), text,
    });
  }

  function renderDue() {
    const box = $("c-due");
    const convo = state.convo;
    const flag = convo && convo.status !== "resolved" ? dueFlag(convo.response_due_at, "open-due-flag") : null;
    box.hidden = !flag;
    box.className = flag ? flag.className : "c-due";
    box.textContent = flag ? flag.textContent : "";
    box.title = flag ? flag.title : "";
    box.dataset.due = flag ? flag.dataset.due : "";
  }

  function rowBadges(c) {
    const badges = [];
    if (c.window_closing_at) {
      badges.push(el("span", {
        class: "c-closing", "data-testid": "window-closing", title: T.window_closing_title,
        text: fmt(T.window_closing, { time: duration(minutesUntil(c.window_closing_at)) }),
      }));
    }
    if (c.status === "snoozed" && c.snoozed_until) {
      badges.push(el("span", {
        class: "c-back", "data-testid": "snoozed-until",
        text: fmt(T.back_at, { time: timeOf(c.snoozed_until) }),
      }));
    }
    const due = c.status === "resolved" ? null : dueFlag(c.response_due_at, "due-flag");
    if (due) badges.unshift(due);
    return badges.length ? el("div", { class: "c-badges" }, badges) : null;
  }

  function renderList(before) {
    const list = $("c-list");
    // Which box the rows are (tests wait for it after choosing one).
    list.dataset.box = state.box;
    renderOrder();
    if (state.box === "mentioned") {
      renderMentioned();
      return;
    }
    if (!state.list.length) {
      list.replaceChildren(emptyBox());
      return;
    }
    list.replaceChildren(
      ...state.list.map((c) => {
        const waited = minutesSince(c.waiting_since);
        const fresh = before && before.size && before.get(c.id) !== c.last_message_at;
        return el("li", {
          "data-id": c.id,
          "data-testid": "conversation-item",
          class: fresh ? "c-fresh" : null,
          "aria-selected": String(c.id === state.currentId),
          tabindex: "-1",
          onclick: () => openConversation(c.id),
        }, [
          el("div", { class: "c-row1" }, [
            el("span", { class: "c-name", text: convoName(c) }),
            waited !== null ? el("span", { class: "c-wait", title: T.waiting, text: duration(waited) }) : null,
          ]),
          rowBadges(c),
          el("div", { class: "c-meta", "data-testid": "conversation-meta", text: [...accountLabels(c), statusLabel(c.status), assigneeName(c)].join(" · ") }),
          previewLine(c),
        ]);
      }),
    );
  }

  function statusLabel(status) {
    const found = cfg.statuses.find((s) => s.id === status);
    return found ? found.name : status;
  }

  // -- the open conversation ---------------------------------------------------------------

  async function openConversation(id) {
    if (id !== state.currentId) {
      clearImage();
      state.noteMentions.clear();
      state.timeline = [];
    }
    state.currentId = id;
    state.chosenPrepared = null;
    $("c-chosen").textContent = "";
    toast("");
    for (const item of $("c-list").children) item.setAttribute("aria-selected", String(Number(item.dataset.id) === id));
    const selected = $("c-list").querySelector(`[data-id="${id}"]`);
    if (selected) selected.scrollIntoView({ block: "nearest" });
    await loadConversation();
  }

  async function loadConversation() {
    const id = state.currentId;
    if (!id) return;
    const mine = ticket("thread");
    let convo, history, profile;
    try {
      [convo, history, profile] = await Promise.all([
        api("GET", conversationUrl(id)),
        api("GET", urlWith(conversationUrl(id, "history"), { page_size: 500 })),
        api("GET", cfg.api.profile.replace("/0/", `/${id}/`)),
      ]);
    } catch (error) {
      if (mine !== issued.thread) return;
      if (error.status === 404) closeConversation();
      return;
    }
    if (mine !== issued.thread || id !== state.currentId) return;
    state.convo = convo;
    state.profile = profile;
    state.messages = history.results || history;
    renderThread();
    renderProfile();
    renderReplyBox();
    renderMentionEnd();
    // The timeline follows the conversation: every change to it reloads this.
    loadTimeline();
  }

  // Nothing open: after it went out of sight (a transfer, a 404).
  function closeConversation() {
    state.currentId = null;
    state.convo = null;
    state.profile = null;
    state.messages = [];
    state.chosenPrepared = null;
    $("c-chosen").textContent = "";
    $("c-text").placeholder = $("c-text").dataset.placeholder;
    clearImage();
    for (const item of $("c-list").children) item.setAttribute("aria-selected", "false");
    renderThread();
    renderProfile();
    renderReplyBox();
    state.timeline = [];
    renderTimeline();
    renderMentionEnd();
    // A transfer dialog for it has nothing left to hand on.
    closeTransfer();
  }

  // An image shows as a thumbnail (opening the full one in a new tab) when the portal
  // stored it; the link goes through the conversation's scope like everything else.
  function messageBody(m) {
    if (m.msg_type !== "image") {
      return el("div", { class: "c-body", text: m.content || typeLabel(m.msg_type) });
    }
    if (!m.media_url) return el("div", { class: "c-body muted", text: T.image_missing });
    return el("a", { class: "c-thumb-link", href: m.media_url, target: "_blank", rel: "noopener" },
      el("img", { class: "c-thumb", src: m.media_url, alt: T.image, loading: "lazy", "data-testid": "message-image" }));
  }

  // A reply's delivery: its status, why it failed or when WeChat's trouble is tried again,
  // and a Retry button on a failed reply the API says may be sent again (`retryable`:
  // never one WeChat may have delivered).
  function deliveryLabel(m) {
    if (m.direction !== "out") return null;
    // The socket says that a reply failed, not whether it may be retried: the thread
    // reloads once to learn it.
    if (m.loadedStatus === undefined) m.loadedStatus = m.status;
    else if (m.status === "failed" && m.loadedStatus !== "failed") {
      m.loadedStatus = m.status;
      soon("thread", loadConversation, 60);
    }
    const text = { queued: T.queued, sending: T.sending, sent: T.sent, failed: T.failed }[m.status] || m.status;
    const reason = m.status === "failed" && m.error_reason ? ` — ${m.error_reason}` : "";
    const retryAt = m.status === "queued" && m.next_attempt_at ? ` — ${fmt(T.retrying_at, { time: timeOf(m.next_attempt_at) })}` : "";
    const label = el("span", { class: `c-status-${m.status}`, "data-testid": "delivery", text: text + reason + retryAt });
    if (m.status !== "failed" || !m.retryable) return label;
    return el("span", { class: "c-delivery" }, [
      label,
      " ",
      el("button", { type: "button", class: "c-retry", "data-testid": "retry", text: T.retry, onclick: () => retryReply(m) }),
    ]);
  }

  // The same reply goes back to the queue (never a second one); the API refuses, with the
  // reason, one that may have been delivered or whose window has closed.
  function retryReply(m) {
    act("POST", conversationUrl(m.conversation, `messages/${m.id}/retry`), {}, loadConversation);
  }

  function renderThread() {
    const convo = state.convo;
    $("c-title").textContent = convo ? convoName(convo) : T.no_conversation;
    $("c-subtitle").textContent = convo ? [...accountLabels(convo), statusLabel(convo.status), assigneeName(convo)].join(" · ") : "";
    renderDue();
    for (const id of ["c-assign", "c-resolve", "c-snooze", "c-transfer-open", "c-speaker"]) $(id).disabled = !convo;
    if (convo) {
      $("c-assign").disabled = Boolean(convo.assignee && convo.assignee.id === cfg.membership_id);
      $("c-resolve").disabled = convo.status === "resolved";
      // A resolved conversation cannot be handed on (the follower's next message reopens it).
      $("c-transfer-open").disabled = convo.status === "resolved";
      $("c-speaker").disabled = convo.status === "resolved";
    }
    const thread = $("c-thread");
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    thread.replaceChildren(
      ...state.messages.map((m) => {
        const other = convo && m.conversation !== convo.id;
        const account = m.account || {};
        const kind = m.direction === "in" ? "in" : m.direction;
        return el("li", {
          class: `c-msg ${kind}${other ? " other" : ""}`,
          "data-id": m.id,
          "data-testid": `message-${kind}`,
          "data-status": m.status,
        }, [
          messageBody(m),
          el("div", { class: "c-foot" }, [
            el("span", { class: "c-acct", "data-testid": "message-account", text: account.name || accountName(account.id) }),
            m.direction === "in" && convo ? el("span", { "data-testid": "message-from", text: convo.display_name }) : null,
            m.direction === "note" ? el("span", { text: T.private_note }) : null,
            m.sender_display ? el("span", { text: m.sender_display }) : null,
            el("time", { datetime: m.created_at, title: zonedTimeOf(m.created_at), text: timeOf(m.created_at) }),
            deliveryLabel(m),
          ]),
        ]);
      }),
    );
    if (atBottom || !thread.dataset.shown || thread.dataset.shown !== String(state.currentId)) {
      thread.scrollTop = thread.scrollHeight;
    }
    thread.dataset.shown = String(state.currentId);
  }

  function dl(rows) {
    const list = el("dl");
    for (const [label, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      list.append(el("dt", { text: label }), el("dd", { text: value }));
    }
    return list;
  }

  function renderProfile() {
    const panel = $("c-profile");
    const convo = state.convo;
    const profile = state.profile;
    if (!convo || !profile) {
      panel.replaceChildren(el("p", { class: "muted", text: T.open_one }));
      return;
    }
    const customer = profile.customer || {};
    const tags = [...new Set(profile.identities.flatMap((f) => f.tags))];
    const scenes = profile.identities.filter((f) => f.qr_scene);
    panel.replaceChildren(
      el("h2", { "data-testid": "customer-name", text: profile.display_name || convoName(convo) }),
      // The CRM's customer page (messaging/customer_page.py): every account, the timeline.
      ...(customer.id ? [el("p", {}, [el("a", {
        href: panel.dataset.customerUrl.replace("/0/", `/${customer.id}/`),
        "data-testid": "customer-page-link", text: panel.dataset.customerLink,
      })])] : []),
      dl([[T.phone, customer.phone], [T.email, customer.email], [T.language, profile.language_name]]),
      el("h3", { text: T.identities }),
      el("ul", { "data-testid": "identities" }, profile.identities.map((f) =>
        el("li", {}, [
          el("span", { class: "c-acct", text: f.account.name }), " ",
          el("span", { class: "muted", text: f.subscribed ? T.following : T.unfollowed }),
          el("div", { class: "c-openid-row" }, [
            el("code", { class: "c-openid", "data-testid": "openid", title: T.openid, text: f.openid }),
            " ",
            el("button", { type: "button", class: "c-copy", "data-testid": "copy-openid", text: T.copy, onclick: (e) => copyText(f.openid, e.currentTarget) }),
          ]),
        ]))),
      el("h3", { text: T.tags }),
      el("div", { class: "c-tags", "data-testid": "tags" }, tags.length ? tags.map((t) => el("span", { class: "tag", text: t })) : el("span", { class: "muted", text: "—" })),
      el("h3", { text: T.qr_source }),
      el("ul", {}, scenes.length ? scenes.map((f) => el("li", { text: `${f.qr_scene} (${f.account.name})` })) : el("li", { class: "muted", text: "—" })),
      el("h3", { text: T.notes }),
      el("p", { class: "c-notes", text: customer.notes || "—" }),
      el("h3", { text: T.attributes }),
      dl(Object.entries(customer.attributes || {}).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : v])),
    );
  }

  // The openid, for a search in the platform's tools: to the clipboard, or selected when
  // the browser keeps the clipboard closed.
  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = T.copied;
    } catch (error) {
      const code = button.parentNode.querySelector("code");
      window.getSelection().selectAllChildren(code);
    }
  }

  // -- the reply box ---------------------------------------------------------------------

  function isNote() {
    return $("c-note").checked;
  }

  function renderReplyBox() {
    const convo = state.convo;
    const windowBox = $("c-window");
    const send = $("c-send");
    $("c-reply").classList.toggle("is-note", isNote());
    // Notes are text only; an image goes to the follower.
    $("c-attach").disabled = !convo || isNote();
    // One control for what the follower sees: every reply comes from the Official
    // Account; signed, its text ends with this line, the server's own (reply_identity
    // after an em dash, as `_signed` writes it). A private note is never seen: no line.
    $("c-sign-row").hidden = !convo || isNote();
    $("c-sign").checked = state.sign;
    $("c-sign").disabled = !convo || isNote();
    $("c-sign-preview").textContent = convo ? `— ${convo.reply_identity}` : "";
    if (!convo) {
      windowBox.textContent = "";
      send.disabled = true;
      return;
    }
    const win = convo.window || { open: false, reason: T.window_unknown };
    windowBox.classList.toggle("closed", !win.open);
    if (win.open) {
      const left = win.expires_at ? Math.max(0, Math.round((Date.parse(win.expires_at) - Date.now()) / 60000)) : null;
      windowBox.textContent = fmt(T.window_open, { time: left === null ? "—" : duration(left), n: win.sends_left });
    } else {
      windowBox.textContent = fmt(T.window_closed, { reason: win.reason || T.window_unknown });
    }
    const refused = !isNote() && !win.open;
    send.disabled = refused || blank();
    send.title = refused ? win.reason || "" : "";
    $("c-refusal").textContent = refused ? win.reason || T.window_unknown : "";
  }

  // Nothing to send: no text but spaces and line breaks, no image, no prepared response.
  function blank() {
    if ($("c-text").value.trim()) return false;
    return isNote() || (!state.image && !state.chosenPrepared);
  }

  // One send may post two messages: the attached image first, then the text (or prepared
  // response), because the platform carries them as separate messages.
  async function sendReply(event) {
    if (event) event.preventDefault();
    const convo = state.convo;
    if (!convo || $("c-send").disabled) return;
    const text = $("c-text").value.trim();
    const bodies = [];
    if (isNote()) {
      if (state.image) {
        toast(T.note_no_image);
        return;
      }
      if (!text) return;
      bodies.push(noteBody(text));
    } else {
      if (state.image) {
        const form = new FormData();
        form.append("image", state.image, state.image.name);
        bodies.push(form);
      }
      // Only the text is signed; an image goes as it is.
      const sign = state.sign;
      if (state.chosenPrepared && !text) {
        bodies.push({ prepared_key: state.chosenPrepared.key, language: $("c-lang").value, sign });
      } else if (text) {
        bodies.push({ text, sign });
      }
    }
    if (!bodies.length) return;
    $("c-send").disabled = true;
    try {
      for (const body of bodies) {
        await api("POST", conversationUrl(convo.id, "messages"), body);
        if (body instanceof FormData) clearImage();
      }
      $("c-text").value = "";
      state.noteMentions.clear();
      state.chosenPrepared = null;
      $("c-chosen").textContent = "";
      $("c-text").placeholder = $("c-text").dataset.placeholder;
      toast("");
    } catch (error) {
      toast(error.message);
    } finally {
      await loadConversation();
      soon("list", refreshLists);
    }
  }

  // The image attachment: a button opens the file picker (or "i", or a paste into the reply
  // box); the chosen file's name shows with a button that removes it.
  const IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif"];
  const IMAGE_LIMIT = 10 * 1024 * 1024;

  function chooseImage() {
    if (!$("c-attach").disabled) $("c-image").click();
  }

  function attachImage(file) {
    if (!file) return;
    const refusal = !IMAGE_TYPES.includes(file.type) ? T.image_type : file.size > IMAGE_LIMIT ? T.image_size : "";
    if (refusal) {
      $("c-image").value = "";
      toast(refusal);
      // Back on the button, so the agent can choose again at once ("i" or Enter).
      if (!$("c-attach").disabled) $("c-attach").focus();
      return;
    }
    toast("");
    state.image = file;
    $("c-attachment-name").textContent = fmt(T.image_chosen, { name: file.name });
    $("c-attachment").hidden = false;
    renderReplyBox();
    // Enter on the focused Send button sends it, as Ctrl+Enter does anywhere in the box.
    ($("c-send").disabled ? $("c-attachment-remove") : $("c-send")).focus();
  }

  function clearImage() {
    state.image = null;
    $("c-image").value = "";
    $("c-attachment").hidden = true;
    $("c-attachment-name").textContent = "";
    renderReplyBox();
  }

  function removeImage() {
    clearImage();
    $("c-attach").focus();
  }

  function pastedImage(event) {
    const file = [...(event.clipboardData ? event.clipboardData.files : [])][0];
    if (!file || isNote()) return;
    event.preventDefault();
    attachImage(file);
  }

  // Prepared responses: type to search, arrows and Enter to pick; the pick is sent as a
  // prepared response (the server renders the account's version in the chosen language).
  async function searchPrepared() {
    const q = $("c-prepared-q").value.trim();
    const results = $("c-prepared-results");
    if (!state.convo) return;
    let data;
    try {
      data = await api("GET", urlWith(cfg.api.prepared, {
        q, account: state.convo.handling_account.id, language: $("c-lang").value || state.convo.language,
      }));
    } catch (error) {
      return;
    }
    // A late answer must not reopen the list once the agent picked or moved on.
    if (document.activeElement !== $("c-prepared-q")) return;
    const items = data.results || data;
    results.hidden = false;
    results.replaceChildren(
      ...(items.length ? items.map((p, i) =>
        el("li", {
          "data-key": p.key,
          "data-testid": "prepared-item",
          "aria-selected": String(i === 0),
          onmousedown: (e) => { e.preventDefault(); choosePrepared(p); },
        }, [el("div", { text: `${p.title} (${p.key})` }), el("div", { class: "c-pbody", text: p.body })]))
        : [el("li", { class: "c-empty", text: T.no_prepared })]),
    );
    results._items = items;
  }

  function choosePrepared(p) {
    clearTimeout(timers.prepared);
    state.chosenPrepared = p;
    $("c-prepared-results").hidden = true;
    $("c-prepared-q").value = "";
    $("c-text").value = "";
    $("c-text").placeholder = p.body;
    $("c-chosen").textContent = fmt(T.prepared_chosen, { title: p.title });
    renderReplyBox();
    $("c-text").focus();
  }

  function preparedKeys(event) {
    const results = $("c-prepared-results");
    const items = results._items || [];
    const nodes = [...results.querySelectorAll("[data-key]")];
    let index = nodes.findIndex((n) => n.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      index = Math.max(0, Math.min(nodes.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)));
      nodes.forEach((n, i) => n.setAttribute("aria-selected", String(i === index)));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (items[index]) choosePrepared(items[index]);
    } else if (event.key === "Escape") {
      results.hidden = true;
    }
  }

  // -- private consultation: my mentions, the live toast, @-mentions in a note ----------

  async function loadMentions() {
    const mine = ticket("mentions");
    let data;
    try {
      data = await api("GET", urlWith(cfg.api.mentions, { page_size: 100 }));
    } catch (error) {
      return;
    }
    if (mine !== issued.mentions) return;
    state.mentions = data.results || data;
    renderBoxes();
    renderMentionEnd();
    if (state.box === "mentioned") {
      // One row per conversation (j / k step through them), newest mention first.
      const seen = new Set();
      state.list = state.mentions.filter((m) => !seen.has(m.conversation) && seen.add(m.conversation))
        .map((m) => ({ id: m.conversation }));
      renderList();
    }
  }

  function renderMentioned() {
    const list = $("c-list");
    const rows = state.list.map((row) => state.mentions.find((m) => m.conversation === row.id)).filter(Boolean);
    if (!rows.length) {
      list.replaceChildren(el("li", { class: "c-empty", "data-testid": "empty-box", text: T.empty_box }));
      return;
    }
    list.replaceChildren(...rows.map((m) => el("li", {
      "data-id": m.conversation,
      "data-testid": "mention-item",
      "aria-selected": String(m.conversation === state.currentId),
      tabindex: "-1",
      onclick: () => openConversation(m.conversation),
    }, [
      el("div", { class: "c-row1" }, [el("span", { class: "c-name", text: m.display_name })]),
      el("div", { class: "c-mentioned-by", text: fmt(T.mentioned_by, { name: m.by || T.a_colleague }) }),
      el("div", { class: "c-snip" }, [
        el("span", { class: "c-snip-text", text: m.snippet }),
        el("time", { class: "c-snip-time", datetime: m.created_at, title: zonedTimeOf(m.created_at), text: timeOf(m.created_at) }),
      ]),
    ])));
  }

  // A colleague mentioned me: a toast says who and what, with a way to the conversation
  // (which I may read now, while the mention is open).
  function mentionedLive(event) {
    $("c-mention-toast-text").textContent = fmt(T.mentioned_you, { name: event.by || T.a_colleague, text: event.snippet });
    $("c-mention-toast").dataset.conversation = String(event.conversation_id);
    $("c-mention-toast").hidden = false;
    loadMentions();
    soon("list", refreshLists);
  }

  function openMentioned() {
    const id = Number($("c-mention-toast").dataset.conversation);
    $("c-mention-toast").hidden = true;
    if (id) openConversation(id);
  }

  function openMention() {
    return state.mentions.find((m) => m.conversation === state.currentId) || null;
  }

  function renderMentionEnd() {
    $("c-mention-end").hidden = !state.convo || !openMention();
  }

  // Done reading: the mention ends, and the conversation goes unless I see it anyway.
  async function endMention() {
    const mention = openMention();
    if (!mention) return;
    try {
      await api("POST", `${cfg.api.mentions}${mention.id}/end/`, {});
    } catch (error) {
      toast(error.message);
      return;
    }
    toast(T.mention_ended, true);
    state.mentions = state.mentions.filter((m) => m.id !== mention.id);
    renderMentionEnd();
    refreshLists();
    loadMentions();
    loadConversation();
  }

  // "@" in a private note offers the brand's colleagues; the chosen ones whose "@Name" is
  // still in the text when it is sent are mentioned.
  function mentionQuery() {
    const text = $("c-text");
    const before = text.value.slice(0, text.selectionStart);
    const match = /(?:^|\s)@([^\s@]*)$/.exec(before);
    return match ? match[1] : null;
  }

  async function suggestMentions() {
    const results = $("c-mention-results");
    const query = isNote() && state.convo ? mentionQuery() : null;
    if (query === null) {
      results.hidden = true;
      return;
    }
    if (state.candidates === null) {
      try {
        state.candidates = await api("GET", cfg.api.mention_candidates);
      } catch (error) {
        return;
      }
    }
    const q = query.toLowerCase();
    const found = state.candidates.filter((c) => c.display_name.toLowerCase().includes(q)).slice(0, 8);
    results._items = found;
    results.hidden = false;
    results.replaceChildren(...(found.length ? found.map((c, i) => el("li", {
      "data-id": c.id,
      "data-testid": "mention-candidate",
      role: "option",
      "aria-selected": String(i === 0),
      onmousedown: (e) => { e.preventDefault(); pickMention(c); },
    }, [c.display_name]))
      : [el("li", { class: "c-empty", text: T.no_colleague })]));
  }

  function pickMention(candidate) {
    const text = $("c-text");
    const caret = text.selectionStart;
    const before = text.value.slice(0, caret).replace(/@([^\s@]*)$/, `@${candidate.display_name} `);
    text.value = before + text.value.slice(caret);
    text.setSelectionRange(before.length, before.length);
    state.noteMentions.set(candidate.id, candidate.display_name);
    $("c-mention-results").hidden = true;
    text.focus();
    renderReplyBox();
  }

  function mentionKeys(event) {
    const results = $("c-mention-results");
    if (results.hidden || event.ctrlKey || event.metaKey) return;
    const items = results._items || [];
    const nodes = [...results.querySelectorAll("[data-id]")];
    let index = nodes.findIndex((n) => n.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      index = Math.max(0, Math.min(nodes.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)));
      nodes.forEach((n, i) => n.setAttribute("aria-selected", String(i === index)));
    } else if ((event.key === "Enter" || event.key === "Tab") && items[index]) {
      event.preventDefault();
      pickMention(items[index]);
    } else if (event.key === "Escape") {
      event.stopPropagation();
      results.hidden = true;
    }
  }

  function noteBody(text) {
    const mentions = [...state.noteMentions].filter(([, name]) => text.includes(`@${name}`)).map(([id]) => id);
    return mentions.length ? { kind: "note", text, mentions } : { kind: "note", text };
  }

  // -- the timeline: routing decisions and transfers, beside the thread -------------------

  function showTab(tab) {
    state.tab = tab;
    $("c-tab-thread").setAttribute("aria-selected", String(tab === "thread"));
    $("c-tab-timeline").setAttribute("aria-selected", String(tab === "timeline"));
    $("c-thread").hidden = tab !== "thread";
    $("c-timeline").hidden = tab !== "timeline";
    if (tab === "timeline") loadTimeline();
  }

  async function loadTimeline() {
    const id = state.currentId;
    if (!id) return;
    const mine = ticket("timeline");
    let data;
    try {
      data = await api("GET", conversationUrl(id, "timeline"));
    } catch (error) {
      return;
    }
    if (mine !== issued.timeline || id !== state.currentId) return;
    state.timeline = data;
    renderTimeline();
  }

  function renderTimeline() {
    const list = $("c-timeline");
    list.dataset.shown = String(state.currentId || "");
    if (!state.currentId) {
      list.replaceChildren();
      return;
    }
    if (!state.timeline.length) {
      list.replaceChildren(el("li", { class: "c-empty", text: T.timeline_empty }));
      return;
    }
    list.replaceChildren(...state.timeline.map((entry) => el("li", {
      class: entry.type, "data-testid": "timeline-entry", "data-type": entry.type, "data-kind": entry.kind,
    }, [
      el("time", { datetime: entry.at, title: zonedTimeOf(entry.at), text: timeOf(entry.at) }),
      el("span", { class: "c-sentence", text: entry.sentence }),
    ])));
  }

  // -- actions ---------------------------------------------------------------------------

  async function act(method, url, body, after) {
    try {
      const data = await api(method, url, body);
      toast("");
      if (after) await after(data);
    } catch (error) {
      toast(error.message);
    }
    refreshLists();
  }

  function assignToMe() {
    if (!state.convo) return;
    act("POST", conversationUrl(state.convo.id, "assign"), { assignee: cfg.membership_id }, loadConversation);
  }

  function claimNext() {
    act("POST", cfg.api.claim_next, {}, async (data) => {
      if (data && data.id) {
        state.box = "mine";
        renderBoxes();
        await loadList();
        await openConversation(data.id);
      } else {
        toast(T.nothing_waiting);
      }
    });
  }

  function resolve() {
    if (!state.convo || state.convo.status === "resolved") return;
    act("POST", conversationUrl(state.convo.id, "resolve"), {}, loadConversation);
  }

  function snooze() {
    const minutes = Number($("c-snooze").value);
    $("c-snooze").value = "";
    if (!state.convo || !minutes) return;
    act("POST", conversationUrl(state.convo.id, "snooze"), { minutes }, loadConversation);
  }

  // -- transfer -----------------------------------------------------------------------------

  // The dialog hands the open conversation to an agent, a team, or another account of the
  // brand (optionally one of its teams or agents, by one of the paths that work there),
  // always with a note. The choices come from the API (the brand's accounts, teams and
  // agents with their presence and load, wider than the member's own queues), loaded each
  // time it opens; the paths to an account come from its own question.
  function transferOpen() {
    return !$("c-transfer").hidden;
  }

  function placeLabel(name, current) {
    return current ? fmt(T.current, { name }) : name;
  }

  // The account the conversation would be handled by: the one chosen, else its own.
  function transferAccount(convo) {
    const chosen = $("c-transfer-account").value;
    return chosen ? Number(chosen) : convo.handling_account.id;
  }

  function serves(accounts, accountId) {
    return accountId === null || !accounts.length || accounts.includes(accountId);
  }

  function agentLabel(agent) {
    const presence = T[`presence_${agent.presence}`] || agent.presence;
    const load = fmt(T.agent_load, { load: agent.load, capacity: agent.capacity });
    return [agent.name, presence, load].join(" · ");
  }

  // Teams and agents that can take it: all of the brand's, or with another account
  // chosen, those who answer for it.
  function fillTransferChoices(convo) {
    const targets = state.transferTargets;
    const accountId = $("c-transfer-account").value ? transferAccount(convo) : null;
    const names = new Map(targets.accounts.map((a) => [a.id, a.name]));
    const team = $("c-transfer-team");
    const keptTeam = team.value;
    team.replaceChildren(el("option", { value: "", text: T.transfer_no_team }));
    fillSelect(team, targets.teams.filter((t) => serves(t.accounts, accountId)).map((t) => {
      const covers = t.accounts.map((id) => names.get(id)).filter(Boolean);
      const name = covers.length ? `${t.name} (${covers.join(", ")})` : t.name;
      return { id: t.id, name: placeLabel(name, convo.team && t.id === convo.team.id) };
    }));
    if ([...team.options].some((o) => o.value === keptTeam)) team.value = keptTeam;
    const agent = $("c-transfer-agent");
    agent.replaceChildren(el("option", { value: "", text: T.transfer_no_agent }));
    for (const a of targets.agents) {
      if (a.id === cfg.membership_id || !serves(a.accounts, accountId)) continue;
      const full = a.load >= a.capacity;
      agent.append(el("option", {
        value: a.id, disabled: full, "data-presence": a.presence,
        text: full ? fmt(T.agent_full, { agent: agentLabel(a) }) : agentLabel(a),
      }));
    }
  }

  // The ways to reach another account (relay, continue, invite), each possible or not
  // with why; the default is chosen. Within the account there is nothing to choose.
  async function loadTransferPaths(convo) {
    const box = $("c-transfer-paths");
    const list = $("c-transfer-path-list");
    const chosen = $("c-transfer-account").value;
    list.replaceChildren();
    box.hidden = true;
    if (!chosen || Number(chosen) === convo.handling_account.id) return;
    let paths;
    try {
      paths = await api("GET", urlWith(conversationUrl(convo.id, "transfer-paths"), { account: chosen }));
    } catch (error) {
      // Without the answer, relay is the path that always works.
      paths = [{ path: "relay", possible: true, default: true, why: "" }];
    }
    if ($("c-transfer-account").value !== chosen || state.convo !== convo) return;
    list.replaceChildren(...paths.map((p) => el("label", { class: "c-transfer-path" }, [
      el("input", {
        type: "radio", name: "c-transfer-path", value: p.path, "data-testid": `transfer-path-${p.path}`,
        disabled: !p.possible, checked: p.possible && p.default,
      }),
      el("span", { text: T[`path_${p.path}`] || p.path }),
      p.why ? el("small", { class: "muted", text: p.why }) : null,
    ])));
    box.hidden = false;
  }

  async function openTransfer() {
    const convo = state.convo;
    if (!convo || $("c-transfer-open").disabled || transferOpen()) return;
    let targets;
    try {
      targets = await api("GET", cfg.api.transfer_targets);
    } catch (error) {
      toast(error.message);
      return;
    }
    // Moved on while the targets loaded, or a second press opened it already.
    if (state.convo !== convo || transferOpen()) return;
    state.transferTargets = targets;
    const account = $("c-transfer-account");
    account.replaceChildren(el("option", { value: "", text: T.transfer_keep_account }));
    fillSelect(account, targets.accounts.map((a) => ({
      id: a.id, name: placeLabel(a.name, a.id === convo.handling_account.id),
    })));
    $("c-transfer-team").replaceChildren();
    fillTransferChoices(convo);
    $("c-transfer-paths").hidden = true;
    $("c-transfer-path-list").replaceChildren();
    $("c-transfer-note").value = "";
    state.transferOpener = document.activeElement;
    $("c-transfer").hidden = false;
    toast("");
    account.focus();
  }

  function transferAccountChanged() {
    const convo = state.convo;
    if (!convo || !state.transferTargets) return;
    fillTransferChoices(convo);
    loadTransferPaths(convo);
  }

  function closeTransfer() {
    if (!transferOpen()) return;
    $("c-transfer").hidden = true;
    const opener = state.transferOpener;
    state.transferOpener = null;
    // Back where the agent was; if that is gone or off (the conversation left), the next
    // useful control.
    const back = opener && document.contains(opener) && !opener.disabled ? opener : $("c-claim");
    back.focus();
  }

  async function submitTransfer(event) {
    if (event) event.preventDefault();
    const convo = state.convo;
    const confirm = $("c-transfer-confirm");
    if (!convo || confirm.disabled) return;
    const account = $("c-transfer-account").value;
    const team = $("c-transfer-team").value;
    const agent = $("c-transfer-agent").value;
    if (!account && !team && !agent) {
      toast(T.transfer_choose);
      $("c-transfer-account").focus();
      return;
    }
    if (!$("c-transfer-note").value.trim()) {
      toast(T.transfer_note_required);
      $("c-transfer-note").focus();
      return;
    }
    const path = document.querySelector("input[name=c-transfer-path]:checked");
    const body = {
      account: account ? Number(account) : null,
      team: team ? Number(team) : null,
      agent: agent ? Number(agent) : null,
      note: $("c-transfer-note").value,
    };
    if (account && path) body.path = path.value;
    const handed = handedTo(convo, body);
    confirm.disabled = true;
    let data;
    try {
      data = await api("POST", conversationUrl(convo.id, "transfer"), body);
    } catch (error) {
      // The dialog stays open with the agent's choice, to correct it or cancel.
      toast(error.message);
      return;
    } finally {
      confirm.disabled = false;
    }
    // No content: it left this member's queues (the moved_away event says the same).
    if (data === null && state.currentId === convo.id) closeConversation();
    closeTransfer();
    // Said last: what a moved_away event may have said meanwhile is the same fact. What
    // the agent must know about the hand-over (no reply window there) comes first.
    toast(data && data.transfer_notice ? `${handed} ${data.transfer_notice}` : handed, true);
    refreshLists();
    loadTransfers();
    if (data !== null) await loadConversation();
  }

  // The confirmation of a transfer: where it went (the account that handles it now, the
  // team, the agent); the note always goes with it.
  function handedTo(convo, body) {
    const targets = state.transferTargets || { accounts: [], teams: [], agents: [] };
    const find = (items, id) => (items.find((item) => item.id === id) || {}).name;
    const place = [
      body.account ? find(targets.accounts, body.account) : convo.handling_account.name,
      body.team ? find(targets.teams, body.team) : null,
      body.agent ? find(targets.agents || [], body.agent) : null,
    ].filter(Boolean).join(" · ");
    return fmt(T.handed_to_with_note, { place });
  }

  // "Hand to a <language> speaker": one choice, and the server finds the local team's
  // online speaker with room, else a central team that speaks it (or says nobody can).
  function handToSpeaker() {
    const select = $("c-speaker");
    const language = select.value;
    select.value = "";
    const convo = state.convo;
    if (!convo || !language) return;
    act("POST", conversationUrl(convo.id, "hand-to-speaker"), { language, note: "" }, async (data) => {
      toast(fmt(T.handed_to_speaker, { language: T[`speaker_${language}`] || language }), true);
      loadTransfers();
      if (data === null) {
        if (state.currentId === convo.id) closeConversation();
      } else {
        await loadConversation();
      }
    });
  }

  // -- transfers waiting for me, and those I sent --------------------------------------

  // Banners: each transfer waiting for my answer ("Transferred to you by Lily: <note>",
  // Accept / Decline with a reason), and each I sent, until I dismiss its answer. From the
  // REST API, re-read when a conversation is handed to me or taken, when I hand one on,
  // and when one I sent is answered (a `transfer` event), and after a resync.
  async function loadTransfers() {
    let incoming;
    let sent;
    try {
      [incoming, sent] = await Promise.all([
        api("GET", cfg.api.transfers),
        api("GET", urlWith(cfg.api.transfers, { sent: 1 })),
      ]);
    } catch (error) {
      return;
    }
    state.incoming = incoming || [];
    // Waiting ones as the server has them; answered ones stay until dismissed.
    for (const [id, t] of state.sent) if (t.status === "pending") state.sent.delete(id);
    for (const t of sent || []) state.sent.set(t.id, t);
    renderTransfers();
  }

  function transferPlace(t) {
    return [t.to_agent && t.to_agent.name, t.to_team && t.to_team.name, t.to_account && t.to_account.name]
      .filter(Boolean).join(" · ");
  }

  async function transferChanged(event) {
    let transfer;
    try {
      transfer = await api("GET", `${cfg.api.transfers}${event.transfer_id}/`);
    } catch (error) {
      transfer = null;
    }
    if (transfer && transfer.by && transfer.by.id === cfg.membership_id) {
      state.sent.set(transfer.id, transfer);
    }
    await loadTransfers();
    soon("list", refreshLists);
    if (touches(event)) soon("thread", loadConversation, 60);
  }

  function sentText(t) {
    const who = (t.decided_by && t.decided_by.name) || transferPlace(t);
    if (t.status === "pending") return fmt(T.transfer_waiting, { place: transferPlace(t) });
    if (t.status === "accepted") return fmt(T.transfer_accepted, { name: who });
    if (t.status === "declined") {
      return fmt(t.decline_reason ? T.transfer_declined_why : T.transfer_declined, { name: who, reason: t.decline_reason });
    }
    if (t.status === "expired") return fmt(T.transfer_expired, { place: transferPlace(t) });
    return fmt(T.transfer_status, { place: transferPlace(t), status: t.status });
  }

  function renderTransfers() {
    const box = $("c-transfers");
    const banners = state.incoming.map((t) => {
      const reason = el("input", { type: "text", class: "c-transfer-reason", "data-testid": "transfer-decline-reason", "aria-label": T.decline_reason, placeholder: T.decline_reason, maxlength: 255, hidden: true });
      const decline = el("button", {
        type: "button", class: "c-btn", "data-testid": "transfer-decline", text: T.decline,
        onclick: () => {
          if (reason.hidden) {
            reason.hidden = false;
            reason.focus();
            return;
          }
          answerTransfer(t, "decline", { reason: reason.value });
        },
      });
      reason.addEventListener("keydown", (e) => {
        e.stopPropagation();
        if (e.key === "Enter") answerTransfer(t, "decline", { reason: reason.value });
      });
      return el("div", { class: "c-transfer-banner", "data-testid": "transfer-banner", "data-id": t.id, "data-conversation": t.conversation, role: "status" }, [
        el("span", { class: "c-transfer-text", "data-testid": "transfer-banner-text", text: fmt(T.transferred_to_you, { name: (t.by && t.by.name) || T.a_colleague, note: t.note }) }),
        el("button", { type: "button", class: "c-btn", "data-testid": "transfer-open", text: T.open, onclick: () => openConversation(t.conversation) }),
        el("button", { type: "button", class: "button", "data-testid": "transfer-accept", text: T.accept, onclick: () => answerTransfer(t, "accept", {}) }),
        decline,
        reason,
      ]);
    });
    const sent = [...state.sent.values()].map((t) => el("div", {
      class: `c-transfer-sent is-${t.status}`, "data-testid": "transfer-sent", "data-id": t.id, "data-status": t.status, role: "status",
    }, [
      el("span", { "data-testid": "transfer-sent-text", text: sentText(t) }),
      t.status === "pending" ? null : el("button", {
        type: "button", class: "c-attachment-remove", "aria-label": T.dismiss, title: T.dismiss, text: "×",
        onclick: () => { state.sent.delete(t.id); renderTransfers(); },
      }),
    ]));
    box.replaceChildren(...banners, ...sent);
  }

  async function answerTransfer(t, answer, body) {
    try {
      await api("POST", `${cfg.api.transfers}${t.id}/${answer}/`, body);
    } catch (error) {
      toast(error.message);
      loadTransfers();
      return;
    }
    state.incoming = state.incoming.filter((other) => other.id !== t.id);
    renderTransfers();
    toast(answer === "accept" ? T.transfer_taken : T.transfer_sent_back, true);
    refreshLists();
    if (answer === "accept") {
      state.box = "mine";
      renderBoxes();
      await openConversation(t.conversation);
    } else if (state.currentId === t.conversation) {
      closeConversation();
    }
  }

  // A modal dialog: Escape closes it, Tab stays inside, and the console's single-key
  // shortcuts do not fire behind it.
  function transferKeys(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closeTransfer();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      submitTransfer(event);
    } else if (event.key === "Tab") {
      const focusable = [...$("c-transfer").querySelectorAll("select, textarea, button, input")]
        .filter((node) => !node.disabled && node.offsetParent !== null);
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
    event.stopPropagation();
  }

  function setPresence(presence) {
    state.presence = presence;
    $("c-presence").value = presence;
    send({ type: "presence", presence });
  }

  function refreshLists() {
    loadCounts();
    loadList();
    if (state.box !== "mentioned") loadMentions();
  }

  function reloadAll() {
    refreshLists();
    loadConversation();
    loadTransfers();
  }

  // -- the websocket ---------------------------------------------------------------------

  let socket = null;
  let attempts = 0;
  let pingTimer = null;
  let pongDue = null;

  function setConnection(status) {
    root.dataset.connection = status;
    $("c-conn").textContent = { online: T.live, connecting: T.connecting, offline: T.reconnecting }[status];
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    setConnection("connecting");
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}${cfg.ws}`);
    socket.addEventListener("open", () => {
      setConnection("online");
      // Tell the server what we last saw; it answers "resync" with what was missed.
      send({ type: "hello", since: state.lastEventAt });
      clearInterval(pingTimer);
      pingTimer = setInterval(ping, 20000);
    });
    socket.addEventListener("message", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      handle(data);
    });
    socket.addEventListener("close", () => {
      clearInterval(pingTimer);
      clearTimeout(pongDue);
      setConnection("offline");
      // Backoff with jitter, capped, so a restarted server is not stormed by every screen.
      const delay = Math.min(15000, 500 * 2 ** attempts) * (0.75 + Math.random() * 0.5);
      attempts += 1;
      setTimeout(connect, delay);
    });
  }

  function ping() {
    send({ type: "ping" });
    clearTimeout(pongDue);
    pongDue = setTimeout(() => socket && socket.close(), 10000);
  }

  // The open thread shows the customer's other conversations too (other accounts).
  function touches(event) {
    return Boolean(state.currentId) && (event.conversation_id === state.currentId ||
      state.messages.some((m) => m.conversation === event.conversation_id));
  }

  function handle(event) {
    if (event.at) state.lastEventAt = event.at;
    switch (event.type) {
      case "hello":
        attempts = 0;
        break;
      case "resync":
        state.lastEventAt = event.now;
        // Even the first: events between the page's first load and the socket joining
        // its groups reached no one.
        reloadAll();
        state.synced = true;
        break;
      case "overflow":
      case "gap":
        // Events for this screen were dropped (too slow a reader; a lost or skipped
        // message; Redis back after an outage): the database has them.
        setConnection("online");
        reloadAll();
        break;
      case "link":
        // The server lost Redis: the socket is up, but nothing flows until a "gap".
        setConnection("offline");
        break;
      case "pong":
        clearTimeout(pongDue);
        setConnection(event.live === false ? "offline" : "online");
        break;
      case "message":
        if (event.direction !== "note") {
          state.snippets[event.conversation_id] = { msg_type: event.msg_type || "text", snippet: event.snippet, at: event.at };
        }
        soon("list", refreshLists);
        if (touches(event)) soon("thread", loadConversation, 60);
        break;
      case "message.status":
        if (touches(event)) updateStatus(event);
        break;
      case "conversation":
        if (event.reason === "moved_away") {
          movedAway(event);
          break;
        }
        soon("list", refreshLists);
        if (touches(event)) soon("thread", loadConversation, 60);
        // Handed to my queue, or taken by a colleague: the banners follow.
        if (event.reason === "transferred" || event.reason === "assigned") soon("transfers", loadTransfers);
        break;
      case "transfer":
        transferChanged(event);
        break;
      case "mention":
        mentionedLive(event);
        break;
      case "presence":
        if (event.membership_id === cfg.membership_id) {
          state.presence = event.presence;
          $("c-presence").value = event.presence;
        }
        break;
      default:
        break;
    }
  }

  // Transferred where this member cannot see it: drop it now (the reload agrees), and
  // close it if it is open, saying why.
  function movedAway(event) {
    const id = event.conversation_id;
    delete state.snippets[id];
    state.list = state.list.filter((c) => c.id !== id);
    renderList();
    loadCounts();
    soon("list", loadList);
    if (state.currentId === id) {
      closeConversation();
      toast(T.moved_away);
    } else if (touches(event)) {
      soon("thread", loadConversation, 60);
    }
  }

  function updateStatus(event) {
    const message = state.messages.find((m) => m.id === event.message_id);
    if (!message) {
      soon("thread", loadConversation, 60);
      return;
    }
    message.status = event.status;
    message.errcode = event.errcode;
    message.error_reason = event.error_reason;
    renderThread();
  }

  // -- keyboard --------------------------------------------------------------------------

  function typing(target) {
    return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function step(delta) {
    if (!state.list.length) return;
    const index = state.list.findIndex((c) => c.id === state.currentId);
    const next = index === -1 ? 0 : Math.max(0, Math.min(state.list.length - 1, index + delta));
    openConversation(state.list[next].id);
  }

  function keys(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      // Anywhere in the reply box but the prepared-response search, whose Enter picks.
      if ($("c-reply").contains(event.target) && event.target !== $("c-prepared-q")) {
        sendReply(event);
      }
      return;
    }
    if (event.key === "Escape") {
      $("c-help").hidden = true;
      $("c-prepared-results").hidden = true;
      if (typing(event.target)) event.target.blur();
      return;
    }
    if (transferOpen()) return;
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const actions = {
      j: () => step(1),
      k: () => step(-1),
      r: () => $("c-text").focus(),
      i: chooseImage,
      n: claimNext,
      e: resolve,
      t: openTransfer,
      "?": () => { $("c-help").hidden = !$("c-help").hidden; },
    };
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  }

  // -- start -----------------------------------------------------------------------------

  function start() {
    $("c-text").dataset.placeholder = $("c-text").placeholder;
    renderBoxes();
    setupFilters();
    renderReplyBox();
    $("c-presence").value = state.presence;
    $("c-presence").addEventListener("change", (e) => setPresence(e.target.value));
    $("c-assign").addEventListener("click", assignToMe);
    $("c-claim").addEventListener("click", claimNext);
    $("c-resolve").addEventListener("click", resolve);
    $("c-snooze").addEventListener("change", snooze);
    $("c-reply").addEventListener("submit", sendReply);
    $("c-text").addEventListener("input", renderReplyBox);
    $("c-note").addEventListener("change", renderReplyBox);
    $("c-sign").addEventListener("change", (e) => {
      state.sign = e.target.checked;
      store(SIGN_KEY, state.sign ? "1" : "0");
    });
    $("c-transfer-open").addEventListener("click", openTransfer);
    $("c-transfer-account").addEventListener("change", transferAccountChanged);
    $("c-speaker").addEventListener("change", handToSpeaker);
    $("c-transfer-form").addEventListener("submit", submitTransfer);
    $("c-transfer-cancel").addEventListener("click", closeTransfer);
    $("c-transfer").addEventListener("keydown", transferKeys);
    // A click on the backdrop, outside the box, cancels as Escape does.
    $("c-transfer").addEventListener("click", (e) => { if (e.target === $("c-transfer")) closeTransfer(); });
    $("c-attach").addEventListener("click", chooseImage);
    $("c-image").addEventListener("change", (e) => attachImage(e.target.files[0]));
    $("c-attachment-remove").addEventListener("click", removeImage);
    $("c-text").addEventListener("paste", pastedImage);
    $("c-prepared-q").addEventListener("input", () => soon("prepared", searchPrepared, 150));
    $("c-prepared-q").addEventListener("focus", searchPrepared);
    $("c-prepared-q").addEventListener("blur", () => setTimeout(() => { $("c-prepared-results").hidden = true; }, 150));
    $("c-prepared-q").addEventListener("keydown", preparedKeys);
    $("c-help-close").addEventListener("click", () => { $("c-help").hidden = true; });
    document.addEventListener("keydown", keys);
    // The window's remaining time counts down on screen.
    setInterval(() => { if (state.convo) renderReplyBox(); }, 30000);
    // Due and overdue flags change with the clock, not with events.
    setInterval(() => { renderList(); renderDue(); }, 60000);
    $("c-tab-thread").addEventListener("click", () => showTab("thread"));
    $("c-tab-timeline").addEventListener("click", () => showTab("timeline"));
    $("c-mention-end").addEventListener("click", endMention);
    $("c-mention-toast-open").addEventListener("click", openMentioned);
    $("c-mention-toast-close").addEventListener("click", () => { $("c-mention-toast").hidden = true; });
    $("c-text").addEventListener("input", suggestMentions);
    $("c-text").addEventListener("keydown", mentionKeys);
    $("c-text").addEventListener("blur", () => setTimeout(() => { $("c-mention-results").hidden = true; }, 150));
    $("c-note").addEventListener("change", suggestMentions);
    $("c-note").parentElement.title = T.mention_hint;
    refreshLists();
    connect();
    // The customer page's timeline links here as /console/#conversation-<id>.
    const linked = /^#conversation-(\d+)$/.exec(window.location.hash);
    if (linked) openConversation(Number(linked[1]));
  }

  start();
})();
