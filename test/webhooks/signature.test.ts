import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhook } from "../../src/webhooks/signature.js";

const SECRET = "test-secret";
const BODY = '{"order_id":1487,"status":"Completed","remains":0,"start_count":8421,"charge":4.5}';
const TS = 1_700_000_000;
// printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac test-secret
const EXPECTED = "sha256=121ef71d8411a707e11d525c0314b3d329a1c3da9efd8746ee73238a2cdcc007";
const NOW = TS * 1000;

describe("signWebhook", () => {
  it("is the hex HMAC-SHA256 of `timestamp.body` with the sha256= prefix", () => {
    expect(signWebhook(SECRET, TS, BODY)).toBe(EXPECTED);
    expect(signWebhook(SECRET, String(TS), Buffer.from(BODY))).toBe(EXPECTED);
  });
});

describe("verifyWebhook", () => {
  it("accepts the exact signature, from a string or a Buffer body", () => {
    expect(verifyWebhook(SECRET, String(TS), BODY, EXPECTED, { now: NOW })).toBe(true);
    expect(verifyWebhook(SECRET, TS, Buffer.from(BODY), EXPECTED, { now: NOW })).toBe(true);
  });

  it("refuses another secret, a changed body or timestamp, a malformed signature", () => {
    expect(verifyWebhook("other-secret", TS, BODY, EXPECTED, { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, TS, BODY.replace("4.5", "4.50"), EXPECTED, { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, TS + 1, BODY, EXPECTED, { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, TS, BODY, EXPECTED.slice(0, -1), { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, TS, BODY, EXPECTED.replace("sha256=", ""), { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, TS, BODY, EXPECTED.toUpperCase(), { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, TS, BODY, undefined, { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, null, BODY, EXPECTED, { now: NOW })).toBe(false);
    expect(verifyWebhook(SECRET, "1700000000.5", BODY, EXPECTED, { now: NOW })).toBe(false);
  });

  it("refuses a timestamp outside the tolerance (default 300 s), both ways", () => {
    expect(verifyWebhook(SECRET, TS, BODY, EXPECTED, { now: NOW + 300_000 })).toBe(true);
    expect(verifyWebhook(SECRET, TS, BODY, EXPECTED, { now: NOW + 301_000 })).toBe(false);
    expect(verifyWebhook(SECRET, TS, BODY, EXPECTED, { now: NOW - 301_000 })).toBe(false);
    expect(verifyWebhook(SECRET, TS, BODY, EXPECTED, { now: NOW + 3_600_000, toleranceSec: 3600 })).toBe(true);
  });
});
