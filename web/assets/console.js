"use strict";
// The console polls the JSON API; no framework, nothing to build.
const stateNames = { available: "空闲", on_call: "通话中", wrap_up: "话后处理", paused: "暂停", offline: "离线",
  ringing: "振铃", answered: "通话中", completed: "已接通", missed: "未接" };
const reasonNames = { no_answer: "无人接听", no_agent: "无坐席", abandoned: "来电放弃", after_hours: "非工作时间", failed: "系统故障" };

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

function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => { const tr = document.createElement("tr"); tr.append(...cells); return tr; }));
}

// post sends a JSON body, shows the API's error if any, and refreshes.
async function post(path, body) {
  try {
    const resp = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}) });
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

function agentRow(a) {
  const actions = document.createElement("td");
  actions.append(button("暂停", a.state !== "paused", () => pause(a)), " ",
    button("恢复", a.state !== "available", () => resume(a)));
  return [cell(a.id), cell(a.name), cell(a.endpoint), cell(a.department),
    cell(stateNames[a.state] ?? a.state, "state-" + a.state), cell(a.pause_reason), actions];
}

function callRow(c) {
  // Durations are known once the call is answered (wait) or ended (talk); "…" while under way.
  const wait = c.state === "ringing" ? "…" : c.wait_seconds.toFixed(1);
  const talk = c.state === "answered" ? "…" : c.answered_at ? c.talk_seconds.toFixed(1) : "";
  return [cell(new Date(c.arrived_at).toLocaleTimeString("zh-CN")), cell(c.caller_number || c.caller_raw),
    cell(stateNames[c.state] ?? c.state, "state-" + c.state), cell(reasonNames[c.missed_reason] ?? c.missed_reason ?? ""),
    cell(c.first_responsible_agent), cell(wait, "num"), cell(talk, "num")];
}

async function refresh() {
  try {
    const ready = await fetch("/readyz").then((r) => r.json());
    const badge = document.getElementById("ready");
    badge.textContent = ready.ready ? "就绪 ready" : "未就绪 not ready";
    badge.className = "badge " + (ready.ready ? "ok" : "bad");
    const { agents } = await fetch("/api/v1/agents").then((r) => r.json());
    fill(document.querySelector("#agents tbody"), agents.map(agentRow));
    const { calls } = await fetch("/api/v1/calls?limit=20").then((r) => r.json());
    fill(document.querySelector("#calls tbody"), calls.map(callRow));
  } catch (e) {
    console.error(e);
  }
}
refresh();
setInterval(refresh, 2000);
