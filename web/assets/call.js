"use strict";
// One call: its facts, timeline, recording (seekable: the server answers
// Range), reviews and, for supervisors, the review form and the legal hold.
const callID = document.body.dataset.id;
const cq = encodeURIComponent(callID);
// The whole number, once asked for: one audited read, not one per refresh.
let fullNumber = null;
let last = null;

function text(id, v) {
  document.getElementById(id).textContent = v ?? "";
}

async function load() {
  const t = await api(`/api/v1/calls/${cq}/timeline`);
  last = t;
  const c = t.call;
  await loadAgentNames().catch(() => {});
  text("number", fullNumber ?? (c.caller_number || c.caller_raw || "（未显示号码）"));
  const masked = fullNumber === null && (c.caller_number || c.caller_raw || "").includes("*");
  document.getElementById("unmask").hidden = !masked;
  document.getElementById("unmask-note").hidden = !masked;
  text("line", names.line[c.line] ?? c.line);
  text("outcome", c.state === "missed" ? "未接：" + (names.missed[c.missed_reason] ?? c.missed_reason) : names.call[c.state] ?? c.state);
  text("responsible", c.first_responsible_agent ? agentLabel(c.first_responsible_agent) : "（无）");
  text("durations", `等待 ${duration(c.wait_seconds)} / 通话 ${c.answered_at ? duration(c.talk_seconds) : "—"}`);
  text("rating", c.rating ? names.rating[c.rating.score] : "—");

  document.getElementById("timeline").replaceChildren(...t.events.map((e) =>
    el("li", { class: (e.tone ?? "") + " kind-" + e.kind }, el("time", { datetime: e.at }, clock(e.at)), e.text)));

  const box = document.getElementById("recordings");
  if (t.recordings.length === 0) {
    box.replaceChildren(el("p", { class: "muted" }, "本次来电没有录音。"));
  } else {
    // Keep a playing player: rebuild only when what it shows changed.
    const sig = JSON.stringify(t.recordings);
    if (box.dataset.sig !== sig) {
      box.dataset.sig = sig;
      box.replaceChildren(...t.recordings.map(recordingBlock));
    }
  }
  fill("reviews", t.reviews.map((r) => [cell(time(r.created_at)), cell(agentLabel(r.supervisor_id)), cell(agentLabel(r.agent_id)),
    cell(r.score, "num"), cell((r.flags ?? []).join("、"), (r.flags ?? []).length ? "overdue" : ""), cell(r.comment)]));

  if (isSupervisor) {
    document.getElementById("review-section").hidden = false;
    const sel = document.getElementById("review-agent");
    const agents = [...new Set([c.first_responsible_agent, ...(c.legs ?? []).map((l) => l.agent_id),
      ...(c.referrals ?? []).map((f) => f.to_agent)].filter(Boolean))];
    if (sel.options.length !== agents.length) {
      sel.replaceChildren(...agents.map((a) => el("option", { value: a }, agentLabel(a))));
    }
  }
}

function recordingBlock(r) {
  const usable = r.state === "archived" && !r.deleted_at;
  const src = `/api/v1/recordings/${encodeURIComponent(r.name)}/audio`;
  const state = { pending: "待归档", archived: "已归档", failed: "归档失败", deleted: "已按保存期限删除" }[r.state] ?? r.state;
  const parts = [el("p", {}, `${r.name}（${state}${r.duration_seconds ? "，" + duration(r.duration_seconds) : ""}）`)];
  if (usable) {
    parts.push(el("audio", { controls: true, preload: "metadata", src, id: "player-" + r.name, "data-recording": r.name }));
    parts.push(el("p", {}, el("a", { href: src + "?download=true" }, "下载录音"), el("span", { class: "muted" }, "（收听和下载都记入审计日志）")));
  }
  if (isSupervisor) {
    const hold = el("input", { type: "checkbox", id: "hold-" + r.name, checked: r.legal_hold, disabled: !usable && !r.legal_hold });
    hold.onchange = async () => {
      const out = await send(`/api/v1/recordings/${encodeURIComponent(r.name)}/hold`, { hold: hold.checked });
      if (!out) hold.checked = !hold.checked;
    };
    parts.push(el("label", { class: "hold" }, hold, " 法律保全（保全期间不按保存期限删除）"));
  }
  return el("div", { class: "recording" }, ...parts);
}

document.getElementById("unmask").onclick = async () => {
  try {
    const c = await api(`/api/v1/calls/${cq}?numbers=full`);
    fullNumber = c.caller_number || c.caller_raw;
    text("number", fullNumber);
    document.getElementById("unmask").hidden = true;
    document.getElementById("unmask-note").hidden = true;
  } catch (e) {
    alert("无法显示完整号码：" + e.message);
  }
};

document.getElementById("review-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const flags = [...form.querySelectorAll("input[name=flag]:checked")].map((i) => i.value);
  const body = { agent_id: form.agent_id.value, score: Number(form.score.value), flags, comment: form.comment.value.trim() };
  const out = await send(`/api/v1/calls/${cq}/reviews`, body);
  if (out) {
    form.reset();
    text("review-message", "评议已提交。");
    document.getElementById("review-message").classList.add("ok");
    load();
  }
};

live(["calls", "monitor"], () => section("reviews", load));
