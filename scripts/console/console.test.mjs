// Browser test of the web console: Debian's chromium driven by
// playwright-core against a real switchyard (scripts/console-e2e.sh starts
// it, with fake upstreams). Each check throws on failure; screenshots of
// every screen at 1366×900 go to docs/console/.
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";

const base = process.env.CONSOLE_URL;
const adminKey = process.env.CONSOLE_ADMIN_KEY;
const shots = process.env.CONSOLE_SHOTS;
const flakyPid = Number(process.env.CONSOLE_FLAKY_PID);

const checks = [];
async function check(name, f) {
  const start = Date.now();
  try {
    await f();
    checks.push(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (err) {
    checks.push(`FAIL ${name}: ${err.message}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, locale: "en-US" });
// CSP violations are reported on the console; uncaught exceptions as page
// errors. (A refused sign-in's 401 is expected, and not an error here.)
const cspErrors = [];
page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text()); });
page.on("pageerror", (e) => cspErrors.push(e.message));
const api = page.request;
const auth = { Authorization: "Bearer " + adminKey };

await check("the console is served with a strict Content-Security-Policy", async () => {
  const res = await page.goto(base + "/");
  const csp = res.headers()["content-security-policy"] || "";
  assert(res.status() === 200, "GET / " + res.status());
  assert(csp.includes("default-src 'none'") && csp.includes("script-src 'self'") && !csp.includes("unsafe"), "CSP: " + csp);
  await page.screenshot({ path: shots + "/login.png" });
});

await check("a wrong key is refused", async () => {
  await page.fill("#login-key", "sk-wrong");
  await page.click("#login-form button");
  await page.waitForSelector("#login-error:not([hidden])", { timeout: 3000 });
  assert(await page.isHidden("#nav"), "the screens opened for a wrong key");
});

await check("the admin API refuses calls without the key", async () => {
  for (const p of ["/admin/status", "/admin/providers", "/admin/traffic", "/admin/usage", "/admin/usage?heatmap=1", "/admin/keys", "/admin/config",
    "/admin/conversations?request_id=x", "/admin/eval", "/admin/eval/report", "/metrics"]) {
    const r = await api.get(base + p);
    assert(r.status() === 401, `${p} without a key: ${r.status()}`);
  }
  const r = await api.post(base + "/admin/explain", { data: { model: "auto", messages: [{ role: "user", content: "hi" }] } });
  assert(r.status() === 401, "/admin/explain without a key: " + r.status());
  for (const [method, p] of [["post", "/admin/keys"], ["post", "/admin/test"], ["post", "/admin/eval"], ["post", "/admin/config/check"], ["put", "/admin/config"], ["delete", "/admin/keys/root"], ["patch", "/admin/keys/root"]]) {
    const r = await api[method](base + p, { data: "x: 1" });
    assert(r.status() === 401, `${method.toUpperCase()} ${p} without a key: ${r.status()}`);
  }
});

await check("the admin key signs in", async () => {
  await page.fill("#login-key", adminKey);
  await page.click("#login-form button");
  await page.waitForSelector("#nav:not([hidden])", { timeout: 3000 });
});

const prompts = [
  "write a python function that parses dates",
  "tell me a bedtime story about a dragon",
  "user: fix this stack trace\nassistant: which language?\nuser: make it shorter",
];
await check("the playground shows /admin/explain's scores for three prompts", async () => {
  await page.click('#nav button[data-screen="playground"]');
  for (const text of prompts) {
    const messages = text.split("\n").map((l) => {
      const m = /^(system|user|assistant):\s*(.*)$/i.exec(l);
      return m ? { role: m[1].toLowerCase(), content: m[2] } : { role: "user", content: l };
    });
    const e = await (await api.post(base + "/admin/explain", { headers: auth, data: { model: "auto", messages } })).json();
    const want = e.scores.map((s) => [s.route, s.score.toFixed(6), s.threshold.toFixed(6)]);
    assert(want.length >= 2, "the API scored " + want.length + " routes");
    await page.evaluate(() => document.getElementById("play-bars").replaceChildren());
    await page.fill("#play-text", text);
    await page.click("#play-explain");
    await page.waitForFunction((n) => document.querySelectorAll("#play-bars rect.score").length === n, want.length, { timeout: 5000 });
    const drawn = await page.$$eval("#play-bars rect.score", (rs) => rs.map((r) => [r.dataset.route, r.dataset.score, r.dataset.threshold]));
    assert(JSON.stringify(drawn) === JSON.stringify(want), `"${text}": drawn ${JSON.stringify(drawn)}, API ${JSON.stringify(want)}`);
  }
  await page.fill("#play-text", prompts[0]);
  await page.click("#play-explain");
  await page.waitForSelector("#play-bars rect.score");
  await page.screenshot({ path: shots + "/playground.png" });
});

await check("a request appears in live traffic within 1 s, and opens on its conversation", async () => {
  await page.click('#nav button[data-screen="traffic"]');
  await page.waitForFunction(() => document.getElementById("traffic-state").textContent.includes("●"), null, { timeout: 3000 });
  const id = "console-test-" + Date.now();
  const sent = Date.now();
  const r = await api.post(base + "/v1/chat/completions", {
    headers: { ...auth, "X-Request-Id": id },
    data: { model: "auto", messages: [{ role: "user", content: "write a python function that parses dates" }] },
  });
  assert(r.status() === 200, "chat " + r.status());
  await page.waitForSelector(`#traffic-rows tr[data-request-id="${id}"]`, { timeout: 1000 });
  const took = Date.now() - sent;
  assert(took <= 1000, `shown after ${took} ms`);
  await page.click(`#traffic-rows tr[data-request-id="${id}"]`);
  const detail = await page.textContent("#traffic-detail");
  assert(detail.includes('"attempts"') && detail.includes(id), "the detail lacks the attempts");
  // The conversation log has the request a moment later: clicked again,
  // the detail shows what was asked.
  const asked = "user: write a python function that parses dates";
  let shown = false;
  for (let i = 0; i < 10 && !shown; i++) {
    await page.click(`#traffic-rows tr[data-request-id="${id}"]`);
    shown = await page.waitForFunction((text) => document.getElementById("traffic-detail").textContent.includes(text), asked, { timeout: 1000 })
      .then(() => true, () => false);
  }
  assert(shown, "the conversation is not shown");
  await page.screenshot({ path: shots + "/traffic.png" });
});

await check("a dead upstream's circuit turns red after its failures", async () => {
  process.kill(flakyPid, "SIGKILL");
  for (let i = 0; i < 2; i++) {
    const r = await api.post(base + "/v1/chat/completions", { headers: auth, data: { model: "flaky-model", messages: [{ role: "user", content: "hi" }] } });
    assert(r.status() === 200, "the chain did not fail over: " + r.status());
  }
  await page.click('#nav button[data-screen="providers"]');
  await page.waitForSelector('#provider-rows tr[data-target="flaky/flaky-model"] .pill.open', { timeout: 5000 });
  const color = await page.$eval('#provider-rows tr[data-target="flaky/flaky-model"] .pill', (p) => getComputedStyle(p).backgroundColor);
  assert(color === "rgb(214, 69, 69)", "open circuit drawn in " + color);
  await page.click('#provider-rows tr[data-target="up/bench-model"] button.test');
  await page.waitForFunction(() => (document.querySelector('#provider-rows tr[data-target="up/bench-model"] .result') || {}).textContent?.startsWith("✓"), null, { timeout: 5000 });
  await page.fill("#p-model", "flaky-model");
  await page.click("#p-chain button");
  await page.waitForFunction(() => document.getElementById("p-chain-result").dataset.ok === "true", null, { timeout: 5000 });
  const chain = await page.textContent("#p-chain-result");
  assert(chain.includes("up/bench-model 200"), "the chain test did not answer from up: " + chain);
  await page.screenshot({ path: shots + "/providers.png" });
});

await check("the usage chart's totals equal /admin/usage, and a bar opens on its rows", async () => {
  // The usage writer flushes within a second: wait until the total has
  // held for 1.5 s.
  let want = -1, held = 0;
  for (let i = 0; i < 40 && held < 3; i++) {
    const u = await (await api.get(base + "/admin/usage?days=7&by=model", { headers: auth })).json();
    const total = u.groups.reduce((a, g) => a + g.requests, 0);
    held = total === want && total > 0 ? held + 1 : 0;
    want = total;
    await new Promise((r) => setTimeout(r, 500));
  }
  await page.click('#nav button[data-screen="usage"]');
  await page.selectOption("#u-by", "model");
  await page.selectOption("#u-measure", "requests");
  await page.waitForFunction((w) => Number(document.getElementById("u-total").dataset.total) === w, want, { timeout: 5000 })
    .catch(async () => { throw new Error(`total ${await page.getAttribute("#u-total", "data-total")}, want ${want}; ${await page.textContent("#u-error")}`); });
  const bars = await page.$$eval("#u-bars rect.bar", (rs) => rs.reduce((a, r) => a + Number(r.dataset.value), 0));
  const segs = await page.$$eval("#u-series rect.seg", (rs) => rs.reduce((a, r) => a + Number(r.dataset.value), 0));
  assert(segs === want, `the over-time chart sums ${segs}, /admin/usage ${want}`);
  const cells = await page.$$eval("#u-heat rect.cell", (rs) => rs.reduce((a, r) => a + Number(r.dataset.count), 0));
  assert(bars === want && cells === want, `bars ${bars}, heat map ${cells}, /admin/usage ${want}`);
  // A bar opens on its rows: as many as it counts.
  const first = await page.$eval("#u-bars rect.bar", (r) => Number(r.dataset.value));
  await page.click("#u-bars rect.bar");
  await page.waitForSelector("#u-rows-box:not([hidden])", { timeout: 3000 });
  const rows = await page.$$eval("#u-rows tr.urow", (rs) => rs.length);
  assert(rows === first, `the bar counts ${first}, its drill-down lists ${rows} rows`);
  await page.screenshot({ path: shots + "/usage.png" });
});

await check("a key created in the browser works with the openai SDK; disabled, narrowed or revoked there, it is refused", async () => {
  const py = process.env.CONSOLE_PYTHON;
  assert(py, "CONSOLE_PYTHON (the interop venv's python with the openai package) is not set");
  const sdk = (secret) => {
    const code = "import sys, openai\n" +
      "c = openai.OpenAI(base_url=sys.argv[1] + '/v1', api_key=sys.argv[2], max_retries=0)\n" +
      "try:\n c.chat.completions.create(model='auto', messages=[{'role': 'user', 'content': 'hi'}]); print('ok')\n" +
      "except openai.APIStatusError as e: print(e.status_code)\n";
    return execFileSync(py, ["-c", code, base, secret]).toString().trim();
  };
  await page.click('#nav button[data-screen="keys"]');
  await page.fill("#k-name", "browser-made");
  await page.fill("#k-rpm", "100");
  await page.click("#k-form button");
  await page.waitForSelector("#k-secret:not([hidden])", { timeout: 3000 });
  const secret = await page.getAttribute("#k-secret", "data-secret");
  assert(secret && secret.startsWith("sk-"), "no secret shown");
  await page.waitForSelector('#k-rows tr[data-key="browser-made"]');
  await page.screenshot({ path: shots + "/keys.png" });
  assert(sdk(secret) === "ok", "the SDK with the new key did not get an answer");
  // Disabled, then enabled again, then allowed the creative route only.
  await page.click('#k-rows tr[data-key="browser-made"] button.toggle');
  await page.waitForFunction(() => document.querySelector('#k-rows tr[data-key="browser-made"] button.toggle')?.textContent === "Enable", null, { timeout: 3000 });
  assert(sdk(secret) === "401", "the SDK with the disabled key was answered");
  await page.click('#k-rows tr[data-key="browser-made"] button.toggle');
  await page.waitForFunction(() => document.querySelector('#k-rows tr[data-key="browser-made"] button.toggle')?.textContent === "Disable", null, { timeout: 3000 });
  assert(sdk(secret) === "ok", "the SDK with the key enabled again got no answer");
  await page.fill('#k-rows tr[data-key="browser-made"] input.models', "creative");
  await page.press('#k-rows tr[data-key="browser-made"] input.models', "Tab");
  for (let i = 0; i < 30; i++) {
    const ks = await (await api.get(base + "/admin/keys", { headers: auth })).json();
    if (JSON.stringify(ks.keys.find((k) => k.name === "browser-made").models) === '["creative"]') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert(sdk(secret) === "403", "a key allowed only the creative route was answered on another");
  await page.click('#k-rows tr[data-key="browser-made"] button.danger');
  await page.waitForFunction(() => !document.querySelector('#k-rows tr[data-key="browser-made"] button.danger'), null, { timeout: 3000 });
  const after = sdk(secret);
  assert(after === "401", "the SDK with the revoked key got " + after);
});

await check("a config edit with an error is refused at its line; a valid one is the new generation", async () => {
  await page.click('#nav button[data-screen="config"]');
  await page.waitForFunction(() => document.getElementById("c-text").value.includes("routes:"), null, { timeout: 3000 });
  const gen = Number(await page.textContent("#c-gen"));
  const text = await page.inputValue("#c-text");
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith("routing:"));
  assert(at >= 0, "no routing line");
  lines[at] = "routing: {threshold: 0.5, ground: false, top_k: 0}";
  await page.fill("#c-text", lines.join("\n"));
  await page.click("#c-save");
  await page.waitForSelector("#c-problems li", { timeout: 5000 });
  const placed = await page.getAttribute("#c-problems li", "data-line");
  assert(Number(placed) === at + 1, `problem placed at line ${placed}, the edit is on line ${at + 1}`);
  const after = await (await api.get(base + "/admin/config", { headers: auth })).json();
  assert(after.generation === gen && after.text === text, "the refused edit changed the config");
  await page.screenshot({ path: shots + "/config.png" });
  await page.fill("#c-text", text.replace("default_route: chat", "# edited in the console\ndefault_route: chat"));
  await page.click("#c-diff");
  assert((await page.textContent("#c-diffout")).includes("+"), "no diff shown");
  await page.click("#c-save");
  await page.waitForFunction((g) => Number(document.getElementById("c-gen").textContent) > g, gen, { timeout: 10000 });
  const saved = await (await api.get(base + "/admin/config", { headers: auth })).json();
  assert(saved.text.includes("# edited in the console") && saved.generation > gen, "the valid edit was not applied");
});

await check("the quality screen runs eval on the server's corpus and shows its report", async () => {
  await page.click('#nav button[data-screen="quality"]');
  await page.click("#q-run");
  await page.waitForSelector("#q-facts:not([hidden])", { timeout: 30000 });
  const shown = Number(await page.getAttribute("#q-acc", "data-value"));
  const last = await (await api.get(base + "/admin/eval", { headers: auth })).json();
  assert(last.report.n === 8 && Math.abs(last.report.accuracy - shown) < 1e-12, `shown accuracy ${shown}, API ${JSON.stringify(last.report.accuracy)} over ${last.report.n}`);
  const bars = await page.$$eval("#q-bars rect.f1", (rs) => rs.map((r) => r.dataset.route).sort().join(","));
  assert(bars === Object.keys(last.report.per_route).sort().join(","), "per-route bars " + bars);
  const html = await api.get(base + "/admin/eval/report", { headers: auth });
  assert(html.status() === 200 && (await html.text()).includes("<svg"), "the HTML report");
  await page.screenshot({ path: shots + "/quality.png" });
});

await check("the console switches to Chinese", async () => {
  await page.selectOption("#lang", "zh");
  const label = await page.textContent('#nav button[data-screen="traffic"]');
  assert(label === "实时流量", "traffic tab reads " + label);
  await page.selectOption("#lang", "en");
});

await check("no Content-Security-Policy violation or script error", async () => {
  assert(cspErrors.length === 0, cspErrors.join("; "));
});

await browser.close();
console.log(checks.join("\n"));
process.exit(checks.some((c) => c.startsWith("FAIL")) ? 1 : 0);
