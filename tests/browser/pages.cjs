// Drives the `pages` example (plain HTML forms, no JavaScript of its own) in headless Chromium
// and prints what it saw as JSON. The server runs with a 3-second access TTL.
// Usage: node pages.cjs http://127.0.0.1:PORT (NODE_PATH must reach playwright-core).
const { run } = require("./chromium.cjs");

run(async (browser, seen) => {
  const url = process.argv[2];
  const context = await browser.newContext();
  const page = await context.newPage();
  const status = () => page.textContent("#status");
  const cookies = async () => Object.fromEntries((await context.cookies()).map((c) => [c.name, c.value]));
  // Submits a form by clicking its button and returns the status of the form's own response.
  const submit = async (form) => {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.click(`${form} button[type=submit]`),
    ]);
    await page.waitForLoadState();
    return response.status();
  };

  await page.goto(url);
  seen.before = await status();

  await page.fill("input[name=username]", "test");
  await page.fill("input[name=password]", "test");
  await submit("#login");
  seen.signedIn = await status();
  const first = await cookies();
  seen.firstCookies = Object.keys(first).sort();

  await page.waitForTimeout(4000);
  seen.accessCookieAfterTtl = "access_token" in (await cookies());
  await page.reload();
  seen.afterTtlReload = await status();
  const renewed = await cookies();
  seen.refreshRotated = renewed.refresh_token !== undefined && renewed.refresh_token !== first.refresh_token;

  await page.fill("#note input[name=text]", "hello");
  seen.noteStatus = await submit("#note");
  seen.note = await page.textContent("#note-saved");

  await page.evaluate(() => document.querySelector("#note input[name=_csrf]").remove());
  await page.fill("#note input[name=text]", "forged");
  seen.noteWithoutField = await submit("#note");

  await page.goto(url);
  const before = await context.cookies();
  seen.logoutStatus = await submit("#logout");
  seen.afterLogout = await status();
  seen.cookiesAfterLogout = (await context.cookies()).map((c) => c.name);

  await context.addCookies(before);
  await page.goto(url);
  seen.replayed = await status();
});
