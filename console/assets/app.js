// switchyard's console. Plain JavaScript, no dependencies: every figure
// comes from the admin API with the key given at sign-in (kept for the
// tab's session only); charts are SVG drawn here.
"use strict";

const TEXT = {
  en: {
    "nav.playground": "Playground", "nav.traffic": "Live traffic", "nav.providers": "Providers", "logout": "Log out",
    "login.title": "Sign in", "login.help": "An API key with the admin role, or the admin token.", "login.submit": "Sign in",
    "login.refused": "That key is not an admin key.",
    "play.help": "One message per line; start a line with \"system:\", \"assistant:\" or \"user:\" to set its role.",
    "play.explain": "Explain", "play.send": "Send for real", "play.route": "Route", "play.decided": "Decided by",
    "play.margin": "Margin", "play.chain": "Chain", "play.judge": "Judge", "play.threshold": "threshold",
    "play.nojudge": "not asked", "play.nearest": "nearest",
    "f.route": "route", "f.key": "key", "f.status": "status", "f.decided": "decided by", "f.id": "request id",
    "t.time": "Time", "t.status": "Status", "t.target": "Target", "t.latency": "Latency", "t.tokens": "Tokens",
    "t.live": "live", "t.reconnecting": "reconnecting…", "t.conversation": "conversation",
    "p.target": "Target", "p.state": "Circuit", "p.errors": "Error rate", "p.p50": "p50", "p.requests": "Requests", "p.last": "Last error",
    "nav.usage": "Usage", "nav.keys": "Keys", "u.days": "Days", "u.by": "By", "u.measure": "Measure", "u.requests": "requests",
    "u.tokens": "tokens", "u.cost": "cost (USD)", "u.heatmap": "Requests by hour and weekday (UTC)", "u.total": "total",
    "u.overtime": "Over time (UTC days)",
    "k.name": "name", "k.roles": "Roles", "k.models": "models", "k.rpm": "requests/min", "k.budget": "USD/day", "k.create": "Create",
    "k.revoke": "Revoke", "k.shown": "Copy it now: it is shown this once.", "k.enabled": "enabled", "k.revoked": "revoked",
    "k.disabled": "disabled", "k.expired": "expired", "k.disable": "Disable", "k.enable": "Enable",
    "p.test": "Test now", "p.testchain": "Test the chain", "p.model": "route, alias or model",
    "nav.quality": "Quality", "q.run": "Run eval", "q.report": "Download the HTML report", "q.examples": "Examples",
    "q.accuracy": "Accuracy", "q.f1": "Macro-F1", "q.coverage": "Coverage", "q.latency": "Decision p50 / p99", "q.running": "running…",
    "q.help": "Routes the configured corpus (console.eval_data) with the routes in force, as serving does, and scores it as switchyard eval does.",
    "nav.config": "Config", "c.generation": "generation", "c.check": "Check", "c.diff": "Diff", "c.save": "Save and reload",
    "c.ok": "No problems.", "c.saved": "Saved: generation", "c.line": "line", "c.refused": "Not saved: nothing changed.",
    "c.last": "last reload", "c.nodiff": "No changes.",
  },
  zh: {
    "nav.playground": "路由试验场", "nav.traffic": "实时流量", "nav.providers": "服务商", "logout": "退出",
    "login.title": "登录", "login.help": "具有管理员角色的 API 密钥，或管理令牌。", "login.submit": "登录",
    "login.refused": "该密钥不是管理员密钥。",
    "play.help": "每行一条消息；以 \"system:\"、\"assistant:\" 或 \"user:\" 开头可指定角色。",
    "play.explain": "解释", "play.send": "实际发送", "play.route": "路由", "play.decided": "决定方式",
    "play.margin": "领先幅度", "play.chain": "调用链", "play.judge": "LLM 裁判", "play.threshold": "阈值",
    "play.nojudge": "未询问", "play.nearest": "最近示例",
    "f.route": "路由", "f.key": "密钥", "f.status": "状态", "f.decided": "决定方式", "f.id": "请求 ID",
    "t.time": "时间", "t.status": "状态", "t.target": "目标", "t.latency": "延迟", "t.tokens": "令牌数",
    "t.live": "实时", "t.reconnecting": "正在重连…", "t.conversation": "对话",
    "p.target": "目标", "p.state": "熔断器", "p.errors": "错误率", "p.p50": "p50", "p.requests": "请求数", "p.last": "最近错误",
    "nav.usage": "用量", "nav.keys": "密钥", "u.days": "天数", "u.by": "分组", "u.measure": "指标", "u.requests": "请求数",
    "u.tokens": "令牌数", "u.cost": "费用（美元）", "u.heatmap": "按星期和小时的请求数（UTC）", "u.total": "合计",
    "u.overtime": "随时间变化（UTC 日）",
    "k.name": "名称", "k.roles": "角色", "k.models": "模型", "k.rpm": "每分钟请求", "k.budget": "每日美元", "k.create": "创建",
    "k.revoke": "吊销", "k.shown": "请立即复制：仅显示这一次。", "k.enabled": "启用", "k.revoked": "已吊销",
    "k.disabled": "已停用", "k.expired": "已过期", "k.disable": "停用", "k.enable": "启用",
    "p.test": "立即测试", "p.testchain": "测试调用链", "p.model": "路由、别名或模型",
    "nav.quality": "质量", "q.run": "运行评估", "q.report": "下载 HTML 报告", "q.examples": "样例数",
    "q.accuracy": "准确率", "q.f1": "宏平均 F1", "q.coverage": "覆盖率", "q.latency": "决策 p50 / p99", "q.running": "运行中…",
    "q.help": "用当前路由对配置的语料（console.eval_data）进行路由，方式与线上服务相同，并按 switchyard eval 的方法评分。",
    "nav.config": "配置", "c.generation": "版本", "c.check": "检查", "c.diff": "对比", "c.save": "保存并重新加载",
    "c.ok": "没有问题。", "c.saved": "已保存：版本", "c.line": "行", "c.refused": "未保存：没有任何改动。",
    "c.last": "上次重新加载", "c.nodiff": "没有改动。",
  },
};

let lang = localStorage.getItem("switchyard.lang") || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
const t = (k) => (TEXT[lang] && TEXT[lang][k]) || TEXT.en[k] || k;
const $ = (id) => document.getElementById(id);

function translate() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
}

// ---- the admin API ----------------------------------------------------

const key = () => sessionStorage.getItem("switchyard.key") || "";

async function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + key() }, opts.headers || {});
  if (opts.body && !headers["Content-Type"]) headers["Content-Type"] = "application/json";
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  if (res.status === 401) { signOut(); throw new Error(t("login.refused")); }
  return res;
}

async function apiJSON(path, opts) {
  const res = await api(path, opts);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((body.error && body.error.message) || res.status + " " + res.statusText);
  return body;
}

// ---- sign-in and screens ----------------------------------------------

function signOut() {
  sessionStorage.removeItem("switchyard.key");
  stopTraffic();
  show(null);
}

function show(screen) {
  $("login").hidden = screen !== null;
  $("nav").hidden = $("logout").hidden = screen === null;
  for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== screen;
  for (const b of document.querySelectorAll("#nav button")) b.classList.toggle("on", b.dataset.screen === screen);
  if (screen === null) return;
  location.hash = screen;
  if (screen === "traffic") startTraffic(); else stopTraffic();
  if (screen === "providers") loadProviders();
  if (screen === "usage") loadUsage();
  if (screen === "keys") loadKeys();
  if (screen === "config") loadConfig();
  if (screen === "quality") loadEval();
}

async function signIn(k) {
  sessionStorage.setItem("switchyard.key", k);
  const res = await fetch("/admin/status", { headers: { Authorization: "Bearer " + k } });
  if (!res.ok) {
    sessionStorage.removeItem("switchyard.key");
    const err = $("login-error");
    err.textContent = t("login.refused");
    err.hidden = false;
    return;
  }
  $("login-error").hidden = true;
  show((location.hash || "#playground").slice(1));
}

// ---- playground -------------------------------------------------------

function messages() {
  const out = [];
  for (const line of $("play-text").value.split("\n")) {
    if (!line.trim()) continue;
    const m = /^(system|user|assistant):\s*(.*)$/i.exec(line);
    if (m) out.push({ role: m[1].toLowerCase(), content: m[2] });
    else out.push({ role: "user", content: line });
  }
  return out;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// drawScores draws each route's score as a bar against its threshold.
function drawScores(scores) {
  const box = $("play-bars");
  box.replaceChildren();
  if (!scores.length) return;
  const width = 1000, row = 44, left = 150, right = 70, scale = width - left - right;
  const lo = Math.min(0, ...scores.map((s) => Math.min(s.score, s.threshold)));
  const hi = Math.max(1, ...scores.map((s) => Math.max(s.score, s.threshold)));
  const x = (v) => left + ((v - lo) / (hi - lo)) * scale;
  const g = svg("svg", { viewBox: `0 0 ${width} ${scores.length * row + 10}`, role: "img" });
  scores.forEach((s, i) => {
    const y = 8 + i * row;
    const cleared = s.score >= s.threshold;
    const bar = svg("rect", { x: x(Math.min(0, s.score)), y, width: Math.max(1, Math.abs(x(s.score) - x(0))), height: 16, rx: 3,
      fill: cleared ? "#1f9d55" : "#9aa6bb", class: "score", "data-route": s.route, "data-score": s.score.toFixed(6),
      "data-threshold": s.threshold.toFixed(6) });
    g.append(svg("text", { x: left - 8, y: y + 12, "text-anchor": "end" }, s.route), bar,
      svg("line", { x1: x(s.threshold), x2: x(s.threshold), y1: y - 3, y2: y + 19, stroke: "#d64545", "stroke-width": 2 }),
      svg("text", { x: x(Math.max(s.score, s.threshold)) + 6, y: y + 12 }, s.score.toFixed(3)),
      svg("text", { x: left, y: y + 32, class: "nearest" }, `${t("play.threshold")} ${s.threshold.toFixed(3)} · ${t("play.nearest")}: ${(s.segment ? "[" + s.segment + "] " : "") + (s.nearest || "")}`.slice(0, 160)));
  });
  box.append(g);
}

async function explainNow() {
  $("play-error").hidden = true;
  try {
    const e = await apiJSON("/admin/explain", { method: "POST", body: JSON.stringify({ model: "auto", messages: messages() }) });
    $("play-route").textContent = e.route || e.model || "";
    $("play-decided").textContent = e.decided_by + (e.fallback ? " — " + e.fallback : "");
    $("play-margin").textContent = e.margin === undefined ? "—" : e.margin.toFixed(3);
    $("play-chain").textContent = e.chain.join(" → ");
    $("play-judge").textContent = e.judge ? `${e.judge.reason}: ${e.judge.answer || "—"}${e.judge.used ? " ✓" : ""} (${e.judge.took_ms} ms)` : t("play.nojudge");
    $("play-result").hidden = false;
    $("play-result").dataset.decidedBy = e.decided_by;
    drawScores(e.scores);
  } catch (err) {
    $("play-error").textContent = err.message;
    $("play-error").hidden = false;
  }
}

async function sendNow() {
  const out = $("play-answer");
  out.textContent = "";
  out.hidden = false;
  try {
    const res = await api("/v1/chat/completions", { method: "POST", body: JSON.stringify({ model: "auto", stream: true, messages: messages() }) });
    if (!res.ok) { const b = await res.json().catch(() => ({})); throw new Error((b.error && b.error.message) || res.status); }
    out.dataset.route = res.headers.get("X-Switchyard-Route") || "";
    await readEvents(res, (_, data) => {
      if (data === "[DONE]") return;
      const c = JSON.parse(data);
      const d = c.choices && c.choices[0] && c.choices[0].delta;
      if (d && d.content) out.textContent += d.content;
    });
  } catch (err) {
    $("play-error").textContent = err.message;
    $("play-error").hidden = false;
  }
}

// readEvents reads a server-sent-event stream from a fetch response,
// calling f(event, data) for each event.
async function readEvents(res, f, signal) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done || (signal && signal.aborted)) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let ev = "message", data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) ev = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) f(ev, data.join("\n"));
    }
  }
}

// ---- live traffic -----------------------------------------------------

let traffic = null; // the AbortController of the running feed
const shown = [];

function matches(e) {
  for (const inp of document.querySelectorAll("[data-filter]")) {
    const want = inp.value.trim();
    if (want && !String(e[inp.dataset.filter] ?? "").includes(want)) return false;
  }
  return true;
}

function row(e) {
  const tr = document.createElement("tr");
  tr.dataset.requestId = e.request_id || "";
  const target = e.provider ? e.provider + "/" + e.model : (e.refused || "");
  const cells = [new Date(e.time).toLocaleTimeString(), null, e.route || "", e.decided_by || "", target, e.key || "",
    e.latency_ms ? e.latency_ms.toFixed(1) + " ms" : "", e.prompt_tokens ? `${e.prompt_tokens} / ${e.completion_tokens}` : "", e.request_id || ""];
  cells.forEach((c, i) => {
    const td = document.createElement("td");
    if (i === 1) {
      const p = document.createElement("span");
      p.className = "pill s" + String(e.status)[0];
      p.textContent = e.status;
      td.append(p);
    } else td.textContent = c;
    tr.append(td);
  });
  tr.addEventListener("click", () => showRequest(e));
  return tr;
}

// showRequest shows one request: its decision and attempts, and, when the
// conversation log has it, what was asked and answered.
async function showRequest(e) {
  const d = $("traffic-detail");
  d.textContent = JSON.stringify(e, null, 2);
  d.hidden = false;
  if (!e.request_id) return;
  const res = await api("/admin/conversations?request_id=" + encodeURIComponent(e.request_id));
  if (!res.ok) return; // the log is off, or has not written it yet
  const c = await res.json();
  const lines = ["", "— " + t("t.conversation") + " —"];
  const req = c.request || {};
  if (req.system) lines.push("system: " + (typeof req.system === "string" ? req.system : JSON.stringify(req.system)));
  for (const m of req.messages || []) lines.push(`${m.role}: ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`);
  let answer = c.text || "";
  if (!answer && c.answer) {
    const a = c.answer;
    answer = (a.choices && a.choices[0] && a.choices[0].message && a.choices[0].message.content) ||
      (a.content || []).filter((b) => b.type === "text").map((b) => b.text).join("") || "";
  }
  lines.push("answer: " + answer);
  if (c.tool_calls) lines.push("tool calls: " + JSON.stringify(c.tool_calls));
  d.textContent += lines.join("\n");
}

function redraw() {
  const body = $("traffic-rows");
  body.replaceChildren(...shown.filter(matches).slice(0, 200).map(row));
}

async function startTraffic() {
  if (traffic) return;
  traffic = new AbortController();
  const signal = traffic.signal;
  while (!signal.aborted) {
    try {
      const res = await api("/admin/traffic", { signal });
      $("traffic-state").textContent = "● " + t("t.live");
      await readEvents(res, (ev, data) => {
        if (ev !== "request") return;
        shown.unshift(JSON.parse(data));
        if (shown.length > 1000) shown.length = 1000;
        redraw();
      }, signal);
    } catch (err) {
      if (signal.aborted) return;
    }
    $("traffic-state").textContent = t("t.reconnecting");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function stopTraffic() {
  if (traffic) traffic.abort();
  traffic = null;
}

// ---- providers --------------------------------------------------------

let providersTimer = null;

async function loadProviders() {
  clearTimeout(providersTimer);
  if ($("providers").hidden) return;
  try {
    const p = await apiJSON("/admin/providers");
    $("provider-rows").replaceChildren(...(p.targets || []).map((tg) => {
      const tr = document.createElement("tr");
      tr.dataset.target = tg.provider + "/" + tg.model;
      const state = document.createElement("span");
      state.className = "pill " + tg.state;
      state.textContent = tg.state;
      const cells = [tg.provider + "/" + tg.model, state, (100 * (tg.error_rate || 0)).toFixed(1) + " %",
        (tg.latency_p50_ms || 0).toFixed(1) + " ms", tg.requests || 0, tg.last_error || ""];
      for (const c of cells) {
        const td = document.createElement("td");
        td.append(c);
        tr.append(td);
      }
      const td = document.createElement("td");
      const b = document.createElement("button");
      b.className = "plain test";
      b.textContent = t("p.test");
      const out = document.createElement("span");
      out.className = "result";
      const name = tg.provider + "/" + tg.model;
      if (testResults[name]) out.textContent = testResults[name];
      b.addEventListener("click", async () => {
        testResults[name] = describeTest(await apiJSON("/admin/test", { method: "POST", body: JSON.stringify({ target: name }) }));
        loadProviders();
      });
      td.append(b, " ", out);
      tr.append(td);
      return tr;
    }));
  } catch (err) { /* shown on the next refresh */ }
  providersTimer = setTimeout(loadProviders, 1000);
}

const testResults = {}; // target → its last test, kept over refreshes

function describeTest(r) {
  const tries = (r.attempts || []).map((a) => `${a.target} ${a.status || "×"} ${a.ms.toFixed(0)} ms`).join(" → ");
  return (r.ok ? "✓ " : "✗ " + (r.error || r.status) + " · ") + `${r.latency_ms.toFixed(0)} ms` + (tries ? ` (${tries})` : "");
}

async function testChain(e) {
  e.preventDefault();
  const out = $("p-chain-result");
  try {
    const r = await apiJSON("/admin/test", { method: "POST", body: JSON.stringify({ model: $("p-model").value.trim() }) });
    out.textContent = describeTest(r);
    out.dataset.ok = String(r.ok);
  } catch (err) {
    out.textContent = "✗ " + err.message;
    out.dataset.ok = "false";
  }
}

// ---- usage ------------------------------------------------------------

const measureOf = {
  requests: (g) => g.requests,
  tokens: (g) => g.prompt_tokens + g.completion_tokens,
  cost: (g) => g.cost,
};

async function loadUsage() {
  $("u-error").hidden = true;
  const days = $("u-days").value, by = $("u-by").value, measure = $("u-measure").value;
  try {
    const [sum, heat, series] = await Promise.all([
      apiJSON(`/admin/usage?days=${days}&by=${by}`),
      apiJSON(`/admin/usage?days=${days}&heatmap=1`),
      by === "day" ? Promise.resolve({ series: [] }) : apiJSON(`/admin/usage?days=${days}&by=${by}&series=1`),
    ]);
    drawBars(sum.groups, measureOf[measure], measure);
    drawSeries(series.series, measureOf[measure], measure, Number(days));
    drawHeatmap(heat.heatmap);
  } catch (err) {
    $("u-error").textContent = err.message;
    $("u-error").hidden = false;
  }
}

function fmt(v, measure) { return measure === "cost" ? "$" + v.toFixed(4) : String(Math.round(v)); }

function drawBars(groups, value, measure) {
  const box = $("u-bars");
  box.replaceChildren();
  const total = groups.reduce((a, g) => a + value(g), 0);
  $("u-total").textContent = `${t("u.total")}: ${fmt(total, measure)}`;
  $("u-total").dataset.total = String(total);
  if (!groups.length) return;
  const width = 1000, row = 26, left = 220, scale = width - left - 110;
  const max = Math.max(...groups.map(value), 1e-12);
  const g = svg("svg", { viewBox: `0 0 ${width} ${groups.length * row + 10}`, role: "img" });
  groups.forEach((gr, i) => {
    const y = 6 + i * row, v = value(gr);
    g.append(svg("text", { x: left - 8, y: y + 13, "text-anchor": "end" }, (gr.name || "—").slice(0, 32)),
      (() => {
        const bar = svg("rect", { x: left, y, width: Math.max(1, (v / max) * scale), height: 18, rx: 3, fill: "#2f6fed", class: "bar",
          "data-name": gr.name, "data-value": String(v), cursor: "pointer" });
        bar.addEventListener("click", () => drillDown(gr.name));
        return bar;
      })(),
      svg("text", { x: left + Math.max(1, (v / max) * scale) + 6, y: y + 13 }, fmt(v, measure)));
  });
  box.append(g);
}

// drillDown lists the rows one bar is made of (at most 500, newest first).
async function drillDown(name) {
  const days = $("u-days").value, by = $("u-by").value;
  const r = await apiJSON(`/admin/usage?days=${days}&by=${by}&name=${encodeURIComponent(name)}`);
  $("u-rows-title").textContent = `${by} = ${name || "—"}: ${r.rows.length}`;
  $("u-rows").replaceChildren(...r.rows.map((x) => {
    const tr = document.createElement("tr");
    tr.className = "urow";
    const cells = [new Date(x.Time).toLocaleString(), x.Status, x.Route || "", x.Provider ? x.Provider + "/" + x.Model : "", x.Key || "",
      x.latency_ms.toFixed(1) + " ms", `${x.PromptTokens} / ${x.CompletionTokens}`, "$" + x.Cost.toFixed(6), x.RequestID];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    return tr;
  }));
  $("u-rows-box").hidden = false;
}

const PALETTE = ["#2f6fed", "#1f9d55", "#c98a00", "#d64545", "#7b4fd6", "#0e9bb0", "#8a5a44", "#667085"];

// drawSeries stacks each day's groups, one colour per group, over the
// days asked for.
function drawSeries(points, value, measure, days) {
  const box = $("u-series");
  box.replaceChildren();
  const byDay = new Map(), groups = [];
  for (const p of points) {
    if (!groups.includes(p.name)) groups.push(p.name);
    if (!byDay.has(p.day)) byDay.set(p.day, []);
    byDay.get(p.day).push(p);
  }
  const today = new Date();
  const dayList = [];
  for (let i = days - 1; i >= 0; i--) dayList.push(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i)).toISOString().slice(0, 10));
  const width = 1000, height = 180, left = 60, bottom = 24, legend = 20;
  const max = Math.max(1e-12, ...dayList.map((d) => (byDay.get(d) || []).reduce((a, p) => a + value(p), 0)));
  const bw = (width - left - 10) / dayList.length;
  const g = svg("svg", { viewBox: `0 0 ${width} ${height + bottom + legend}`, role: "img" });
  g.append(svg("text", { x: left - 6, y: 12, "text-anchor": "end" }, fmt(max, measure)), svg("text", { x: left - 6, y: height, "text-anchor": "end" }, "0"));
  dayList.forEach((d, i) => {
    let y = height;
    for (const p of byDay.get(d) || []) {
      const h = (value(p) / max) * (height - 10);
      y -= h;
      g.append(svg("rect", { x: left + i * bw + 1, y, width: Math.max(1, bw - 2), height: Math.max(0, h), class: "seg",
        fill: PALETTE[groups.indexOf(p.name) % PALETTE.length], "data-day": d, "data-name": p.name, "data-value": String(value(p)) }),
      svg("title", {}, `${d} ${p.name || "—"}: ${fmt(value(p), measure)}`));
    }
    if (dayList.length <= 31 && (i % Math.ceil(dayList.length / 10) === 0)) g.append(svg("text", { x: left + i * bw + 2, y: height + 16 }, d.slice(5)));
  });
  groups.slice(0, 8).forEach((n, i) => {
    g.append(svg("rect", { x: left + i * 120, y: height + bottom + 4, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }),
      svg("text", { x: left + i * 120 + 14, y: height + bottom + 13 }, (n || "—").slice(0, 14)));
  });
  box.append(g);
}

function drawHeatmap(hm) {
  const box = $("u-heat");
  box.replaceChildren();
  const days = lang === "zh" ? ["日", "一", "二", "三", "四", "五", "六"] : ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const cell = 36, left = 50, top = 20;
  const max = Math.max(1, ...hm.flat());
  const g = svg("svg", { viewBox: `0 0 ${left + 24 * cell + 10} ${top + 7 * cell + 10}`, role: "img" });
  for (let h = 0; h < 24; h += 3) g.append(svg("text", { x: left + h * cell + 4, y: 14 }, String(h).padStart(2, "0")));
  hm.forEach((hours, d) => {
    g.append(svg("text", { x: 8, y: top + d * cell + 22 }, days[d]));
    hours.forEach((n, h) => {
      const a = n === 0 ? 0.04 : 0.15 + 0.85 * (n / max);
      g.append(svg("rect", { x: left + h * cell, y: top + d * cell, width: cell - 3, height: cell - 3, rx: 4,
        fill: `rgba(47,111,237,${a.toFixed(3)})`, class: "cell", "data-count": String(n) },
      ), svg("title", {}, `${days[d]} ${h}:00 — ${n}`));
    });
  });
  box.append(g);
}

// ---- keys -------------------------------------------------------------

function keyState(k) {
  if (k.revoked) return "revoked";
  if (!k.enabled) return "disabled";
  if (k.expires && new Date(k.expires) < new Date()) return "expired";
  return "enabled";
}

async function loadKeys() {
  $("k-error").hidden = true;
  try {
    const { keys } = await apiJSON("/admin/keys");
    $("k-rows").replaceChildren(...keys.map((k) => {
      const tr = document.createElement("tr");
      tr.dataset.key = k.name;
      const st = keyState(k);
      const pill = document.createElement("span");
      pill.className = "pill " + (st === "enabled" ? "closed" : "open");
      pill.textContent = t("k." + st);
      // Limits are edited in place; a change is saved when the field is left.
      const field = (name, value, step) => {
        if (k.revoked) return value || "—";
        const inp = document.createElement("input");
        inp.type = "number";
        inp.min = "0";
        inp.step = step;
        inp.className = "edit " + name;
        inp.value = value || 0;
        inp.addEventListener("change", () => patchKey(k.name, { [name]: Number(inp.value) }));
        return inp;
      };
      const models = k.revoked ? ((k.models || []).join(", ") || "*") : (() => {
        const inp = document.createElement("input");
        inp.className = "edit models";
        inp.value = (k.models || []).join(", ");
        inp.placeholder = "*";
        inp.addEventListener("change", () => patchKey(k.name, { models: inp.value.split(",").map((m) => m.trim()).filter(Boolean) }));
        return inp;
      })();
      const cells = [k.name, k.roles.join(", "), pill, models, field("requests_per_minute", k.requests_per_minute, "1"), field("budget_day", k.budget_day, "0.01")];
      for (const c of cells) {
        const td = document.createElement("td");
        td.append(c);
        tr.append(td);
      }
      const td = document.createElement("td");
      if (!k.revoked) {
        const toggle = document.createElement("button");
        toggle.className = "plain toggle";
        toggle.textContent = t(k.enabled ? "k.disable" : "k.enable");
        toggle.addEventListener("click", () => patchKey(k.name, { enabled: !k.enabled }));
        td.append(toggle, " ");
      }
      if (!k.revoked) {
        const b = document.createElement("button");
        b.className = "danger";
        b.textContent = t("k.revoke");
        b.addEventListener("click", async (e) => {
          e.stopPropagation();
          await api("/admin/keys/" + encodeURIComponent(k.name), { method: "DELETE" });
          loadKeys();
        });
        td.append(b);
      }
      tr.append(td);
      return tr;
    }));
  } catch (err) {
    $("k-error").textContent = err.message;
    $("k-error").hidden = false;
  }
}

async function patchKey(name, change) {
  $("k-error").hidden = true;
  try {
    await apiJSON("/admin/keys/" + encodeURIComponent(name), { method: "PATCH", body: JSON.stringify(change) });
  } catch (err) {
    $("k-error").textContent = err.message;
    $("k-error").hidden = false;
  }
  loadKeys();
}

async function createKey(e) {
  e.preventDefault();
  $("k-error").hidden = true;
  const body = { name: $("k-name").value.trim(), roles: [$("k-role").value] };
  const models = $("k-models").value.split(",").map((m) => m.trim()).filter(Boolean);
  if (models.length) body.models = models;
  if ($("k-rpm").value) body.requests_per_minute = Number($("k-rpm").value);
  if ($("k-budget").value) body.budget_day = Number($("k-budget").value);
  try {
    const created = await apiJSON("/admin/keys", { method: "POST", body: JSON.stringify(body) });
    const p = $("k-secret");
    p.textContent = `${created.key}  — ${t("k.shown")}`;
    p.dataset.secret = created.key;
    p.hidden = false;
    $("k-form").reset();
    loadKeys();
  } catch (err) {
    $("k-error").textContent = err.message;
    $("k-error").hidden = false;
  }
}

// ---- config -----------------------------------------------------------

let loadedConfig = "";

async function loadConfig() {
  const c = await apiJSON("/admin/config");
  loadedConfig = c.text;
  $("c-text").value = c.text;
  $("c-path").textContent = c.path;
  $("c-gen").textContent = c.generation;
  const lr = c.last_reload;
  $("c-last").textContent = lr ? `${t("c.last")}: ${lr.ok ? "ok" : "failed"} (${lr.trigger}, ${new Date(lr.time).toLocaleTimeString()})` : "";
  $("c-problems").replaceChildren();
  $("c-diffout").hidden = true;
  $("c-state").textContent = "";
}

function showProblems(problems) {
  $("c-problems").replaceChildren(...problems.map((p) => {
    const li = document.createElement("li");
    li.dataset.line = p.line;
    li.textContent = (p.line ? `${t("c.line")} ${p.line}: ` : "") + p.message;
    li.addEventListener("click", () => selectLine(p.line));
    return li;
  }));
  if (problems.length && problems[0].line) selectLine(problems[0].line);
}

function selectLine(n) {
  const ta = $("c-text"), lines = ta.value.split("\n");
  let start = 0;
  for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
  ta.focus();
  ta.setSelectionRange(start, start + (lines[n - 1] || "").length);
}

async function checkConfig() {
  const r = await apiJSON("/admin/config/check", { method: "POST", body: $("c-text").value, headers: { "Content-Type": "application/yaml" } });
  showProblems(r.problems);
  $("c-state").textContent = r.problems.length ? "" : t("c.ok");
}

async function saveConfig() {
  const res = await api("/admin/config", { method: "PUT", body: $("c-text").value, headers: { "Content-Type": "application/yaml" } });
  const body = await res.json().catch(() => ({}));
  if (res.status === 422) {
    showProblems(body.problems);
    $("c-state").textContent = t("c.refused");
    return;
  }
  if (!res.ok) {
    $("c-state").textContent = (body.error && body.error.message) || res.status;
    return;
  }
  await loadConfig();
  $("c-state").textContent = `${t("c.saved")} ${body.reload.generation}`;
}

// diffLines is a line diff of a against b (longest common subsequence).
function diffLines(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  const n = x.length, m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { i++; j++; continue; }
    if (j < m && (i === n || L[i][j + 1] >= L[i + 1][j])) out.push(["add", `+${j + 1}: ${y[j++]}`]);
    else out.push(["del", `-${i + 1}: ${x[i++]}`]);
  }
  return out;
}

function showDiff() {
  const d = diffLines(loadedConfig, $("c-text").value);
  const pre = $("c-diffout");
  pre.replaceChildren(...(d.length ? d : [["", t("c.nodiff")]]).map(([cls, line]) => {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = line + "\n";
    return span;
  }));
  pre.hidden = false;
}

// ---- quality ----------------------------------------------------------

function showEval(res) {
  const r = res.report;
  const pct = (x) => (100 * x).toFixed(1) + " %";
  $("q-n").textContent = r.n;
  $("q-acc").textContent = pct(r.accuracy);
  $("q-acc").dataset.value = String(r.accuracy);
  $("q-f1").textContent = r.macro_f1.toFixed(3);
  $("q-cov").textContent = pct(r.coverage);
  $("q-lat").textContent = `${r.latency_ms.p50.toFixed(2)} / ${r.latency_ms.p99.toFixed(2)} ms`;
  $("q-facts").hidden = false;
  $("q-report").hidden = false;
  $("q-state").textContent = `${res.data} · ${new Date(res.time).toLocaleString()} · ${(res.took_ms / 1000).toFixed(1)} s`;
  // Per-route F1 as bars.
  const names = Object.keys(r.per_route);
  const box = $("q-bars");
  box.replaceChildren();
  const width = 1000, row = 26, left = 180, scale = width - left - 120;
  const g = svg("svg", { viewBox: `0 0 ${width} ${names.length * row + 10}`, role: "img" });
  names.forEach((n, i) => {
    const p = r.per_route[n], y = 6 + i * row;
    g.append(svg("text", { x: left - 8, y: y + 13, "text-anchor": "end" }, n),
      svg("rect", { x: left, y, width: Math.max(1, p.f1 * scale), height: 18, rx: 3, fill: "#1f9d55", class: "f1", "data-route": n, "data-f1": String(p.f1) }),
      svg("text", { x: left + Math.max(1, p.f1 * scale) + 6, y: y + 13 }, `F1 ${p.f1.toFixed(3)} · n ${p.support}`));
  });
  box.append(g);
}

async function loadEval() {
  const res = await api("/admin/eval");
  if (res.ok) showEval(await res.json());
}

async function runEval() {
  $("q-state").textContent = t("q.running");
  try {
    showEval(await apiJSON("/admin/eval", { method: "POST" }));
  } catch (err) {
    $("q-state").textContent = err.message;
  }
}

async function downloadReport() {
  const res = await api("/admin/eval/report");
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = "switchyard-eval.html";
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- wiring -----------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  translate();
  $("lang").addEventListener("change", (e) => {
    lang = e.target.value;
    localStorage.setItem("switchyard.lang", lang);
    translate();
  });
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("login-key").value.trim());
  });
  $("logout").addEventListener("click", signOut);
  for (const b of document.querySelectorAll("#nav button")) b.addEventListener("click", () => show(b.dataset.screen));
  $("play-explain").addEventListener("click", explainNow);
  $("play-send").addEventListener("click", sendNow);
  for (const inp of document.querySelectorAll("[data-filter]")) inp.addEventListener("input", redraw);
  for (const id of ["u-days", "u-by", "u-measure"]) $(id).addEventListener("change", loadUsage);
  $("k-form").addEventListener("submit", createKey);
  $("c-check").addEventListener("click", checkConfig);
  $("p-chain").addEventListener("submit", testChain);
  $("q-run").addEventListener("click", runEval);
  $("q-report").addEventListener("click", downloadReport);
  $("c-save").addEventListener("click", saveConfig);
  $("c-diff").addEventListener("click", showDiff);
  if (key()) signIn(key()); else show(null);
});
