/** `npm run demo` end to end: one order from add to a refunded Partial, with a signed webhook (issue #5). */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { expect, it } from "vitest";

it("shows an order's whole life with exact numbers and a verified webhook, then a failover", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/demo/main.ts", "--exit-when-done"], {
    env: { ...process.env, PORT: "0", LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  expect(code).toBe(0);
  expect(output).toContain("customer key");
  expect(output).toMatch(/dashboard\s+http:\/\/127\.0\.0\.1:\d+\/admin\s+\(admin token \S{16,}\)/);
  // PORT=0: the port the system gave is printed, and the temporary store is gone after exit.
  expect(output).toMatch(/proxy\s+http:\/\/127\.0\.0\.1:(?!0\/)\d+\/api\/v2/);
  const database = /database\s+(\S+)/.exec(output)?.[1] ?? "";
  expect(database).toMatch(/smm-proxy-demo-.*demo\.db$/);
  expect(existsSync(database)).toBe(false);
  expect(existsSync(dirname(database))).toBe(false);
  // 0.90 upstream × 1.30 = 1.17 per 1000; 1000 units → 1.17000
  expect(output).toMatch(/add service=1 quantity=1000 → \{"order":1\}\s+balance 100\.00000 → 98\.83000/);
  expect(output).toMatch(/status In progress\s+start_count 3572\s+remains 1000\s+charge 1\.17000/);
  expect(output).toMatch(/status Partial\s+start_count 3572\s+remains 400\s+charge 0\.70200/);
  // 1.17 × 400 / 1000 = 0.468 back
  expect(output).toContain("refund landed: balance 99.29800: charged 1.17000, 400 of 1000 undelivered → 0.46800 back");
  expect(output).toMatch(
    /webhook\s+\{"order_id":1,"status":"Partial","remains":400,"start_count":3572,"charge":0\.702\}\s+signature valid/,
  );
  // Issue #12: justprovider dies midway; every order of service 9 is still taken, by panel.
  expect(output).toMatch(
    /add service=9 → HTTP 200 \{"order":2\}\s+taken by justprovider \(attempts: justprovider ok\)/,
  );
  expect(output).toContain("justprovider goes down");
  expect(output).toMatch(
    /add service=9 → HTTP 200 \{"order":3\}\s+taken by panel \(attempts: justprovider not_sent, panel ok\)/,
  );
  expect(output.match(/add service=9 → HTTP 200 \{"order":\d\}\s+taken by panel/g)).toHaveLength(3);
}, 90_000);
