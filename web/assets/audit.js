"use strict";
// The audit log: its hash chain's status and the entries, filtered by actor,
// object (the target) and action; the filters are in the page's address,
// so a filtered view can be shared.
const pageSize = 50;
const params = new URLSearchParams(location.search);
const form = document.getElementById("filters");
for (const k of ["actor", "object", "action"]) form[k].value = params.get(k) ?? "";
let offset = Number(params.get("offset") ?? 0) || 0;

function query(extra) {
  const q = new URLSearchParams();
  for (const k of ["actor", "object", "action"]) if (form[k].value.trim()) q.set(k, form[k].value.trim());
  for (const [k, v] of Object.entries(extra ?? {})) q.set(k, v);
  return q;
}

form.onsubmit = (ev) => {
  ev.preventDefault();
  offset = 0;
  history.pushState(null, "", "?" + query());
  load();
};

async function verify() {
  const chain = document.getElementById("chain");
  try {
    const v = await api("/api/v1/audit/verify");
    chain.textContent = v.intact ? "完整，未发现篡改" : `第 ${v.broken_at} 条记录被改动过，此后的链条不可信`;
    chain.className = v.intact ? "chain-ok" : "chain-bad";
  } catch (e) {
    chain.textContent = "无法校验：" + e.message;
    chain.className = "chain-bad";
  }
}
document.getElementById("verify").onclick = verify;

async function load() {
  await section("entries", async () => {
    const list = (await api("/api/v1/audit?" + query({ limit: pageSize, offset }))).entries;
    fill("entries", list.map((e) => el("tr", { class: e.result === "ok" ? "" : "overdue" }, cell(e.id, "num"), cell(time(e.at)),
      el("td", {}, el("a", { href: "/audit?actor=" + encodeURIComponent(e.actor) }, e.actor)), cell(e.role), cell(e.client), cell(e.action),
      el("td", {}, el("a", { href: "/audit?object=" + encodeURIComponent(e.object) }, e.object)), cell(e.result), cell(e.detail))));
    document.getElementById("page").textContent = `第 ${offset / pageSize + 1} 页`;
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = list.length < pageSize;
  });
}
document.getElementById("prev").onclick = () => { offset = Math.max(0, offset - pageSize); history.pushState(null, "", "?" + query({ offset })); load(); };
document.getElementById("next").onclick = () => { offset += pageSize; history.pushState(null, "", "?" + query({ offset })); load(); };
window.onpopstate = () => location.reload();

verify();
load();
