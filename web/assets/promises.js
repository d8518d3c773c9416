"use strict";
// The promise ledger (6.2): every promise with its deadline and state; a
// supervisor extends, closes, and decides the owners' extension requests.
const form = document.getElementById("filters");
const params = new URLSearchParams(location.search);
form.state.value = params.get("state") ?? "";
form.agent.value = params.get("agent") ?? "";
// The vocabulary's words: unfinished is open or escalated; overdue is
// unfinished past the deadline (GET /api/v1/promises?state=).
const unfinished = ["open", "escalated"];
let byID = {};

form.onsubmit = (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams();
  if (form.state.value) q.set("state", form.state.value);
  if (form.agent.value.trim()) q.set("agent", form.agent.value.trim());
  history.pushState(null, "", "?" + q);
  load();
};

async function extend(p) {
  const def = new Date(Date.parse(p.deadline) + 86400000).toISOString().slice(0, 16);
  const when = prompt(`延长「${p.summary}」的答复时限至（YYYY-MM-DDTHH:MM，本地时间）：`, def);
  if (when === null) return;
  const deadline = new Date(when);
  if (isNaN(deadline)) return alert("时间格式不对，例如 2026-12-01T17:00");
  const reason = prompt("延期理由（必填）：", "");
  if (reason === null) return;
  if (await send(`/api/v1/promises/${p.id}/extend`, { deadline: deadline.toISOString(), reason })) load();
}

async function closePromise(p) {
  const reason = prompt(`关闭承诺「${p.summary}」，原因（必填）：`, "");
  if (reason === null) return;
  if (await send(`/api/v1/promises/${p.id}/close`, { reason })) load();
}

async function decide(r, grant) {
  const reason = prompt(grant ? "批准延期，说明（必填）：" : "不批准延期，原因（必填）：", grant ? "同意" : "");
  if (reason === null) return;
  if (await send(`/api/v1/extension-requests/${r.id}/decision`, { grant, reason })) load();
}

async function loadPromises() {
  const agent = form.agent.value.trim();
  const state = form.state.value || "unfinished";
  const ps = (await api(`/api/v1/promises?state=${state}&limit=200` + (agent ? "&agent=" + encodeURIComponent(agent) : ""))).promises;
  ps.sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline) || a.id - b.id);
  byID = Object.fromEntries(ps.map((p) => [p.id, p]));
  fill("promises", ps.map((p) => {
    const extended = Date.parse(p.original_deadline) !== Date.parse(p.deadline);
    const open = unfinished.includes(p.state);
    const acts = [];
    if (open && p.agent_id === me) acts.push(button("办结", true, () => fulfil(p)), " ");
    if (open && isSupervisor) acts.push(button("延期", true, () => extend(p)), " ", button("关闭", true, () => closePromise(p)));
    return el("tr", { class: p.overdue ? "overdue" : "", "data-promise": p.id }, cell(p.number), cell(p.summary), cell(agentLabel(p.agent_id)),
      cell(time(p.deadline) + (p.overdue ? "（已超时）" : "")), cell(extended ? time(p.original_deadline) : ""),
      cell(names.promise[p.state] ?? p.state, "state-" + p.state),
      el("td", {}, el("a", { href: "/calls/" + encodeURIComponent(p.call_id) }, "来电")), el("td", {}, acts));
  }));
}

async function fulfil(p) {
  const note = prompt(`办结承诺「${p.summary}」，答复情况及凭证（必填）：`, "");
  if (note === null) return;
  if (!note.trim()) return alert("办结须填写答复情况及凭证。");
  if (await send(`/api/v1/promises/${p.id}/fulfil`, { note })) load();
}

async function loadRequests() {
  const list = (await api("/api/v1/extension-requests?pending=true")).requests;
  fill("requests", list.map((r) => {
    const p = byID[r.promise_id];
    return el("tr", { "data-request": r.id }, cell(time(r.requested_at)), cell(p ? p.summary : "#" + r.promise_id), cell(agentLabel(r.requested_by)),
      cell(p ? time(p.deadline) : ""), cell(time(r.deadline)), cell(r.reason),
      el("td", {}, button("批准", true, () => decide(r, true)), " ", button("不批准", true, () => decide(r, false))));
  }));
}

async function load() {
  await loadAgentNames().catch(() => {});
  await section("promises", loadPromises);
  if (isSupervisor) {
    document.getElementById("requests-section").hidden = false;
    await section("requests", loadRequests);
  }
}
window.onpopstate = () => location.reload();
live(["promises"], load);
