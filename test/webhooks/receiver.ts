/**
 * A real loopback webhook receiver for the worker tests: records every request (raw body
 * bytes, headers) and answers from a script (status code, or "hang" = never answer).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What to do with one request: answer with this status, or never answer. */
export type Behaviour = number | "hang";

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Decides each answer (default: 200); called after the request was recorded. */
  respond: (request: ReceivedRequest, index: number) => Behaviour | Promise<Behaviour>;
  /** Resolves once `n` requests were received. */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const waiters: { n: number; resolve: () => void }[] = [];
  const hanging: ServerResponse[] = [];
  const receiver: Receiver = {
    url: "",
    port: 0,
    requests: [],
    respond: () => 200,
    waitFor(n) {
      if (receiver.requests.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      const index = receiver.requests.push(request) - 1;
      for (const w of waiters.filter((w) => receiver.requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      void Promise.resolve(receiver.respond(request, index)).then((behaviour) => {
        if (behaviour === "hang") {
          hanging.push(res);
          return;
        }
        res.writeHead(behaviour, { "content-type": "text/plain" }).end(behaviour < 300 ? "ok" : "nope");
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  receiver.port = port;
  receiver.url = `http://127.0.0.1:${port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
