"use strict";
// An agent's desk: status, callback tasks, promises and recent calls, live.
const agentID = document.body.dataset.id;
const own = agentID === me;
const q = encodeURIComponent(agentID);

async function loadStatus() {
  const agents = await loadAgentNames();
  const a = agents.find((x) => x.id === agentID);
  if (!a) throw new Error("坐席不在名册中");
  document.getElementById("agent-name").textContent = `${a.name}（${a.id}，${a.department || "未分部门"}）`;
  const st = document.getElementById("agent-state");
  st.textContent = names.agent[a.state] ?? a.state;
  st.className = "state state-" + a.state;
  st.dataset.state = a.state;
  document.getElementById("agent-since").textContent = a.state_since ? "自 " + clock(a.state_since) : "";
  document.getElementById("pause-reason").textContent = a.state === "paused" ? "暂停原因：" + (a.pause_reason || "") : "";
  document.getElementById("pause").disabled = a.state === "paused";
  document.getElementById("resume").disabled = a.state === "available" || a.state === "on_call";
}

document.getElementById("pause-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const input = document.getElementById("pause-input");
  if (await send(`/api/v1/agents/${q}/pause`, { reason: input.value.trim() })) input.value = "";
  section("tasks", loadStatus);
};
document.getElementById("resume").onclick = async () => {
  await send(`/api/v1/agents/${q}/resume`);
  loadStatus();
};

async function loadTasks() {
  const tasks = (await api(`/api/v1/callbacks?agent=${q}&state=unfinished&limit=100`)).callbacks;
  tasks.sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline) || a.id - b.id);
  fill("tasks", tasks.map((t) => {
    const tr = el("tr", { class: t.overdue ? "overdue" : "", "data-task": t.id },
      cell(t.number), cell(t.missed_count, "num"),
      cell(time(t.deadline) + (t.overdue ? "（已超时）" : ""), t.overdue ? "overdue" : ""),
      cell(names.callback[t.state] ?? t.state, "state-" + t.state), cell(t.attempts, "num"),
      el("td", {}, button("立即回拨", t.state === "pending", async (e) => {
        e.target.disabled = true;
        if (await send(`/api/v1/callbacks/${t.id}/dial`)) e.target.textContent = "已安排回拨";
      }, "dial"), (t.voice_messages ?? []).map((name, i) =>
        [" ", el("a", { href: `/api/v1/recordings/${encodeURIComponent(name)}/audio`, target: "_blank" }, `留言${i + 1}`)])));
    return tr;
  }));
}

async function loadPromises() {
  const ps = (await api(`/api/v1/promises?agent=${q}&state=unfinished&limit=100`)).promises;
  ps.sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline) || a.id - b.id);
  fill("promises", ps.map((p) => {
    const extended = Date.parse(p.original_deadline) !== Date.parse(p.deadline);
    return el("tr", { class: p.overdue ? "overdue" : "", "data-promise": p.id },
      cell(p.number), cell(p.summary),
      cell(time(p.deadline) + (p.overdue ? "（已超时）" : ""), p.overdue ? "overdue" : ""),
      cell(extended ? time(p.original_deadline) : ""), cell(names.promise[p.state] ?? p.state, "state-" + p.state),
      el("td", {},
        button("答复来电", true, () => send(`/api/v1/promises/${p.id}/reply-call`)), " ",
        button("办结", true, () => fulfil(p)), " ",
        button("申请延期", own, () => askExtension(p))));
  }));
}

async function fulfil(p) {
  const note = prompt(`办结承诺 ${p.number}「${p.summary}」，答复情况及凭证（必填，最多 2000 字）：`, "");
  if (note === null) return;
  if (!note.trim()) return alert("办结须填写答复情况及凭证。");
  if (await send(`/api/v1/promises/${p.id}/fulfil`, { note })) loadPromises();
}

async function askExtension(p) {
  const def = new Date(Date.parse(p.deadline) + 86400000).toISOString().slice(0, 16);
  const when = prompt(`申请延期「${p.summary}」：新的答复时限（YYYY-MM-DDTHH:MM，本地时间）`, def);
  if (when === null) return;
  const deadline = new Date(when);
  if (isNaN(deadline)) return alert("时间格式不对，例如 2026-12-01T17:00");
  const reason = prompt("延期理由（必填，最多 500 字）：", "");
  if (reason === null) return;
  if (!reason.trim()) return alert("申请延期须填写理由。");
  if (await send(`/api/v1/promises/${p.id}/extension-requests`, { deadline: deadline.toISOString(), reason })) {
    alert("已提交延期申请，待督察审批。");
  }
}

async function loadCalls() {
  const calls = (await api(`/api/v1/calls?agent=${q}&limit=20`)).calls;
  fill("calls", calls.map((c) => {
    const outcome = c.state === "missed" ? (names.missed[c.missed_reason] ?? "未接") : (names.call[c.state] ?? c.state);
    const talk = c.state === "answered" ? "…" : c.answered_at ? c.talk_seconds.toFixed(0) : "";
    const score = c.rating ? names.rating[c.rating.score] : "";
    return el("tr", { "data-call": c.id }, cell(time(c.arrived_at)), cell(c.caller_number || "未显示号码"),
      cell(outcome, "state-" + c.state), cell(talk, "num"), cell(score, c.rating?.score >= 4 ? "overdue" : ""),
      el("td", {}, el("a", { href: "/calls/" + encodeURIComponent(c.id) }, "详情")));
  }));
}

const loaders = { agents: () => section("tasks", loadStatus), callbacks: () => section("tasks", loadTasks),
  promises: () => section("promises", loadPromises), calls: () => section("calls", loadCalls) };
live(Object.keys(loaders), (topics) => topics.forEach((t) => loaders[t]()));
