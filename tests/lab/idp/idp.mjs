// The lab's identity provider: `oidc-provider` (an OpenID Certified implementation) with what a
// site's IdP offers a desktop client: authorization code + PKCE with loopback redirects on any
// port (RFC 8252), the device flow (RFC 8628), refresh tokens and introspection (for the CAs).
// One user, alice, whose password is checked: a wrong one gets the form again with an error, as
// a real IdP answers. Lab-only throwaway secrets come from the environment (tests/lab/lib.sh).
import http from "node:http";
import { generateKeyPair, exportJWK } from "jose";
import Provider from "oidc-provider";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const PORT = Number(env("LAB_IDP_PORT"));
const ISSUER = `http://127.0.0.1:${PORT}`;
const ACCOUNTS = {
  alice: {
    password: env("LAB_IDP_PASSWORD"),
    email: "alice@lab.usine.test",
  },
};

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const signing = {
  ...(await exportJWK(privateKey)),
  kid: `lab-${Date.now()}`,
  alg: "RS256",
  use: "sig",
};

const provider = new Provider(ISSUER, {
  clients: [
    {
      // Usine, a public native client: no secret, PKCE required, any loopback port.
      client_id: "usine",
      application_type: "native",
      token_endpoint_auth_method: "none",
      redirect_uris: ["http://127.0.0.1/callback"],
      grant_types: [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
      ],
      response_types: ["code"],
    },
    {
      // The EFP-style CA: introspects the access tokens it is given.
      client_id: "usine-lab-ca",
      client_secret: env("LAB_IDP_CA_SECRET"),
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [signing] },
  cookies: { keys: [env("LAB_IDP_CA_SECRET")] },
  // step-ca reads the e-mail from the ID token itself, as Keycloak and MyAccessID put it there.
  conformIdTokenClaims: false,
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  scopes: ["openid", "email", "offline_access"],
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
  ttl: {
    AccessToken: 300,
    IdToken: 300,
    RefreshToken: 86400,
    DeviceCode: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 86400,
  },
  findAccount: async (_ctx, id) => {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, email: account.email, email_verified: true }),
    };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

const page = (title, body) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

const loginForm = (uid, message) =>
  page(
    "Lab sign-in",
    `${message ? `<p class="error">${message}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
<input name="login" autocomplete="username"><input name="password" type="password">
<button type="submit">Sign in</button></form>
<a href="/interaction/${uid}/abort">Cancel</a>`,
  );

const readForm = async (req) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
};

const send = (res, status, html) => {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(html);
};

async function interaction(req, res) {
  const [, , uid, action] = new URL(req.url, ISSUER).pathname.split("/");
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page("Wrong sign-in", "<p>Start again.</p>"));
  if (action === "abort") {
    return provider.interactionFinished(req, res, {
      error: "access_denied",
      error_description: "The user cancelled the sign-in.",
    });
  }
  if (details.prompt.name === "login") {
    if (req.method !== "POST" || action !== "login") return send(res, 200, loginForm(uid));
    const form = await readForm(req);
    const account = ACCOUNTS[form.get("login")];
    if (!account || account.password !== form.get("password")) {
      return send(res, 200, loginForm(uid, "Wrong user name or password."));
    }
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: form.get("login") } },
      { mergeWithLastSubmission: false },
    );
  }
  // Consent: the lab's users agree to everything the client asks (a site's IdP asks once).
  const { params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  return provider.interactionFinished(
    req,
    res,
    { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true },
  );
}

const app = provider.callback();
http
  .createServer((req, res) => {
    if (req.url.startsWith("/interaction/")) {
      interaction(req, res).catch((e) => send(res, 500, page("Error", `<p>${String(e)}</p>`)));
    } else {
      app(req, res);
    }
  })
  .listen(PORT, "127.0.0.1", () => console.log(`lab IdP on ${ISSUER}`));
