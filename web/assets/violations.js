"use strict";
// The violations ledger (7.1.4–7.1.6): supervisors confirm or dismiss each
// with a reason, never one against themselves; an agent sees its own.
const form = document.getElementById("filters");
const params = new URLSearchParams(location.search);
form.agent.value = params.get("agent") ?? "";
form.kind.value = params.get("kind") ?? "";
form.undisposed.checked = params.get("undisposed") === "true";

function query() {
  const q = new URLSearchParams();
  if (form.agent.value.trim()) q.set("agent", form.agent.value.trim());
  if (form.kind.value) q.set("kind", form.kind.value);
  if (form.undisposed.checked) q.set("undisposed", "true");
  return q;
}

form.onsubmit = (ev) => {
  ev.preventDefault();
  history.pushState(null, "", "?" + query());
  load();
};

async function dispose(v, disposition) {
  const what = `${names.violation[v.kind] ?? v.kind}（${agentLabel(v.agent_id)}）`;
  const reason = disposition === "dismissed"
    ? prompt(`驳回违规记录 ${what}，原因（必填，最多 500 字）：`, "")
    : prompt(`确认违规记录 ${what}，说明（可空，最多 500 字）：`, "");
  if (reason === null) return;
  if (disposition === "dismissed" && !reason.trim()) return alert("驳回须填写原因。");
  if (await send(`/api/v1/violations/${v.id}/disposition`, { disposition, reason })) load();
}

async function load() {
  await section("violations", async () => {
    await loadAgentNames().catch(() => {});
    const q = query();
    q.set("limit", "200");
    const list = (await api("/api/v1/violations?" + q)).violations;
    fill("violations", list.map((v) => {
      const about = [v.call_id && el("a", { href: "/calls/" + encodeURIComponent(v.call_id) }, "来电"),
        v.task_id && `回访任务 #${v.task_id}`, v.promise_id && `承诺 #${v.promise_id}`].filter(Boolean);
      const done = v.disposition ? `${names.disposition[v.disposition] ?? v.disposition}（${agentLabel(v.disposed_by)}，${time(v.disposed_at)}${v.dispose_reason ? "：" + v.dispose_reason : ""}）` : "未处理";
      const mine = v.agent_id === me;
      return el("tr", { "data-violation": v.id }, cell(time(v.at)), cell(agentLabel(v.agent_id)), cell(names.violation[v.kind] ?? v.kind),
        el("td", {}, ...about.flatMap((a, i) => (i ? ["，", a] : [a]))), cell(v.detail), cell(done, v.disposition ? "" : "overdue"),
        el("td", {}, isSupervisor && !mine ? [button("确认", true, () => dispose(v, "confirmed")), " ", button("驳回", true, () => dispose(v, "dismissed"))] : []));
    }));
  });
}
window.onpopstate = () => location.reload();
live(["violations"], load);
