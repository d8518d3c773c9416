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

function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => { const tr = document.createElement("tr"); tr.append(...cells); return tr; }));
}

async function refresh() {
  try {
    const ready = await fetch("/readyz").then((r) => r.json());
    const badge = document.getElementById("ready");
    badge.textContent = ready.ready ? "就绪 ready" : "未就绪 not ready";
    badge.className = "badge " + (ready.ready ? "ok" : "bad");
    const { agents } = await fetch("/api/v1/agents").then((r) => r.json());
    fill(document.querySelector("#agents tbody"), agents.map((a) => [
      cell(a.id), cell(a.name), cell(a.endpoint), cell(a.department), cell(stateNames[a.state] ?? a.state, "state-" + a.state)]));
    const { calls } = await fetch("/api/v1/calls?limit=20").then((r) => r.json());
    fill(document.querySelector("#calls tbody"), calls.map((c) => {
      const arrived = new Date(c.arrived_at);
      const end = c.answered_at || c.ended_at;
      const wait = end ? ((new Date(end) - arrived) / 1000).toFixed(1) : "";
      return [cell(arrived.toLocaleTimeString("zh-CN")), cell(c.caller_number || c.caller_raw),
        cell(stateNames[c.state] ?? c.state, "state-" + c.state), cell(reasonNames[c.missed_reason] ?? c.missed_reason ?? ""),
        cell(c.first_responsible_agent), cell(wait)];
    }));
  } catch (e) {
    console.error(e);
  }
}
refresh();
setInterval(refresh, 2000);
