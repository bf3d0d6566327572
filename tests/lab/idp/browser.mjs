#!/usr/bin/env node
// The lab's test browser: plays the user at the lab IdP. Given the URL the app would open, it
// follows redirects, fills the sign-in form (and the device flow's code and confirmation forms)
// with LAB_BROWSER_USER / LAB_BROWSER_PASSWORD, and finally delivers the redirect to the app's
// loopback address, as a browser would. Used by the Rust lab tests and as the app's browser in
// the e2e test (USINE_BROWSER). With --device CODE, it first types the device flow's user code.
// Prints the last page's text, so a test can read what the user saw.
const args = process.argv.slice(2);
let userCode;
if (args[0] === "--device") {
  userCode = args[1];
  args.splice(0, 2);
}
let url = new URL(args[0]);
const user = process.env.LAB_BROWSER_USER ?? "alice";
const password = process.env.LAB_BROWSER_PASSWORD ?? "";
const jar = new Map();

const remember = (res) => {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at).trim(), pair.slice(at + 1));
  }
};
const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

async function go(target, init = {}) {
  let res = await fetch(target, {
    ...init,
    redirect: "manual",
    headers: { ...init.headers, cookie: cookies() },
  });
  remember(res);
  while (res.status >= 300 && res.status < 400) {
    target = new URL(res.headers.get("location"), target);
    res = await fetch(target, { redirect: "manual", headers: { cookie: cookies() } });
    remember(res);
  }
  return { res, at: target, html: await res.text() };
}

const attr = (tag, name) => tag.match(new RegExp(`${name}="([^"]*)"`))?.[1];

let { at, html } = await go(url);
for (let step = 0; step < 10; step++) {
  const form = html.match(/<form[^>]*>[\s\S]*?<\/form>/)?.[0];
  if (!form) break;
  const fields = new URLSearchParams();
  for (const input of form.match(/<input[^>]*>/g) ?? []) {
    const name = attr(input, "name");
    if (!name) continue;
    const value =
      { login: user, password, user_code: userCode }[name] ?? attr(input, "value") ?? "";
    fields.set(name, value);
  }
  if (html.includes("Wrong user name or password") && step > 0) break;
  const action = new URL(attr(form.match(/<form[^>]*>/)[0], "action") ?? at.href, at);
  ({ at, html } = await go(action, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: fields.toString(),
  }));
}
process.stdout.write(
  html
    .replace(/<style[\s\S]*?<\/style>/g, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim() + "\n",
);
