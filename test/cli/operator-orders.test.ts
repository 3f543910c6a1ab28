import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client.js";
import { customers, ledgerEntries, refills } from "../../src/db/schema.js";
import { placeOrder } from "../../src/orders/place-order.js";
import { addCustomerCli, type OperatorFixture, operatorFixture } from "./operator-fixture.js";

let fx: OperatorFixture;
let alice: number;
let bob: number;
/** Local order ids by role. */
const ids = { submitted: 0, failed: 0, unknownJap: 0, unknownMtp: 0, unknownJap2: 0 };

/** Places an order through the real `add` path; an ambiguous or failed placement still returns its id. */
async function place(customerId: number, fields: Record<string, string>): Promise<void> {
  await fx.withApp(async (ctx) => {
    try {
      await placeOrder(ctx, { customerId, fields });
    } catch {
      // unknown (held) or failed (refunded): the order row exists either way
    }
  });
}

/** Balance and ledger sum of a customer (minor units), read straight from the store. */
function money(customerId: number): { balance: number; ledger: number; rows: number } {
  const db = openDb(fx.env.DATABASE_PATH ?? "");
  try {
    const balance = db.select().from(customers).where(eq(customers.id, customerId)).get()?.balance ?? Number.NaN;
    const sum = db
      .select({ total: sql<number>`coalesce(sum(${ledgerEntries.amount}), 0)`, rows: sql<number>`count(*)` })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.customerId, customerId))
      .get();
    return { balance, ledger: sum?.total ?? Number.NaN, rows: sum?.rows ?? 0 };
  } finally {
    db.$client.close();
  }
}

function refundRows(orderId: number): number {
  const db = openDb(fx.env.DATABASE_PATH ?? "");
  try {
    return db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.orderId, orderId), eq(ledgerEntries.kind, "refund")))
      .all().length;
  } finally {
    db.$client.close();
  }
}

beforeAll(async () => {
  fx = await operatorFixture("smm-cli-ops-orders-");
  await fx.json(["sync", "prices"]);
  alice = await addCustomerCli(fx, "10", "alice");
  bob = await addCustomerCli(fx, "1", "bob");
  const link = "https://instagram.com/x";
  // 1: jap 23501, 1000 × 1.125 → 1.12500
  await place(alice, { service: "1", link, quantity: "1000" });
  ids.submitted = 1;
  // 2: rejected by jap → failed, refunded 0.56250
  fx.jap.injectFaults("add", 1, { kind: "error", message: "Incorrect link" });
  await place(alice, { service: "1", link, quantity: "500" });
  ids.failed = 2;
  // 3: jap processed it (23502) but the answer was lost → unknown, 0.11250 held
  fx.jap.injectFaults("add", 1, "drop_answer");
  await place(alice, { service: "1", link, quantity: "100" });
  ids.unknownJap = 3;
  // 4: mtp, 200 × 1.472 → 0.29440 held
  fx.mtp.injectFaults("add", 1, "drop_answer");
  await place(alice, { service: "3", link, quantity: "200" });
  ids.unknownMtp = 4;
  // 5: jap 23503, 50 × 1.125 → 0.05625 held
  fx.jap.injectFaults("add", 1, "drop_answer");
  await place(bob, { service: "1", link, quantity: "50" });
  ids.unknownJap2 = 5;
});
afterAll(() => fx.close());

const ORDER_FIELDS = [
  "charge",
  "createdAt",
  "customerId",
  "flag",
  "id",
  "providerId",
  "quantity",
  "refunded",
  "serviceId",
  "status",
  "submission",
  "upstreamOrderId",
  "upstreamService",
];

describe("orders list", () => {
  it("lists every order newest first with its submission state and flag", async () => {
    const list = await fx.json<Record<string, unknown>[]>(["orders", "list"]);
    expect(Object.keys(list[0] ?? {}).sort()).toEqual(ORDER_FIELDS);
    const held = { submission: "unknown", status: "Pending", upstreamOrderId: null, refunded: "0.00000" };
    const flag = "upstream did not confirm the order";
    expect(list).toEqual([
      expect.objectContaining({ id: 5, customerId: bob, quantity: 50, charge: "0.05625", flag, ...held }),
      expect.objectContaining({ id: 4, providerId: "mtp", serviceId: 3, charge: "0.29440", flag, ...held }),
      expect.objectContaining({ id: 3, providerId: "jap", serviceId: 1, charge: "0.11250", flag, ...held }),
      expect.objectContaining({
        id: 2,
        submission: "failed",
        status: "Canceled",
        charge: "0.56250",
        refunded: "0.56250",
        flag: null,
      }),
      {
        id: 1,
        customerId: alice,
        serviceId: 1,
        providerId: "jap",
        upstreamService: "1",
        upstreamOrderId: "23501",
        quantity: 1000,
        charge: "1.12500",
        refunded: "0.00000",
        status: "Pending",
        submission: "submitted",
        flag: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      },
    ]);
  });

  it("filters by customer, state, status and flag, and limits", async () => {
    const idsOf = async (args: string[]) =>
      (await fx.json<{ id: number }[]>(["orders", "list", ...args])).map((o) => o.id);
    expect(await idsOf(["--customer", String(bob)])).toEqual([5]);
    expect(await idsOf(["--state", "unknown"])).toEqual([5, 4, 3]);
    expect(await idsOf(["--state", "unknown", "--customer", String(alice)])).toEqual([4, 3]);
    expect(await idsOf(["--state", "failed"])).toEqual([2]);
    expect(await idsOf(["--status", "Canceled"])).toEqual([2]);
    expect(await idsOf(["--flagged"])).toEqual([5, 4, 3]);
    expect(await idsOf(["--limit", "2"])).toEqual([5, 4]);
    expect(await idsOf(["--customer", "999"])).toEqual([]);
  });

  it("prints a table by default", async () => {
    const text = await fx.run(["orders", "list", "--state", "submitted"]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^ID +CUSTOMER +SERVICE +PROVIDER +UPSTREAM ID +QTY +CHARGE +REFUNDED +STATUS +STATE +FLAG +CREATED$/,
    );
    expect(lines[2]).toMatch(/^ 1 +\d+ +1 +jap +23501 +1000 +1\.12500 +0\.00000 +Pending +submitted +- +\d{4}-/);
    expect(lines).toHaveLength(3);
    expect((await fx.run(["orders", "list", "--customer", "999"])).stdout).toBe("(none)\n");
  });

  it("refuses an unknown state as a usage error", async () => {
    const result = await fx.run(["orders", "list", "--state", "lost"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: option '--state <state>' argument 'lost' is invalid\. Allowed choices are/);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("sync status / orders show", () => {
  it("runs one status tick, then shows the order with its params, ledger rows and refills", async () => {
    fx.jap.setOrder(23501, { status: "Partial", remains: 400, start_count: 12 });
    expect(await fx.json(["sync", "status"])).toEqual({
      providers: 2,
      upstreamCalls: 1,
      synced: 1,
      refunded: { count: 1, total: "0.45000" },
      errors: 0,
      flagged: 0,
      failedBatches: 0,
      webhooks: 0,
      heldReasked: 0,
      heldLinked: 0,
      heldRefunded: 0,
    });
    const text = await fx.run(["sync", "status"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^status sync: providers 2, upstreamCalls 0, synced 0, refunded 0 \(0\.00000\),/);

    const shown = await fx.json<Record<string, unknown> & { ledger: unknown[]; refills: unknown[] }>([
      "orders",
      "show",
      String(ids.submitted),
    ]);
    expect(Object.keys(shown).sort()).toEqual(
      [
        ...ORDER_FIELDS,
        "attempts",
        "cost",
        "exchangeRate",
        "idempotency",
        "lastError",
        "ledger",
        "missCount",
        "params",
        "rate",
        "rawStatus",
        "reaskLeaseUntil",
        "refills",
        "remains",
        "startCount",
        "submitStartedAt",
        "syncedAt",
        "updatedAt",
      ].sort(),
    );
    expect(shown).toMatchObject({
      id: 1,
      status: "Partial",
      charge: "1.12500",
      refunded: "0.45000",
      params: { link: "https://instagram.com/x", quantity: "1000" },
      idempotency: {
        state: "none",
        key: null,
        orderId: null,
        until: null,
        meaning: "the add carried no Idempotency-Key",
      },
      rate: "1.12500",
      exchangeRate: "1",
      startCount: 12,
      remains: 400,
      rawStatus: null,
      lastError: null,
      missCount: 0,
      flag: null,
      submitStartedAt: expect.stringMatching(/Z$/),
      syncedAt: expect.stringMatching(/Z$/),
      refills: [],
    });
    expect(shown.ledger).toEqual([
      {
        id: expect.any(Number),
        kind: "charge",
        amount: "-1.12500",
        balanceAfter: "8.87500",
        orderId: 1,
        note: expect.stringContaining("order 1"),
        createdAt: expect.any(String),
      },
      expect.objectContaining({ kind: "refund", amount: "0.45000", balanceAfter: "8.91810", orderId: 1 }),
    ]);
  });

  it("shows upstream errors of a held order", async () => {
    const shown = await fx.json(["orders", "show", String(ids.unknownMtp)]);
    expect(shown).toMatchObject({
      submission: "unknown",
      upstreamOrderId: null,
      lastError: expect.any(String),
      flag: "upstream did not confirm the order",
      exchangeRate: "1.08",
      ledger: [expect.objectContaining({ kind: "charge", amount: "-0.29440" })],
    });
    const text = await fx.run(["orders", "show", String(ids.unknownMtp)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^submission: +unknown$/m);
    expect(text.stdout).toMatch(/^flag: +upstream did not confirm the order$/m);
    expect(text.stdout).toMatch(/^link: +https:\/\/instagram\.com\/x$/m);
    expect(text.stdout).toContain("Ledger rows:");
  });

  it("fails with one line for an unknown order", async () => {
    expect(await fx.run(["orders", "show", "999"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: unknown order 999\n",
    });
  });
});

describe("sync refills", () => {
  it("runs one refill tick and the order shows its refill", async () => {
    fx.jap.setRefill(8001, { status: "Completed", order: 23501 });
    const db = openDb(fx.env.DATABASE_PATH ?? "");
    try {
      const now = Date.now();
      db.insert(refills)
        .values({
          orderId: ids.submitted,
          customerId: alice,
          providerId: "jap",
          upstreamRefillId: "8001",
          status: "Pending",
          createdAt: now,
          updatedAt: now,
        })
        .run();
    } finally {
      db.$client.close();
    }
    expect(await fx.json(["sync", "refills"])).toEqual({
      providers: 2,
      upstreamCalls: 1,
      synced: 1,
      errors: 0,
      flagged: 0,
      failedBatches: 0,
    });
    const shown = await fx.json<{ refills: unknown[] }>(["orders", "show", String(ids.submitted)]);
    expect(shown.refills).toEqual([
      {
        id: expect.any(Number),
        upstreamRefillId: "8001",
        status: "Completed",
        rawStatus: null,
        lastError: null,
        missCount: 0,
        flag: null,
        syncedAt: expect.stringMatching(/Z$/),
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    ]);
    const text = await fx.run(["sync", "refills"]);
    expect(text.stdout).toBe(
      "refill sync: providers 2, upstreamCalls 0, synced 0, errors 0, flagged 0, failedBatches 0\n",
    );
  });
});

describe("orders resolve", () => {
  it("links the upstream id of an unknown order; the balance does not move", async () => {
    const before = money(alice);
    const resolved = await fx.json(["orders", "resolve", String(ids.unknownJap), "--upstream-order", "23502"]);
    expect(resolved).toEqual({
      id: ids.unknownJap,
      customerId: alice,
      serviceId: 1,
      providerId: "jap",
      upstreamService: "1",
      upstreamOrderId: "23502",
      quantity: 100,
      charge: "0.11250",
      refunded: "0.00000",
      status: "Pending",
      submission: "submitted",
      flag: null,
      createdAt: expect.any(String),
      action: "linked",
      refundedNow: "0.00000",
      balance: "8.91810",
    });
    expect(money(alice)).toEqual(before);
    // status sync now takes it over
    fx.jap.setOrder(23502, { status: "Completed", remains: 0 });
    expect(await fx.json(["sync", "status"])).toMatchObject({ upstreamCalls: 1, synced: 1 });
    expect(await fx.json(["orders", "show", String(ids.unknownJap)])).toMatchObject({ status: "Completed" });
  });

  it("cancels and refunds an unknown order with exactly one refund row", async () => {
    const before = money(alice);
    // 10 − 1.12500 − 0.11250 − 0.29440 (held) + 0.45000 (partial refund of order 1)
    expect(before.balance).toBe(891_810);
    const resolved = await fx.json(["orders", "resolve", String(ids.unknownMtp), "--refund"]);
    expect(resolved).toMatchObject({
      id: ids.unknownMtp,
      status: "Canceled",
      charge: "0.29440",
      refunded: "0.29440",
      flag: null,
      action: "refunded",
      refundedNow: "0.29440",
      balance: "9.21250",
    });
    expect(money(alice)).toEqual({ balance: 921_250, ledger: 921_250, rows: before.rows + 1 });
    expect(refundRows(ids.unknownMtp)).toBe(1);

    const text = await fx.run(["orders", "resolve", String(ids.unknownJap2), "--refund"]);
    expect(text).toEqual({
      code: 0,
      stdout: `order ${ids.unknownJap2}: Canceled, refunded 0.05625; customer ${bob} balance 1.00000\n`,
      stderr: "",
    });
    expect(money(bob)).toEqual({ balance: 100_000, ledger: 100_000, rows: 3 });
  });

  it("refuses orders that are not unknown and changes nothing", async () => {
    const before = money(alice);
    for (const id of [ids.submitted, ids.failed, ids.unknownMtp]) {
      const result = await fx.run(["orders", "resolve", String(id), "--refund"]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(
        new RegExp(
          `^error: order ${id} is \\w+, not unknown: nothing to resolve \\(orders settle gives the final status of any open order\\)\\n$`,
        ),
      );
    }
    expect(money(alice)).toEqual(before);
    expect(refundRows(ids.unknownMtp)).toBe(1);
    expect(refundRows(ids.submitted)).toBe(1);
  });

  it("refuses an upstream id already linked to another order", async () => {
    fx.jap.injectFaults("add", 1, "drop_answer");
    await place(bob, { service: "1", link: "https://instagram.com/y", quantity: "50" });
    const result = await fx.run(["orders", "resolve", "6", "--upstream-order", "23501"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: upstream order 23501 of provider jap is already order 1\n",
    });
    expect(await fx.json(["orders", "show", "6"])).toMatchObject({ submission: "unknown", upstreamOrderId: null });
  });

  it.each([
    [["orders", "resolve", "3"], 2, "error: give --upstream-order ID or --refund\n"],
    [
      ["orders", "resolve", "3", "--refund", "--upstream-order", "1"],
      2,
      "error: give either --upstream-order or --refund, not both\n",
    ],
    [["orders", "resolve", "999", "--refund"], 1, "error: unknown order 999\n"],
  ])("refuses %j with one line", async (args, code, stderr) => {
    expect(await fx.run(args)).toEqual({ code, stdout: "", stderr });
  });
});
