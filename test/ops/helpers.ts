/** Shared helpers of the operations tests: metrics parsing, log capture, free ports, a key-echoing upstream. */
import { createServer as createHttpServer, type Server } from "node:http";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/observability/logger.js";

/** Parses Prometheus exposition text into `name{a="x",b="y"}` → value (labels in the order printed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** A logger writing JSON lines into memory. */
export function captureLogs(level = "debug"): {
  logger: Logger;
  lines: () => Array<Record<string, unknown>>;
  text: () => string;
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger(level, { destination: sink });
  const text = () => chunks.join("");
  const lines = () =>
    text()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, text };
}

export { freePort } from "../helpers/net.js";

/**
 * A jap-dialect upstream that lists one service and answers `balance`, but answers every
 * other action with an HTTP 500 whose body echoes the whole request, key included (a panel
 * printing its debug dump): what reaches our logs must be redacted.
 */
export async function startEchoUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      const form = new URLSearchParams(body);
      const action = form.get("action");
      res.setHeader("content-type", "application/json");
      if (action === "services") {
        res.end(
          JSON.stringify([
            {
              service: 1,
              name: "Echo",
              type: "Default",
              category: "Echo",
              rate: "1.00",
              min: "10",
              max: "1000",
              refill: false,
              cancel: false,
            },
          ]),
        );
      } else if (action === "balance") {
        res.end(JSON.stringify({ balance: "5.00000", currency: "USD" }));
      } else {
        res.statusCode = 500;
        res.end(`Fatal error: request ${body} key=${form.get("key")} failed`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}/api/v2`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** POSTs an API v2 form. */
export async function apiCall(
  baseUrl: string,
  fields: Record<string, string | number>,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}/api/v2`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString(),
  });
  return { status: res.status, body: await res.json() };
}
