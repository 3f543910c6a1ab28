/**
 * A tiny webhook receiver for the demo: prints each delivery and checks its signature the
 * way a customer's server would (seed `003_*` webhooks; docs/operations.md "Sync, refunds and webhooks").
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook } from "../webhooks/signature.js";

export interface ReceivedWebhook {
  body: string;
  signatureValid: boolean;
}

export interface WebhookReceiver {
  url: string;
  /** The customer's webhook secret, set once `customers set-webhook` returned it. */
  secret: string;
  /** Bodies received so far, in arrival order. */
  received: string[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (any free port) and calls `onDelivery` for each POST. */
export async function startWebhookReceiver(onDelivery: (delivery: ReceivedWebhook) => void): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: "", secret: "", received: [], close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const timestamp = String(req.headers["x-timestamp"] ?? "");
      const signature = String(req.headers["x-signature"] ?? "");
      receiver.received.push(body);
      onDelivery({ body, signatureValid: verifyWebhook(receiver.secret, timestamp, body, signature) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  receiver.url = `http://127.0.0.1:${port}/webhooks/order-update`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}
