import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import {
  BLOCKED_ADDRESS_CODE,
  BlockedAddressError,
  checkWebhookTarget,
  classifyAddress,
  createGuardedLookup,
  type HostLookup,
} from "../../src/webhooks/url-guard.js";

describe("classifyAddress", () => {
  it.each([
    ["8.8.8.8", "public"],
    ["93.184.216.34", "public"],
    ["172.32.0.1", "public"],
    ["100.128.0.1", "public"],
    ["2606:4700:4700::1111", "public"],
    ["::ffff:8.8.8.8", "public"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["::ffff:192.168.1.1", "private"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["fc00::1", "unique-local"],
    ["fd12:3456::1", "unique-local"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["::127.0.0.1", "reserved"],
    ["example.com", "invalid"],
    ["", "invalid"],
  ])("%s is %s", (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

const fakeDns =
  (table: Record<string, string[]>): HostLookup =>
  async (hostname) => {
    const found = table[hostname];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return found;
  };

describe("checkWebhookTarget", () => {
  const lookup = fakeDns({
    "hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"],
    "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
    "internal.example.com": ["fd00::5"],
    "empty.example.com": [],
  });

  it("accepts an http(s) URL whose host resolves only to public addresses", async () => {
    const check = await checkWebhookTarget("https://hooks.example.com/smm?token=x", { lookup });
    expect(check.ok).toBe(true);
    expect(check.ok && check.url.href).toBe("https://hooks.example.com/smm?token=x");
    expect((await checkWebhookTarget("http://93.184.216.34:8080/", { lookup })).ok).toBe(true);
  });

  it("refuses other schemes, credentials and bad URLs permanently", async () => {
    expect(await checkWebhookTarget("ftp://hooks.example.com/", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "unsupported scheme ftp",
    });
    expect(await checkWebhookTarget("file:///etc/passwd", { allowPrivate: true })).toEqual({
      ok: false,
      permanent: true,
      reason: "unsupported scheme file",
    });
    expect(await checkWebhookTarget("https://u:p@hooks.example.com/", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "credentials in the URL",
    });
    expect(await checkWebhookTarget("not a url", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "invalid URL",
    });
  });

  it("refuses literal loopback/private addresses and hosts with any non-public address", async () => {
    expect(await checkWebhookTarget("http://127.0.0.1:9/", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "refused loopback address 127.0.0.1",
    });
    expect(await checkWebhookTarget("http://[::1]:9/", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "refused loopback address ::1",
    });
    expect(await checkWebhookTarget("http://169.254.169.254/latest/meta-data", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "refused link-local address 169.254.169.254",
    });
    expect(await checkWebhookTarget("https://mixed.example.com/", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "refused private address 10.1.2.3",
    });
    expect(await checkWebhookTarget("https://internal.example.com/", { lookup })).toEqual({
      ok: false,
      permanent: true,
      reason: "refused unique-local address fd00::5",
    });
  });

  it("refuses localhost through the system resolver", async () => {
    const check = await checkWebhookTarget("http://localhost:9/hook");
    expect(check).toMatchObject({ ok: false, permanent: true });
    expect(check.ok ? "" : check.reason).toMatch(/^refused loopback address (127\.0\.0\.1|::1)$/);
  });

  it("reports a failed lookup as temporary", async () => {
    expect(await checkWebhookTarget("https://nowhere.example.com/", { lookup })).toEqual({
      ok: false,
      permanent: false,
      reason: "DNS lookup failed (ENOTFOUND)",
    });
    expect(await checkWebhookTarget("https://empty.example.com/", { lookup })).toEqual({
      ok: false,
      permanent: false,
      reason: "DNS lookup returned no address",
    });
  });

  it("allows anything http(s) with allowPrivate, without resolving", async () => {
    expect((await checkWebhookTarget("http://127.0.0.1:9/", { allowPrivate: true, lookup })).ok).toBe(true);
    expect((await checkWebhookTarget("http://unresolvable.test/", { allowPrivate: true, lookup })).ok).toBe(true);
  });
});

describe("createGuardedLookup", () => {
  type Answer = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };
  const call = (lookup: ReturnType<typeof createGuardedLookup>, host: string, options: object) =>
    new Promise<Answer>((resolve) => {
      lookup(host, options, (err, address, family) => resolve({ err, address, family }));
    });
  const guarded = createGuardedLookup(
    fakeDns({ "ok.example.com": ["93.184.216.34", "2606:2800:220:1::1"], "bad.example.com": ["8.8.8.8", "127.0.0.1"] }),
  );

  it("answers public addresses in both callback shapes, honouring the family", async () => {
    expect(await call(guarded, "ok.example.com", { all: true })).toEqual({
      err: null,
      address: [
        { address: "93.184.216.34", family: 4 },
        { address: "2606:2800:220:1::1", family: 6 },
      ],
      family: undefined,
    });
    expect(await call(guarded, "ok.example.com", {})).toEqual({ err: null, address: "93.184.216.34", family: 4 });
    expect(await call(guarded, "ok.example.com", { family: 6 })).toEqual({
      err: null,
      address: "2606:2800:220:1::1",
      family: 6,
    });
  });

  it("fails with BlockedAddressError when any address is not public", async () => {
    const { err } = await call(guarded, "bad.example.com", { all: true });
    expect(err).toBeInstanceOf(BlockedAddressError);
    expect(err?.code).toBe(BLOCKED_ADDRESS_CODE);
    expect(err?.message).toBe("refused loopback address 127.0.0.1");
  });

  it("passes resolver errors through", async () => {
    const { err } = await call(guarded, "missing.example.com", {});
    expect(err?.code).toBe("ENOTFOUND");
  });
});
