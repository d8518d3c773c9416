"use strict";
// Shared by every console page: reading and writing the API as the
// logged-in staff member (the session cookie; no request names who acts),
// the live stream, and the Chinese names of states. No framework, nothing
// to build.

const names = {
  agent: { available: "空闲", on_call: "通话中", wrap_up: "话后处理", paused: "暂停", offline: "离线" },
  call: { ringing: "等待接听", answered: "通话中", completed: "已接通", missed: "未接" },
  missed: { no_answer: "无人接听", no_agent: "无坐席", abandoned: "来电放弃", after_hours: "非工作时间", failed: "系统故障",
    service_down: "服务中断（应急接听）", interrupted: "通话中断" },
  line: { hotline: "热线", complaint: "投诉" },
  callback: { pending: "待回拨", dialing: "回拨中", connected: "已回访", resolved: "市民已来电",
    unreachable: "无法接通", invalid_number: "空号", closed: "已关闭" },
  promise: { open: "待答复", overdue: "已超时", escalated: "已上报", fulfilled: "已答复", closed: "已关闭" },
  violation: { callback_overdue: "回访超时", promise_overdue: "承诺答复超时", ring_declined: "拒接来电",
    ring_not_answered: "振铃未接", referral_loop: "来回转办" },
  disposition: { confirmed: "已确认", dismissed: "已驳回" },
  leg: { ringing: "振铃中", answered: "接听", lost: "抢接落后", cancelled: "已取消", no_answer: "无人接听",
    busy: "拒接/忙", failed: "呼叫失败", completed: "通话结束" },
  referral: { ringing: "转接振铃", answered: "已接转", handover: "未接，已交办", cancelled: "已取消" },
  rating: { 0: "未评价", 1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意" },
};

const me = document.body.dataset.me;
const roles = (document.body.dataset.roles || "").split(",");
const isSupervisor = roles.includes("supervisor");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e[k] = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function cell(text, cls) {
  return el("td", { class: cls }, text ?? "");
}

function button(label, enabled, onclick, cls) {
  return el("button", { type: "button", disabled: !enabled, onclick, class: cls }, label);
}

function time(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "";
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString("zh-CN", { hour12: false }) : "";
}

// duration writes seconds as 1分05秒.
function duration(sec) {
  sec = Math.max(0, Math.round(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  if (h) return `${h}时${String(m).padStart(2, "0")}分`;
  if (m) return `${m}分${String(s).padStart(2, "0")}秒`;
  return `${s}秒`;
}

let agentNames = {};

function agentLabel(id) {
  if (!id) return "未分配";
  return agentNames[id] ? `${agentNames[id]}（${id}）` : id;
}

async function loadAgentNames() {
  const agents = (await api("/api/v1/agents")).agents ?? [];
  agentNames = Object.fromEntries(agents.map((a) => [a.id, a.name]));
  return agents;
}

// toLogin leaves for the login page when the session has ended.
function toLogin(resp) {
  if (resp.status === 401) {
    location.href = "/login.html?next=" + encodeURIComponent(location.pathname + location.search);
    return true;
  }
  return false;
}

// api GETs an API path; an error answer throws with the API's message.
async function api(path) {
  const resp = await fetch(path, { credentials: "same-origin" });
  if (toLogin(resp)) throw new Error("请重新登录");
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error ?? resp.status + " " + resp.statusText);
  return body;
}

// send POSTs a JSON body; it returns the answer, or shows the API's error
// and returns null.
async function send(path, body, method = "POST") {
  try {
    const resp = await fetch(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}),
      credentials: "same-origin" });
    if (toLogin(resp)) return null;
    const out = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      alert("操作失败：" + (out.error ?? resp.status + " " + resp.statusText));
      return null;
    }
    return out;
  } catch (e) {
    alert("操作失败：" + e);
    return null;
  }
}

// fill replaces a table's rows, or shows one row saying there are none.
function fill(id, rows) {
  const table = document.getElementById(id);
  const tbody = table.tBodies[0];
  if (rows.length === 0) {
    rows = [el("tr", {}, el("td", { class: "empty", colspan: table.tHead.rows[0].cells.length }, "暂无"))];
  }
  tbody.replaceChildren(...rows.map((r) => (r instanceof HTMLElement ? r : el("tr", {}, ...r))));
}

// section runs a loader for one table; its failure is shown in the table
// and leaves the others alone.
async function section(id, loader) {
  try {
    await loader();
  } catch (e) {
    const table = document.getElementById(id);
    table.tBodies[0].replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: table.tHead.rows[0].cells.length }, "无法加载：" + e.message)));
  }
}

// live calls refresh(topics) now and whenever the server says something
// of topics changed; one stream per tab. After a drop the browser
// reconnects by itself; when it gives up (the server refused), the page
// checks the login and opens a new stream, backing off. Every (re)connect
// reads everything again, so nothing is missed while the stream was down.
function live(topics, refresh) {
  const badge = document.getElementById("live");
  badge.hidden = false;
  let timer = null, pending = new Set(), backoff = 1000;
  const run = () => {
    timer = null;
    const t = [...pending];
    pending = new Set();
    refresh(t);
  };
  // Changes come in bursts: one refresh per 300 ms at most.
  const schedule = (list) => {
    list.forEach((t) => pending.add(t));
    if (!timer) timer = setTimeout(run, 300);
  };
  const open = () => {
    const es = new EventSource("/api/v1/events");
    window.hotlineStream = es;
    es.addEventListener("hello", () => {
      backoff = 1000;
      badge.textContent = "实时";
      badge.className = "badge ok";
      badge.dataset.state = "live";
      schedule(topics);
    });
    es.addEventListener("change", (ev) => {
      const changed = JSON.parse(ev.data).topics.filter((t) => topics.includes(t));
      if (changed.length) schedule(changed);
    });
    es.onerror = async () => {
      badge.textContent = "重新连接中…";
      badge.className = "badge bad";
      badge.dataset.state = "reconnecting";
      if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      const resp = await fetch("/api/v1/session", { credentials: "same-origin" }).catch(() => null);
      if (resp && toLogin(resp)) return;
      setTimeout(open, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  };
  open();
}

document.getElementById("logout")?.addEventListener("click", async () => {
  await fetch("/api/v1/session", { method: "DELETE", credentials: "same-origin" }).catch(() => {});
  location.href = "/login.html";
});
