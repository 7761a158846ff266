// Headless Chromium as the browser tests run it: Debian's chromium (or $CHROMIUM), without the
// background traffic and sandbox a container cannot give it.
const { chromium } = require("playwright-core");

exports.launch = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });

// Runs `scenario(browser, seen)` in a fresh browser, closes it whatever happens, and prints
// what the scenario recorded in `seen` as JSON for the Rust test to read; exits non-zero on
// an error.
exports.run = (scenario) => {
  const main = async () => {
    const browser = await exports.launch();
    const seen = {};
    try {
      await scenario(browser, seen);
    } finally {
      await browser.close();
    }
    console.log(JSON.stringify(seen));
  };
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
};
