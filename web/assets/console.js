"use strict";
// The console polls the JSON API; no framework, nothing to build. It acts
// as the staff member logged in (the session cookie): no request names who
// acts. Without a session every API answer is 401, and the console goes to
// the login page.
const stateNames = { available: "空闲", on_call: "通话中", wrap_up: "话后处理", paused: "暂停", offline: "离线",
  ringing: "振铃", answered: "通话中", completed: "已接通", missed: "未接" };
const reasonNames = { no_answer: "无人接听", no_agent: "无坐席", abandoned: "来电放弃", after_hours: "非工作时间", failed: "系统故障" };
const callbackStateNames = { pending: "待回拨", dialing: "回拨中", connected: "已回访", resolved: "市民已来电",
  unreachable: "无法接通", invalid_number: "空号", closed: "已关闭" };
const promiseStateNames = { open: "待答复", escalated: "已上报", fulfilled: "已答复", closed: "已关闭" };
const violationNames = { callback_overdue: "回访超时", promise_overdue: "承诺答复超时", ring_declined: "拒接来电",
  ring_not_answered: "振铃未接", referral_loop: "来回转办" };
// The callbacks section shows the tasks that still need someone (open, or
// unreachable / invalid-number and waiting for a supervisor), the promises
// section the unfinished ones: the server's state vocabulary says which
// states those are (?state=unfinished), the page does not.

let agentNames = {}; // id → name, from the last agent list

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (cls) td.className = cls;
  return td;
}

function button(label, enabled, onclick) {
  const b = document.createElement("button");
  b.textContent = label;
  b.disabled = !enabled;
  b.onclick = onclick;
  return b;
}

function actions(...buttons) {
  const td = document.createElement("td");
  buttons.forEach((b, i) => td.append(...(i ? [" ", b] : [b])));
  return td;
}

// fill replaces a table body's rows; a row is a list of cells or a <tr>.
function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((row) => {
    if (row instanceof HTMLElement) return row;
    const tr = document.createElement("tr");
    tr.append(...row);
    return tr;
  }));
}

function time(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "";
}

function agentLabel(id) {
  if (!id) return "未分配";
  return agentNames[id] ? `${agentNames[id]}（${id}）` : id;
}

const roleNames = { agent: "坐席", supervisor: "督察", admin: "管理员" };

// toLogin leaves for the login page when the session has ended.
function toLogin(resp) {
  if (resp.status === 401) {
    location.href = "/login.html";
    return true;
  }
  return false;
}

// load GETs an API path; an error answer throws with the API's message.
async function load(path) {
  const resp = await fetch(path, { credentials: "same-origin" });
  if (toLogin(resp)) throw new Error("请重新登录");
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error ?? resp.status + " " + resp.statusText);
  return body;
}

// show fills table id with the rows rowsOf resolves to, or one row saying
// why it cannot; one section failing leaves the others alone.
async function show(id, rowsOf) {
  const tbody = document.querySelector(`#${id} tbody`);
  try {
    const rows = await rowsOf();
    if (rows.length === 0) rows.push([cell("暂无", "empty")]);
    fill(tbody, rows);
  } catch (e) {
    fill(tbody, [[cell("无法加载：" + e.message, "empty")]]);
  }
  const only = tbody.rows.length === 1 && tbody.rows[0].cells.length === 1 ? tbody.rows[0].cells[0] : null;
  if (only) only.colSpan = document.querySelectorAll(`#${id} thead th`).length;
}

// post sends a JSON body, shows the API's error if any, and refreshes.
async function post(path, body) {
  try {
    const resp = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}),
      credentials: "same-origin" });
    if (toLogin(resp)) return;
    if (!resp.ok) {
      const err = await resp.json().catch(() => ({}));
      alert("操作失败：" + (err.error ?? resp.status + " " + resp.statusText));
    }
  } catch (e) {
    alert("操作失败：" + e);
  }
  refresh();
}

function pause(a) {
  const reason = prompt(`暂停 ${a.name}（${a.id}），原因（1–200 字）：`, "");
  if (reason === null) return; // cancelled
  post(`/api/v1/agents/${encodeURIComponent(a.id)}/pause`, { reason });
}

function resume(a) {
  post(`/api/v1/agents/${encodeURIComponent(a.id)}/resume`);
}

function dialNow(t) {
  post(`/api/v1/callbacks/${t.id}/dial`);
}

function acknowledge(t) {
  const note = prompt(`确认回访任务 ${t.number}（${callbackStateNames[t.state]}），备注（可空，最多 500 字）：`, "");
  if (note === null) return; // cancelled
  post(`/api/v1/callbacks/${t.id}/acknowledge`, { note });
}

function replyCall(p) {
  post(`/api/v1/promises/${p.id}/reply-call`);
}

function fulfil(p) {
  const note = prompt(`办结承诺 ${p.number}「${p.summary}」，答复情况及凭证（必填，最多 2000 字）：`, "");
  if (note === null) return; // cancelled
  if (!note.trim()) {
    alert("办结须填写答复情况及凭证。");
    return;
  }
  post(`/api/v1/promises/${p.id}/fulfil`, { note });
}

function dispose(v, disposition) {
  const what = `${violationNames[v.kind] ?? v.kind}（${agentLabel(v.agent_id)}）`;
  const reason = disposition === "dismissed"
    ? prompt(`驳回违规记录 ${what}，原因（必填，最多 500 字）：`, "")
    : prompt(`确认违规记录 ${what}，说明（可空，最多 500 字）：`, "");
  if (reason === null) return; // cancelled
  if (disposition === "dismissed" && !reason.trim()) {
    alert("驳回须填写原因。");
    return;
  }
  post(`/api/v1/violations/${v.id}/disposition`, { disposition, reason });
}

function agentRow(a) {
  return [cell(a.id), cell(a.name), cell(a.endpoint), cell(a.department),
    cell(stateNames[a.state] ?? a.state, "state-" + a.state), cell(a.pause_reason),
    actions(button("暂停", a.state !== "paused", () => pause(a)), button("恢复", a.state !== "available", () => resume(a)))];
}

function callRow(c) {
  // Durations are known once the call is answered (wait) or ended (talk); "…" while under way.
  const wait = c.state === "ringing" ? "…" : c.wait_seconds.toFixed(1);
  const talk = c.state === "answered" ? "…" : c.answered_at ? c.talk_seconds.toFixed(1) : "";
  return [cell(new Date(c.arrived_at).toLocaleTimeString("zh-CN")), cell(c.caller_number || c.caller_raw),
    cell(stateNames[c.state] ?? c.state, "state-" + c.state), cell(reasonNames[c.missed_reason] ?? c.missed_reason ?? ""),
    cell(c.first_responsible_agent), cell(wait, "num"), cell(talk, "num")];
}

function callbackRow(t) {
  const needsAck = t.state === "unreachable" || t.state === "invalid_number";
  const buttons = [button("立即回拨", t.state === "pending", () => dialNow(t))];
  if (needsAck) buttons.push(button("确认", true, () => acknowledge(t)));
  const tr = document.createElement("tr");
  if (t.overdue) tr.className = "overdue";
  tr.append(cell(t.number), cell(t.missed_count, "num"),
    cell(time(t.deadline) + (t.overdue ? "（已超时）" : ""), t.overdue ? "overdue" : ""),
    cell(agentLabel(t.agent_id)), cell(callbackStateNames[t.state] ?? t.state, "state-" + t.state),
    cell(t.attempts, "num"), actions(...buttons));
  return tr;
}

function promiseRow(p) {
  const extended = Date.parse(p.original_deadline) !== Date.parse(p.deadline);
  const tr = document.createElement("tr");
  if (p.overdue) tr.className = "overdue";
  tr.append(cell(p.number), cell(p.summary), cell(agentLabel(p.agent_id)),
    cell(time(p.deadline) + (p.overdue ? "（已超时）" : ""), p.overdue ? "overdue" : ""),
    cell(extended ? time(p.original_deadline) : ""), cell(promiseStateNames[p.state] ?? p.state, "state-" + p.state),
    actions(button("答复来电", true, () => replyCall(p)), button("办结", true, () => fulfil(p))));
  return tr;
}

function violationRow(v) {
  const about = [v.call_id && `来电 ${v.call_id}`, v.task_id && `回访任务 #${v.task_id}`, v.promise_id && `承诺 #${v.promise_id}`]
    .filter(Boolean).join("，");
  return [cell(time(v.at)), cell(agentLabel(v.agent_id)), cell(violationNames[v.kind] ?? v.kind), cell(about), cell(v.detail),
    actions(button("确认", true, () => dispose(v, "confirmed")), button("驳回", true, () => dispose(v, "dismissed")))];
}

async function callbackRows() {
  const list = await load("/api/v1/callbacks?state=unfinished&limit=100"); // earliest deadline first
  return list.callbacks.map(callbackRow);
}

async function promiseRows() {
  const list = await load("/api/v1/promises?state=unfinished&limit=100");
  return list.promises.map(promiseRow);
}

async function refresh() {
  try {
    const ready = await fetch("/readyz").then((r) => r.json());
    const badge = document.getElementById("ready");
    badge.textContent = ready.ready ? "就绪 ready" : "未就绪 not ready";
    badge.className = "badge " + (ready.ready ? "ok" : "bad");
  } catch (e) {
    console.error(e);
  }
  await show("agents", async () => {
    const agents = (await load("/api/v1/agents")).agents ?? [];
    agentNames = Object.fromEntries(agents.map((a) => [a.id, a.name]));
    return agents.map(agentRow);
  });
  await Promise.all([
    show("callbacks", callbackRows),
    show("promises", promiseRows),
    show("violations", async () => (await load("/api/v1/violations?undisposed=true&limit=50")).violations.map(violationRow)),
    show("calls", async () => (await load("/api/v1/calls?limit=20")).calls.map(callRow)),
  ]);
}

// whoAmI shows who is logged in, or goes to the login page.
async function whoAmI() {
  const resp = await fetch("/api/v1/session", { credentials: "same-origin" });
  if (toLogin(resp)) return false;
  const { user } = await resp.json();
  const roles = (user.roles ?? []).map((r) => roleNames[r] ?? r).join("、");
  document.getElementById("who").textContent = `${user.name}（${user.id}，${roles}）`;
  return true;
}

document.getElementById("logout").onclick = async () => {
  await fetch("/api/v1/session", { method: "DELETE", credentials: "same-origin" }).catch(() => {});
  location.href = "/login.html";
};

whoAmI().then((ok) => {
  if (!ok) return;
  refresh();
  setInterval(refresh, 2000);
});
