import { describe, expect, it } from "vitest";
import { EnvError, loadEnv } from "../../src/config/env.js";

function envError(source: Record<string, string>): string {
  try {
    loadEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error("expected an EnvError");
}

describe("loadEnv", () => {
  it("applies every default on an empty environment", () => {
    expect(loadEnv({})).toEqual({
      PORT: 8080,
      HOST: "0.0.0.0",
      DATABASE_PATH: "./data/smm-proxy.db",
      PROVIDERS_FILE: "./providers.json",
      STATUS_SYNC_INTERVAL_MS: 60_000,
      PRICE_SYNC_INTERVAL_MS: 3_600_000,
      LOG_LEVEL: "info",
      RATE_LIMIT_IP_PER_MIN: 1000,
      RATE_LIMIT_KEY_PER_MIN: 0,
      WEBHOOK_ALLOW_PRIVATE: false,
      TRUST_PROXY: 0,
      HTTP_ERRORS: true,
      ALERT_REFUND_BURST: 20,
    });
  });

  it("treats empty strings as unset and ignores unrelated variables", () => {
    const env = loadEnv({ PORT: "", LOG_LEVEL: "", HOME: "/root", JAP_API_KEY: "secret" });
    expect(env.PORT).toBe(8080);
    expect(env.LOG_LEVEL).toBe("info");
    expect(env).not.toHaveProperty("HOME");
    expect(env).not.toHaveProperty("JAP_API_KEY");
  });

  it("reads every variable", () => {
    expect(
      loadEnv({
        PORT: "3000",
        HOST: "127.0.0.1",
        DATABASE_PATH: "/var/lib/smm/db.sqlite",
        PROVIDERS_FILE: "/etc/smm/providers.json",
        STATUS_SYNC_INTERVAL_MS: "15000",
        PRICE_SYNC_INTERVAL_MS: "600000",
        LOG_LEVEL: "debug",
        RATE_LIMIT_IP_PER_MIN: "0",
        RATE_LIMIT_KEY_PER_MIN: "120",
        WEBHOOK_ALLOW_PRIVATE: "true",
        TRUST_PROXY: "2",
        HTTP_ERRORS: "0",
        METRICS_TOKEN: "t0k",
        ADMIN_TOKEN: "0123456789abcdef",
        ALERT_WEBHOOK_URL: "https://relay.example/smm",
        ALERT_WEBHOOK_SECRET: "0123456789abcdef",
        ALERT_REFUND_BURST: "50",
      }),
    ).toEqual({
      PORT: 3000,
      HOST: "127.0.0.1",
      DATABASE_PATH: "/var/lib/smm/db.sqlite",
      PROVIDERS_FILE: "/etc/smm/providers.json",
      STATUS_SYNC_INTERVAL_MS: 15_000,
      PRICE_SYNC_INTERVAL_MS: 600_000,
      LOG_LEVEL: "debug",
      RATE_LIMIT_IP_PER_MIN: 0,
      RATE_LIMIT_KEY_PER_MIN: 120,
      WEBHOOK_ALLOW_PRIVATE: true,
      TRUST_PROXY: 2,
      HTTP_ERRORS: false,
      METRICS_TOKEN: "t0k",
      ADMIN_TOKEN: "0123456789abcdef",
      ALERT_WEBHOOK_URL: "https://relay.example/smm",
      ALERT_WEBHOOK_SECRET: "0123456789abcdef",
      ALERT_REFUND_BURST: 50,
    });
  });

  it.each([
    ["yes", true],
    ["on", true],
    ["TRUE", true],
    ["no", false],
    ["off", false],
    ["0", false],
  ])("reads the flag value %s", (value, expected) => {
    expect(loadEnv({ WEBHOOK_ALLOW_PRIVATE: value }).WEBHOOK_ALLOW_PRIVATE).toBe(expected);
  });

  it.each([
    ["1", 1],
    ["3", 3],
    ["true", 1],
    ["yes", 1],
    ["false", 0],
    ["0", 0],
  ])("reads TRUST_PROXY=%s as %d trusted hops", (value, expected) => {
    expect(loadEnv({ TRUST_PROXY: value }).TRUST_PROXY).toBe(expected);
  });

  it.each([
    [{ PORT: "abc" }, 'PORT: expected an integer >= 0, got "abc"'],
    [{ PORT: "-1" }, 'PORT: expected an integer >= 0, got "-1"'],
    [{ PORT: "1.5" }, 'PORT: expected an integer >= 0, got "1.5"'],
    [{ PORT: "70000" }, 'PORT: expected a port number 0-65535, got "70000"'],
    [{ STATUS_SYNC_INTERVAL_MS: "0" }, 'STATUS_SYNC_INTERVAL_MS: expected an integer >= 1, got "0"'],
    [{ PRICE_SYNC_INTERVAL_MS: "1e6" }, 'PRICE_SYNC_INTERVAL_MS: expected an integer >= 1, got "1e6"'],
    [
      { PRICE_SYNC_INTERVAL_MS: "99999999999999999999" },
      'PRICE_SYNC_INTERVAL_MS: expected an integer >= 1, got "99999999999999999999"',
    ],
    [{ RATE_LIMIT_IP_PER_MIN: "x" }, 'RATE_LIMIT_IP_PER_MIN: expected an integer >= 0, got "x"'],
    [{ RATE_LIMIT_KEY_PER_MIN: "-5" }, 'RATE_LIMIT_KEY_PER_MIN: expected an integer >= 0, got "-5"'],
    [{ ADMIN_TOKEN: "short" }, "ADMIN_TOKEN: expected at least 16 characters (a long random token)"],
    [
      { TRUST_PROXY: "-1" },
      'TRUST_PROXY: expected a number of trusted proxies (0, 1, 2, ...) or one of true, yes, on (1) or false, no, off (0), got "-1"',
    ],
    [
      { HTTP_ERRORS: "2" },
      'HTTP_ERRORS: expected one of 1, true, yes, on (enabled) or 0, false, no, off (disabled), got "2"',
    ],
    [
      { WEBHOOK_ALLOW_PRIVATE: "maybe" },
      'WEBHOOK_ALLOW_PRIVATE: expected one of 1, true, yes, on (enabled) or 0, false, no, off (disabled), got "maybe"',
    ],
    [{ LOG_LEVEL: "loud" }, 'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [{ ALERT_WEBHOOK_URL: "ftp://relay" }, 'ALERT_WEBHOOK_URL: expected an http(s) URL, got "ftp://relay"'],
    [
      { ALERT_WEBHOOK_URL: "https://relay.example/hook" },
      "ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set (alerts are signed like customer webhooks)",
    ],
    [
      { ALERT_WEBHOOK_URL: "https://relay.example/hook", ALERT_WEBHOOK_SECRET: "short" },
      "ALERT_WEBHOOK_SECRET: expected at least 16 characters",
    ],
    [{ ALERT_REFUND_BURST: "0" }, 'ALERT_REFUND_BURST: expected an integer >= 1, got "0"'],
  ])("rejects %o with one line naming the variable", (source, message) => {
    const text = envError(source);
    expect(text).toBe(message);
    expect(text).not.toContain("\n");
  });
});
