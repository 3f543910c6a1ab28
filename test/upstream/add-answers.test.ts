/**
 * Answers to `add` that carry an order id are never `rejected` (issue #11, item 2): the
 * upstream may hold that order, so it must never be refunded as "not placed".
 */
import { HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import { providerConfig, URLS, useClients, useMsw } from "./helpers.js";

const server = useMsw();
const makeClient = useClients();
const once = { retry: { maxAttempts: 1 } };
const ADD = { service: "1", link: "l", quantity: "10" };

function answer(response: () => Response, url: string) {
  const headers: Array<string | null> = [];
  server.use(
    http.post(url, ({ request }) => {
      headers.push(request.headers.get("idempotency-key"));
      return response();
    }),
  );
  return headers;
}

describe("add answers with an order id", () => {
  it("panel 502 {error, order} (another smm-proxy holding it) → ambiguous with the upstream order id", async () => {
    answer(
      () => HttpResponse.json({ error: "Upstream provider did not confirm the order", order: 17 }, { status: 502 }),
      URLS.panel,
    );
    const { client } = makeClient(providerConfig("panel"), once);
    const outcome = await client.add(ADD);
    expect(outcome).toMatchObject({
      kind: "ambiguous",
      failure: {
        httpStatus: 502,
        upstreamOrderId: "17",
        upstreamError: "Upstream provider did not confirm the order",
      },
    });
  });

  it("200 {order, error: ''} → ok (an empty error is no error)", async () => {
    answer(() => HttpResponse.json({ order: 17, error: "" }), URLS.jap);
    const { client } = makeClient(providerConfig("jap"), once);
    expect(await client.add(ADD)).toEqual({ kind: "ok", value: { order: "17" } });
  });

  it("200 {order, error: 'text'} → ok: the order exists, it is linked", async () => {
    answer(() => HttpResponse.json({ order: "18", error: "Slow processing" }), URLS.jap);
    const { client } = makeClient(providerConfig("jap"), once);
    expect(await client.add(ADD)).toEqual({ kind: "ok", value: { order: "18" } });
  });

  it("429 {order} → ambiguous (never retried as rate limited)", async () => {
    const sent = answer(() => HttpResponse.json({ order: 19 }, { status: 429 }), URLS.jap);
    const { client } = makeClient(providerConfig("jap"));
    expect(await client.add(ADD)).toMatchObject({ kind: "ambiguous", failure: { upstreamOrderId: "19" } });
    expect(sent).toHaveLength(1);
  });

  it("a bare seed-003 502 {error} stays rejected; a status answer with an order field is unaffected", async () => {
    answer(() => HttpResponse.json({ error: "Upstream provider returned an error" }, { status: 502 }), URLS.panel);
    const { client } = makeClient(providerConfig("panel"), once);
    expect(await client.add(ADD)).toMatchObject({ kind: "rejected" });
    server.resetHandlers();
    answer(() => HttpResponse.json({ error: "Incorrect order ID", order: 5 }), URLS.jap);
    const { client: jap } = makeClient(providerConfig("jap"), once);
    expect(await jap.status("5")).toMatchObject({ kind: "rejected" });
  });

  it("sends Idempotency-Key when asked; a 409 to it is ambiguous, not a refusal", async () => {
    const sent = answer(
      () =>
        HttpResponse.json({ error: "A request with this Idempotency-Key is still being processed" }, { status: 409 }),
      URLS.panel,
    );
    const { client } = makeClient(providerConfig("panel"), once);
    expect(await client.add(ADD, { idempotencyKey: "smm-proxy-order-1-x" })).toMatchObject({
      kind: "ambiguous",
      failure: { httpStatus: 409 },
    });
    expect(await client.add(ADD)).toMatchObject({ kind: "rejected" });
    expect(sent).toEqual(["smm-proxy-order-1-x", null]);
  });
});
