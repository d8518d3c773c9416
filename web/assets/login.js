"use strict";
// The login page: the session is an HttpOnly cookie the page never sees.
const form = document.getElementById("login");
const message = document.getElementById("message");

form.onsubmit = async (event) => {
  event.preventDefault();
  message.textContent = "";
  const body = { user: document.getElementById("user").value.trim(), password: document.getElementById("password").value };
  try {
    const resp = await fetch("/api/v1/session", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin",
    });
    if (resp.ok) {
      location.href = "/";
      return;
    }
    if (resp.status === 429) {
      message.textContent = `登录失败次数过多，请 ${resp.headers.get("Retry-After") ?? "稍后"} 秒后再试。`;
    } else if (resp.status === 401) {
      message.textContent = "工号或密码错误。";
    } else {
      const err = await resp.json().catch(() => ({}));
      message.textContent = "登录失败：" + (err.error ?? resp.status);
    }
  } catch (e) {
    message.textContent = "无法连接服务器：" + e;
  }
  document.getElementById("password").value = "";
};
