/** Every action of every dialect against the seed examples (msw), forms and parsed values exact. */
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../src/config/providers-file.js";
import type { UpstreamOrderState } from "../../src/upstream/types.js";
import {
  ADD,
  BALANCE,
  MULTI_REFILL,
  MULTI_REFILL_STATUS,
  MULTI_STATUS,
  PANEL_CANCEL,
  PANEL_SERVICES,
  PP_CANCEL,
  PP_SERVICES,
  REFILL,
  REFILL_STATUS,
  STATUS,
} from "./fixtures.js";
import { KEY, panelHandler, providerConfig, URLS, useClients, useMsw } from "./helpers.js";

const server = useMsw();
const makeClient = useClients();

const PARTIAL: UpstreamOrderState = {
  status: "Partial",
  rawStatus: "Partial",
  charge: "0.27819",
  startCount: 3572,
  remains: 157,
  currency: "USD",
};
const IN_PROGRESS: UpstreamOrderState = {
  status: "In progress",
  rawStatus: "In progress",
  charge: "1.44219",
  startCount: 234,
  remains: 10,
  currency: "USD",
};
const SERVICES_OUT = [
  {
    service: "1",
    name: "Followers",
    type: "Default",
    category: "First Category",
    rate: "0.90",
    min: 50,
    max: 10000,
    refill: true,
    cancel: true,
    dripfeed: false,
  },
  {
    service: "2",
    name: "Comments",
    type: "Custom Comments",
    category: "Second Category",
    rate: "8",
    min: 10,
    max: 1500,
    refill: false,
    cancel: true,
    dripfeed: false,
  },
];

/** Answers like the seed documents of `dialect`, routed by the form. */
function seedPanel(dialect: Dialect) {
  const multiStatusAction = dialect === "panel" ? "multiStatus" : "status";
  return panelHandler(URLS[dialect], (form) => {
    if (form.action === multiStatusAction && form.orders !== undefined) return MULTI_STATUS;
    switch (form.action) {
      case "services":
        return dialect === "panel" ? PANEL_SERVICES : PP_SERVICES;
      case "add":
        return ADD;
      case "status":
        return form.order === undefined ? { error: "Incorrect request" } : STATUS;
      case "refill":
        return form.orders === undefined ? REFILL : MULTI_REFILL;
      case "refill_status":
        return form.refills === undefined ? REFILL_STATUS : MULTI_REFILL_STATUS;
      case "cancel":
        return dialect === "panel" ? PANEL_CANCEL : PP_CANCEL;
      case "balance":
        return BALANCE;
      default:
        return dialect === "panel"
          ? new Response(JSON.stringify({ error: "unsupported action" }), { status: 400 })
          : { error: "Incorrect request" };
    }
  });
}

describe.each(["jap", "morethanpanel", "justprovider", "panel"] as const)("dialect %s", (dialect) => {
  it("services: string or number ids, numeric strings, flags default false", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    const outcome = await client.services();
    const expected =
      dialect === "panel" ? SERVICES_OUT.map((s) => ({ ...s, refill: false, cancel: false })) : SERVICES_OUT;
    expect(outcome).toEqual({ kind: "ok", value: expected });
    expect(forms).toEqual([{ action: "services", key: KEY }]);
  });

  it("add forwards exactly the given parameter set of each service type", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    const requests = [
      { service: "1", link: "https://x.example/p", quantity: "1000", runs: "5", interval: "30" },
      { service: "3", link: "https://x.example/p" },
      { service: "2", link: "https://x.example/p", comments: "nice\r\ngreat\nwow" },
      { service: "4", link: "https://x.example/p", quantity: "100", username: "someone" },
      { service: "5", link: "https://x.example/p", quantity: "100", keywords: "a,b" },
      { service: "6", link: "https://x.example/p", quantity: "100", answer_number: "2" },
      { service: "7", link: "https://x.example/c", quantity: "100", groups: "g1\ng2" },
      {
        service: "8",
        username: "chan",
        min: "10",
        max: "20",
        delay: "30",
        posts: "3",
        old_posts: "1",
        expiry: "2030-01-31",
      },
      { service: "9", link: "https://x.example/p", quantity: "100", usernames: "a\nb", hashtags: "#x" },
      { service: "10", link: "https://x.example/p", quantity: "100", hashtag: "x", media: "https://x.example/m" },
    ];
    for (const request of requests) {
      expect(await client.add(request)).toEqual({ kind: "ok", value: { order: "23501" } });
    }
    expect(forms).toEqual(requests.map((r) => ({ action: "add", ...r, key: KEY })));
  });

  it("status of one order", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    expect(await client.status("23501")).toEqual({ kind: "ok", value: PARTIAL });
    expect(forms).toEqual([{ action: "status", order: "23501", key: KEY }]);
  });

  it("multi-status with an error entry inside the batch", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    const outcome = await client.multiStatus(["1", "10", "100"]);
    expect(outcome).toEqual({
      kind: "ok",
      value: new Map<string, unknown>([
        ["1", PARTIAL],
        ["10", { error: "Incorrect order ID" }],
        ["100", IN_PROGRESS],
      ]),
    });
    const action = dialect === "panel" ? "multiStatus" : "status";
    expect(forms).toEqual([{ action, orders: "1,10,100", key: KEY }]);
  });

  it("refill one and many (ids as numbers or strings, error entries)", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    expect(await client.refill("23501")).toEqual({ kind: "ok", value: { refill: "1" } });
    expect(await client.multiRefill(["1", "2", "3"])).toEqual({
      kind: "ok",
      value: new Map<string, unknown>([
        ["1", { refill: "1" }],
        ["2", { refill: "2" }],
        ["3", { error: "Incorrect order ID" }],
      ]),
    });
    expect(forms).toEqual([
      { action: "refill", order: "23501", key: KEY },
      { action: "refill", orders: "1,2,3", key: KEY },
    ]);
  });

  it("refill status one and many", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    expect(await client.refillStatus("1")).toEqual({
      kind: "ok",
      value: { status: "Completed", rawStatus: "Completed" },
    });
    expect(await client.multiRefillStatus(["1", "2", "3"])).toEqual({
      kind: "ok",
      value: new Map<string, unknown>([
        ["1", { status: "Completed", rawStatus: "Completed" }],
        ["2", { status: "Rejected", rawStatus: "Rejected" }],
        ["3", { error: "Refill not found" }],
      ]),
    });
    expect(forms).toEqual([
      { action: "refill_status", refill: "1", key: KEY },
      { action: "refill_status", refills: "1,2,3", key: KEY },
    ]);
  });

  it("cancel many in the dialect's own answer format", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    const expected =
      dialect === "panel"
        ? new Map<string, unknown>([
            ["9", { ok: true }],
            ["2", { error: "Incorrect order ID" }],
          ])
        : new Map<string, unknown>([
            ["9", { error: "Incorrect order ID" }],
            ["2", { ok: true }],
          ]);
    expect(await client.cancel(["9", "2"])).toEqual({ kind: "ok", value: expected });
    expect(forms).toEqual([{ action: "cancel", orders: "9,2", key: KEY }]);
  });

  it("balance", async () => {
    const { handler, forms } = seedPanel(dialect);
    server.use(handler);
    const { client } = makeClient(providerConfig(dialect));
    expect(await client.balance()).toEqual({ kind: "ok", value: { balance: "100.84292", currency: "USD" } });
    expect(forms).toEqual([{ action: "balance", key: KEY }]);
  });
});

describe("dialect differences", () => {
  it("panel does not accept the PerfectPanel cancel answer, and vice versa", async () => {
    server.use(panelHandler(URLS.panel, () => PP_CANCEL).handler, panelHandler(URLS.jap, () => PANEL_CANCEL).handler);
    const panel = makeClient(providerConfig("panel")).client;
    const jap = makeClient(providerConfig("jap")).client;
    const a = await panel.cancel(["9", "2"]);
    const b = await jap.cancel(["9", "2"]);
    expect(a).toMatchObject({ kind: "ambiguous", failure: { message: "unrecognised answer at 1: Invalid input" } });
    expect(b).toMatchObject({ kind: "ambiguous", failure: { message: "unrecognised answer at 0: Invalid input" } });
  });
});
