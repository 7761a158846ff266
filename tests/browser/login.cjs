// Drives the `cookies` example's login page in headless Chromium and prints what it saw as
// JSON. Usage: node login.cjs http://127.0.0.1:PORT (NODE_PATH must reach playwright-core).
const { run } = require("./chromium.cjs");

run(async (browser, seen) => {
  const url = process.argv[2];
  const context = await browser.newContext();
  const page = await context.newPage();
  const status = () => page.textContent("#status");
  const waitStatus = (prefix) =>
    page.waitForFunction((p) => document.getElementById("status").textContent.startsWith(p), prefix);

  await page.goto(url);
  await waitStatus("Signed out");
  seen.before = await status();

  await page.fill("input[name=username]", "test");
  await page.fill("input[name=password]", "wrong");
  await page.click("button[type=submit]");
  await waitStatus("Wrong");
  seen.wrongPassword = await status();

  await page.fill("input[name=password]", "test");
  await page.check("input[name=remember]");
  await page.click("button[type=submit]");
  await waitStatus("Signed in");
  seen.signedIn = await status();

  await page.reload();
  await waitStatus("Signed in");
  seen.afterReload = await status();

  seen.cookies = (await context.cookies()).map((c) => ({
    name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path, secure: c.secure,
    session: c.expires === -1,
  }));
  seen.scriptCookies = await page.evaluate(() => document.cookie);

  await page.click("#note");
  await page.waitForFunction(() => document.getElementById("note-result").textContent !== "");
  seen.note = await page.textContent("#note-result");
  seen.noteWithoutCsrf = await page.evaluate(() =>
    fetch("/note", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"text":"x"}' })
      .then((r) => r.status));

  await page.click("#logout");
  await waitStatus("Signed out");
  seen.afterLogout = await status();
  seen.cookiesAfterLogout = (await context.cookies()).map((c) => c.name);
  await page.reload();
  await waitStatus("Signed out");
  seen.afterLogoutReload = await status();
});
