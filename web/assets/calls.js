"use strict";
// The call log: filters and paging live in the page's address (shareable);
// the API pages with a cursor, newest first.
const form = document.getElementById("filters");
const fields = ["from", "to", "agent", "line", "outcome", "number", "rated", "reviewed"];
const params = new URLSearchParams(location.search);
for (const k of fields) form[k].value = params.get(k) ?? "";
const pageSize = 50;

function filters() {
  const q = new URLSearchParams();
  for (const k of fields) if (form[k].value.trim()) q.set(k, form[k].value.trim());
  return q;
}

form.onsubmit = (ev) => {
  ev.preventDefault();
  location.search = filters().toString();
};
document.getElementById("first").onclick = () => { location.search = filters().toString(); };

if (isSupervisor) {
  document.getElementById("export-box").hidden = false;
  document.getElementById("export").href = "/api/v1/calls/export?" + filters();
}

async function load() {
  await loadAgentNames().catch(() => {});
  await section("calls", async () => {
    const q = filters();
    q.set("limit", pageSize);
    if (params.get("cursor")) q.set("cursor", params.get("cursor"));
    const page = await api("/api/v1/calls?" + q);
    fill("calls", page.calls.map((c) => {
      const outcome = c.state === "missed" ? "未接：" + (names.missed[c.missed_reason] ?? c.missed_reason) : names.call[c.state] ?? c.state;
      const talk = c.state === "answered" ? "…" : c.answered_at ? c.talk_seconds.toFixed(0) : "";
      return el("tr", { "data-call": c.id }, cell(time(c.arrived_at)), cell(c.caller_number || "未显示号码"), cell(names.line[c.line] ?? c.line),
        cell(outcome, "state-" + c.state), cell(c.first_responsible_agent ? agentLabel(c.first_responsible_agent) : ""),
        cell(c.state === "ringing" ? "…" : c.wait_seconds.toFixed(0), "num"), cell(talk, "num"),
        cell(c.rating ? names.rating[c.rating.score] : ""),
        el("td", {}, el("a", { href: "/calls/" + encodeURIComponent(c.id), class: "open-call" }, "详情")));
    }));
    const next = document.getElementById("next");
    next.disabled = !page.next_cursor;
    next.onclick = () => {
      const q = filters();
      q.set("cursor", page.next_cursor);
      location.search = q.toString();
    };
    document.getElementById("first").disabled = !params.get("cursor");
    document.getElementById("page-note").textContent = `本页 ${page.calls.length} 条` + (params.get("cursor") ? "（非第一页）" : "");
  });
}
// Live on the first page; a later page stays as it was read.
let loaded = false;
live(["calls"], () => {
  if (!loaded || !params.get("cursor")) {
    loaded = true;
    load();
  }
});
