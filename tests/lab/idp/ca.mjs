// Stand-ins for the SSH certificate authorities sites run, written from their published APIs
// (no Go toolchain here to run the originals). Each signs with `ssh-keygen -s`.
//
// - step-ca (smallstep/certificates), over HTTPS with a root trusted by fingerprint:
//   GET /root/{sha256}       api/api.go Root: {"ca": PEM} of the root whose DER has that SHA-256
//   GET /provisioners        api/api.go Provisioners + authority/provisioner/oidc.go (JSON names)
//   POST /ssh/sign (/1.0/…, /sign-ssh)  api/ssh.go SSHSign: {publicKey (base64 wire), ott,
//       certType, principals, validAfter, validBefore} -> 201 {"crt": base64 wire}; the ott is
//       the OIDC ID token, checked as authority/provisioner/oidc.go does (signature from the
//       issuer's JWKS, iss, aud == clientID, one minute of leeway, e-mail domain); principals
//       default to the e-mail's local part and the e-mail, and a request may only narrow them.
// - sshca (wayf-dk/sshca, the EuroHPC Federation Platform's CA), sshca.go:
//   GET /{ca}/config -> {"PublicKey": CA key line}; POST /{ca}/signJSON {PublicKey, OTT,
//   Resource} -> {"ssh_cert", "resource", "posix_username"}; the OTT is an access token
//   (introspected here); ed25519 keys only; principals [id, username], ValidAfter now - 60 s,
//   extension ssh-domain-grant@core.aai.geant.org = ["<resource>"].
// - a bearer-token signing service (CSCS's hpc-ssh service, as its public clients call it):
//   POST /api/v1/ssh-keys/sign, Authorization: Bearer, {publicKey, duration: "1min" | "1d"}
//   -> {"sshKey": {"publicKey": certificate line, "expireTime", "serialNumber", "duration"}}.
//
// Lab-only: certificates last LAB_CERT_SECONDS (default 60) so that tests see renewals.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { createRemoteJWKSet, jwtVerify } from "jose";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const IDP = `http://127.0.0.1:${env("LAB_IDP_PORT")}`;
const LIFETIME = Number(env("LAB_CERT_SECONDS", "60"));
const USER_CA = env("LAB_USER_CA_KEY");
const EFP_CA = env("LAB_EFP_CA_KEY");
const CA_SECRET = env("LAB_IDP_CA_SECRET");
const STEP_PORT = Number(env("LAB_STEPCA_PORT"));
const ROOT_PEM = fs.readFileSync(env("LAB_STEPCA_ROOT"), "utf8");
const ROOT_SHA = createHash("sha256")
  .update(Buffer.from(ROOT_PEM.replace(/-----[^-]+-----|\s/g, ""), "base64"))
  .digest("hex");
// Who may use which resource (the federation's entitlements), and what each id maps to.
const POSIX = { alice: "alice" };
const ENTITLED = { alice: ["lab"] };
const RESOURCES = ["lab", "lab24"];

const jwks = createRemoteJWKSet(new URL(`${IDP}/jwks`));
let serial = Date.now();

// ssh-keygen signs files: a private temporary folder per request, removed at once.
function sign({ publicKeyLine, ca, keyId, principals, from, to, extensions = {} }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "usine-lab-ca-"));
  try {
    fs.writeFileSync(path.join(dir, "key.pub"), `${publicKeyLine.trim()}\n`);
    const now = Math.floor(Date.now() / 1000);
    const args = ["-q", "-s", ca, "-I", keyId, "-n", principals.join(","), "-z", String(serial++)];
    args.push("-V", `${from - now >= 0 ? "+" : ""}${from - now}s:+${to - now}s`);
    for (const [name, value] of Object.entries(extensions)) {
      args.push("-O", `extension:${name}=${value}`);
    }
    execFileSync("ssh-keygen", [...args, path.join(dir, "key.pub")], { stdio: "pipe" });
    return fs.readFileSync(path.join(dir, "key-cert.pub"), "utf8").trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const json = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
const readJson = async (req) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

async function introspect(token) {
  const res = await fetch(`${IDP}/token/introspection`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`usine-lab-ca:${CA_SECRET}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token: token ?? "" }).toString(),
  });
  const info = await res.json();
  return info.active ? info : undefined;
}

// --- step-ca ---------------------------------------------------------------------------------
const PROVISIONERS = [
  {
    type: "OIDC",
    name: "lab-oidc",
    clientID: "usine",
    clientSecret: "",
    configurationEndpoint: `${IDP}/.well-known/openid-configuration`,
    domains: ["lab.usine.test"],
    claims: { enableSSHCA: true, defaultUserSSHCertDuration: `${LIFETIME}s` },
  },
  {
    // The same, with the fixed loopback port that some sites register (step's listenAddress).
    type: "OIDC",
    name: "lab-oidc-fixed-port",
    clientID: "usine",
    clientSecret: "",
    configurationEndpoint: `${IDP}/.well-known/openid-configuration`,
    listenAddress: `127.0.0.1:${env("LAB_STEPCA_LISTEN_PORT")}`,
    domains: ["lab.usine.test"],
    claims: { enableSSHCA: true, defaultUserSSHCertDuration: `${LIFETIME}s` },
  },
];
const stepError = (res, status, message) => json(res, status, { status, message });

async function stepSign(req, res) {
  const body = await readJson(req);
  if (!body?.publicKey || !body?.ott) return stepError(res, 400, "publicKey and ott are required");
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(body.ott, jwks, {
      issuer: IDP,
      audience: "usine",
      clockTolerance: 60,
    }));
  } catch (e) {
    return stepError(
      res,
      401,
      `The request lacked necessary authorization to be completed: ${e.message}`,
    );
  }
  const email = String(claims.email ?? "");
  const [local, domain] = email.split("@");
  if (!PROVISIONERS[0].domains.includes(domain)) {
    return stepError(
      res,
      403,
      `The request was forbidden by the certificate authority: email "${email}" is not allowed`,
    );
  }
  const allowed = [local, email];
  const principals = body.principals?.length ? body.principals : allowed;
  if (principals.some((p) => !allowed.includes(p))) {
    return stepError(
      res,
      403,
      `The request was forbidden by the certificate authority: principals ${JSON.stringify(principals)} are not allowed`,
    );
  }
  if ((body.certType ?? "user") !== "user") return stepError(res, 403, "only user certificates");
  const now = Math.floor(Date.now() / 1000);
  const from = body.validAfter ? Math.floor(Date.parse(body.validAfter) / 1000) : now;
  const to = body.validBefore ? Math.floor(Date.parse(body.validBefore) / 1000) : from + LIFETIME;
  const wire = Buffer.from(String(body.publicKey), "base64");
  const type = wire.length > 4 ? wire.subarray(4, 4 + wire.readUInt32BE(0)).toString() : "";
  const line = sign({
    publicKeyLine: `${type} ${body.publicKey}`,
    ca: USER_CA,
    keyId: email,
    principals,
    from,
    to: Math.min(to, from + 86400),
  });
  json(res, 201, { crt: line.split(" ")[1] });
}

function stepCa(req, res) {
  const url = new URL(req.url, "https://localhost");
  const route = url.pathname.replace(/^\/1\.0/, "");
  if (req.method === "GET" && route.startsWith("/root/")) {
    return route.slice(6).toLowerCase() === ROOT_SHA
      ? json(res, 200, { ca: ROOT_PEM })
      : stepError(res, 404, "The requested resource could not be found.");
  }
  if (req.method === "GET" && route === "/provisioners") {
    return json(res, 200, { provisioners: PROVISIONERS, nextCursor: "" });
  }
  if (req.method === "GET" && route === "/health") return json(res, 200, { status: "ok" });
  if (req.method === "POST" && (route === "/ssh/sign" || route === "/sign-ssh")) {
    return stepSign(req, res).catch((e) => stepError(res, 500, String(e)));
  }
  stepError(res, 404, "The requested resource could not be found.");
}

// --- sshca (EFP) -----------------------------------------------------------------------------
const EFP_CA_NAME = "lab-efp";
const efpCaLine = fs.readFileSync(`${EFP_CA}.pub`, "utf8").trim();

async function efpSign(req, res) {
  const body = await readJson(req);
  const info = await introspect(body?.OTT);
  if (!info) return json(res, 403, { error: "invalid or expired token" });
  const resource = String(body.Resource ?? "");
  if (!RESOURCES.includes(resource))
    return json(res, 500, { error: `unknown resource ${resource}` });
  if (!(ENTITLED[info.sub] ?? []).includes(resource)) {
    return json(res, 403, { error: `no entitlement for resource ${resource}` });
  }
  if (!String(body.PublicKey ?? "").startsWith("ssh-ed25519 ")) {
    return json(res, 400, { error: "only ed25519 keys are accepted" });
  }
  const principal = createHash("sha256").update(info.sub).digest("hex").slice(0, 32);
  const now = Math.floor(Date.now() / 1000);
  const certificate = sign({
    publicKeyLine: body.PublicKey,
    ca: EFP_CA,
    keyId: principal,
    principals: [principal, POSIX[info.sub]],
    from: now - 60,
    to: now + LIFETIME,
    extensions: { "ssh-domain-grant@core.aai.geant.org": JSON.stringify([resource]) },
  });
  json(res, 200, { ssh_cert: `${certificate}\n`, resource, posix_username: POSIX[info.sub] });
}

function sshca(req, res) {
  const route = new URL(req.url, "http://localhost").pathname;
  if (req.method === "GET" && route === `/${EFP_CA_NAME}/config`) {
    return json(res, 200, { PublicKey: efpCaLine });
  }
  if (req.method === "POST" && route === `/${EFP_CA_NAME}/signJSON`) {
    return efpSign(req, res).catch((e) => json(res, 500, { error: String(e) }));
  }
  json(res, 404, { error: "not found" });
}

// --- bearer-token signing service ------------------------------------------------------------
const DURATIONS = { "1min": 60, "1d": 86400 };

async function bearerSign(req, res) {
  const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
  const info = await introspect(token);
  if (!info) return json(res, 401, { detail: "Access token is invalid or expired" });
  const body = await readJson(req);
  const seconds = DURATIONS[body?.duration];
  if (!seconds || !body?.publicKey) {
    return json(res, 422, {
      detail: `duration must be one of ${Object.keys(DURATIONS).join(", ")}`,
    });
  }
  const now = Math.floor(Date.now() / 1000);
  const to = now + Math.min(seconds, LIFETIME);
  const certificate = sign({
    publicKeyLine: body.publicKey,
    ca: USER_CA,
    keyId: info.sub,
    principals: [POSIX[info.sub] ?? info.sub],
    from: now,
    to,
  });
  json(res, 201, {
    sshKey: {
      publicKey: certificate,
      expireTime: new Date(to * 1000).toISOString(),
      serialNumber: String(serial),
      duration: body.duration,
    },
  });
}

function signer(req, res) {
  const route = new URL(req.url, "http://localhost").pathname;
  if (req.method === "POST" && route === "/api/v1/ssh-keys/sign") {
    return bearerSign(req, res).catch((e) => json(res, 500, { detail: String(e) }));
  }
  json(res, 404, { detail: "Not Found" });
}

const tls = {
  cert: fs.readFileSync(env("LAB_STEPCA_TLS_CERT")),
  key: fs.readFileSync(env("LAB_STEPCA_TLS_KEY")),
};
https.createServer(tls, stepCa).listen(STEP_PORT, "127.0.0.1");
http.createServer(sshca).listen(Number(env("LAB_SSHCA_PORT")), "127.0.0.1");
http.createServer(signer).listen(Number(env("LAB_SIGNER_PORT")), "127.0.0.1");
console.log(`lab CAs: step-ca https://127.0.0.1:${STEP_PORT} (root ${ROOT_SHA}), sshca, signer`);
