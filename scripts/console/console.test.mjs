// Browser test of the web console: Debian's chromium driven by
// playwright-core against a real switchyard (scripts/console-e2e.sh starts
// it, with fake upstreams). Each check throws on failure; screenshots of
// every screen at 1366×900 go to docs/console/.
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
  for (const p of ["/admin/status", "/admin/providers", "/admin/traffic", "/admin/usage", "/metrics"]) {
    const r = await api.get(base + p);
    assert(r.status() === 401, `${p} without a key: ${r.status()}`);
  }
  const r = await api.post(base + "/admin/explain", { data: { model: "auto", messages: [{ role: "user", content: "hi" }] } });
  assert(r.status() === 401, "/admin/explain without a key: " + r.status());
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

await check("a request appears in live traffic within 1 s", async () => {
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
  await page.screenshot({ path: shots + "/providers.png" });
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
