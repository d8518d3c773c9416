"use strict";
// The supervisors' wall, live.
let wall = null;
let skew = 0; // the server's clock minus the browser's

// since is a cell whose duration ticks every second.
function since(iso, cls) {
  const td = el("td", { class: cls, "data-since": iso });
  td.textContent = duration((Date.now() + skew - Date.parse(iso)) / 1000);
  return td;
}

function text(id, v) {
  document.getElementById(id).textContent = v;
}

const monitorNames = { listen: "监听", whisper: "耳语", barge: "强插" };

async function endMonitor(m) {
  if (await send(`/api/v1/monitors/${m.id}/end`)) load();
}

async function monitor(c, mode) {
  const what = { listen: "监听", whisper: "耳语（只有坐席听得到您）", barge: "强插（三方通话）" }[mode];
  if (!confirm(`${what}：来电 ${c.caller_number || c.caller_raw}，坐席 ${agentLabel(c.first_responsible_agent)}。\n将呼叫您的话机，接起后开始。`)) return;
  const out = await send(`/api/v1/calls/${encodeURIComponent(c.id)}/monitor`, { mode });
  if (out) alert(`正在呼叫您的话机，接起后开始${what.slice(0, 2)}。`);
}

function render() {
  const w = wall, now = Date.parse(w.now);
  if (w.line) {
    text("line-state", w.line.open ? "开放" : "关闭");
    document.getElementById("line").className = "tile " + (w.line.open ? "ok" : "bad");
    text("line-why", w.line.reason + (w.line.until ? (w.line.open ? "，至 " : "，下次开放 ") + time(w.line.until) : ""));
  }
  const waiting = [...w.waiting].sort((a, b) => Date.parse(a.arrived_at) - Date.parse(b.arrived_at));
  text("waiting-count", waiting.length);
  text("waiting-longest", waiting.length ? "最长 " + duration((now - Date.parse(waiting[0].arrived_at)) / 1000) : "");
  if (w.today) {
    text("today-answered", w.today.answered);
    text("today-missed", w.today.missed);
    text("today-abandoned", "其中放弃 " + w.today.abandoned);
  }
  text("callbacks-due", `${w.callbacks_open} / ${w.callbacks_overdue}`);
  document.getElementById("callbacks-due").className = "value" + (w.callbacks_overdue ? " overdue" : "");
  text("promises-overdue", w.promises_overdue);
  document.getElementById("promises-overdue").className = "value" + (w.promises_overdue ? " overdue" : "");
  text("unreachable", w.unreachable);

  agentNames = Object.fromEntries(w.agents.map((a) => [a.id, a.name]));
  fill("agents", w.agents.map((a) => el("tr", { "data-agent": a.id }, cell(a.id), cell(a.name), cell(a.department),
    cell(names.agent[a.state] ?? a.state, "state-" + a.state), a.state_since ? since(a.state_since) : cell(""),
    cell(a.pause_reason),
    el("td", {},
      el("a", { href: "/desk/" + encodeURIComponent(a.id) }, "工作台"), " ",
      button("暂停", a.state !== "paused", () => pause(a)), " ",
      button("恢复", a.state === "paused" || a.state === "offline", () => resume(a))))));

  const rows = [...waiting, ...w.talking].map((c) => {
    const start = c.state === "ringing" ? c.arrived_at : c.answered_at;
    return el("tr", { "data-call": c.id, class: c.state === "ringing" ? "waiting" : "" },
      cell(clock(c.arrived_at)), cell(c.caller_number || "未显示号码"), cell(names.line[c.line] ?? c.line),
      cell(names.call[c.state] ?? c.state, "state-" + c.state), since(start, "num"),
      cell(c.first_responsible_agent ? agentLabel(c.first_responsible_agent) : ""),
      el("td", {}, (w.monitors ?? []).filter((m) => m.call_id === c.id).map((m) => [
        el("span", { class: "monitoring" }, `${agentLabel(m.supervisor_id)}${m.connected_at ? "正在" : "呼叫中："}${monitorNames[m.mode]}`), " ",
        button("结束", true, () => endMonitor(m), "monitor-end"), " "]),
      c.state === "answered" ? [
        button("监听", true, () => monitor(c, "listen"), "monitor-listen"), " ",
        button("耳语", true, () => monitor(c, "whisper"), "monitor-whisper"), " ",
        button("强插", true, () => monitor(c, "barge"), "monitor-barge"), " "] : [],
      el("a", { href: "/calls/" + encodeURIComponent(c.id) }, "详情")));
  });
  fill("active", rows);
  fill("due", w.callbacks_due.map((t) => el("tr", { class: t.overdue ? "overdue" : "" }, cell(t.number),
    cell(time(t.deadline) + (t.overdue ? "（已超时）" : "")), cell(agentLabel(t.agent_id)), cell(names.callback[t.state] ?? t.state))));
  fill("unreachable-tasks", w.unreachable_tasks.map((t) => el("tr", { "data-task": t.id }, cell(t.number), cell(time(t.deadline)),
    cell(agentLabel(t.agent_id)), cell(names.callback[t.state] ?? t.state, "state-" + t.state), cell(t.attempts, "num"),
    el("td", {}, button("确认", true, () => acknowledge(t))))));
  fill("overdue-promises", w.overdue_promises.map((p) => el("tr", { class: "overdue" }, cell(p.number), cell(p.summary),
    cell(agentLabel(p.agent_id)), cell(time(p.deadline)))));
}

async function acknowledge(t) {
  const note = prompt(`确认无法联系 ${t.number}（${names.callback[t.state] ?? t.state}），备注（可空，最多 500 字）：`, "");
  if (note === null) return;
  if (await send(`/api/v1/callbacks/${t.id}/acknowledge`, { note })) load();
}

function pause(a) {
  const reason = prompt(`暂停 ${a.name}（${a.id}），原因（1–200 字）：`, "");
  if (reason === null) return;
  send(`/api/v1/agents/${encodeURIComponent(a.id)}/pause`, { reason }).then(load);
}

function resume(a) {
  send(`/api/v1/agents/${encodeURIComponent(a.id)}/resume`).then(load);
}

async function load() {
  try {
    wall = await api("/api/v1/wall");
    skew = Date.parse(wall.now) - Date.now();
    document.body.dataset.loaded = String(Date.now());
    render();
  } catch (e) {
    text("line-why", "无法加载：" + e.message);
  }
}

// Durations tick every second between changes; nothing else is redrawn.
setInterval(() => {
  for (const td of document.querySelectorAll("[data-since]")) {
    td.textContent = duration((Date.now() + skew - Date.parse(td.dataset.since)) / 1000);
  }
  if (wall?.waiting.length) {
    const first = Math.min(...wall.waiting.map((c) => Date.parse(c.arrived_at)));
    text("waiting-longest", "最长 " + duration((Date.now() + skew - first) / 1000));
  }
}, 1000);
live(["agents", "calls", "callbacks", "promises", "monitor"], load);
