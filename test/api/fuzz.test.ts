/**
 * Arbitrary requests at /api/v2 (issue #4 "Tests", issue #8 "Fuzzing"): whatever the body,
 * the answer is JSON and never a 5xx other than 502/503, and the ledger still balances.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addCustomer, balanceOf } from "../helpers/context.js";
import { harness } from "./app-harness.js";

const ACTIONS = [
  "services",
  "add",
  "status",
  "multiStatus",
  "refill",
  "refill_status",
  "cancel",
  "balance",
  "nope",
  "",
];

const fieldValue = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 50 }),
  fc.integer().map(String),
  fc.bigInt({ min: 0n, max: 2n ** 80n }).map(String),
  fc.double().map(String),
  fc.constantFrom("-1", "0", "1", "1.5", "1e9", "9007199254740993", "1,2,3", "1,,x", "", " ", "%00", "\u0000"),
  fc.array(fc.nat(), { maxLength: 120 }).map((ids) => ids.join(",")),
  fc.string({ maxLength: 5000 }),
);

describe("fuzzing /api/v2", () => {
  it("answers JSON and no unexpected 5xx for arbitrary form fields", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "50.00000");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ACTIONS),
        fc.dictionary(
          fc.constantFrom(
            "service",
            "link",
            "quantity",
            "runs",
            "interval",
            "order",
            "orders",
            "refill",
            "refills",
            "comments",
            "usernames",
            "answer_number",
            "x",
          ),
          fieldValue,
        ),
        fc.boolean(),
        async (action, fields, withKey) => {
          const body = new URLSearchParams({ ...fields, action, ...(withKey ? { key: customer.apiKey } : {}) });
          const res = await h.app.request("/api/v2", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: body.toString(),
          });
          expect(res.status < 500 || res.status === 502 || res.status === 503).toBe(true);
          expect(res.headers.get("content-type")).toMatch(/^application\/json/);
          const parsed: unknown = await res.json();
          expect(parsed).not.toBeNull();
        },
      ),
      { numRuns: 400 },
    );
    const { balance, ledger } = balanceOf(h.ctx, customer.id);
    expect(balance).toBe(ledger);
    expect(balance).toBeGreaterThanOrEqual(0);
  });

  it("answers JSON and no unexpected 5xx for arbitrary raw bodies and content types", async () => {
    const h = harness();
    const customer = addCustomer(h.ctx, "1.00000");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          "application/x-www-form-urlencoded",
          "application/json",
          "multipart/form-data; boundary=xyz",
          "text/plain",
          "",
        ),
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.constant(`{"key":"${customer.apiKey}","action":"add","service":[1,{"a":2}]}`),
          fc.constant(`{"key":"${customer.apiKey}","action":"status","orders":[1,2,99999999999999999999]}`),
          fc.constant(`key=${customer.apiKey}&action=add&action=balance`),
          fc.constant('--xyz\r\nContent-Disposition: form-data; name="key"\r\n\r\n'),
        ),
        fc.constantFrom("POST", "GET"),
        async (type, body, method) => {
          const res = await h.app.request("/api/v2", {
            method,
            headers: type === "" ? {} : { "content-type": type },
            ...(method === "POST" ? { body } : {}),
          });
          expect(res.status < 500 || res.status === 502 || res.status === 503).toBe(true);
          expect(res.headers.get("content-type")).toMatch(/^application\/json/);
          await res.json();
        },
      ),
      { numRuns: 300 },
    );
  });
});
