/**
 * `customers ...`: add, list, show, topup, rotate-key, add-key, set-webhook. Each command is a
 * thin wrapper over a verb of `src/customers`. Amounts print as 5-decimal strings, times as ISO.
 */
import type { Command } from "commander";
import { formatAmount } from "../../billing/money.js";
import {
  addApiKey,
  type CustomerView,
  createCustomer,
  getCustomer,
  listCustomers,
  rotateKey,
  setApiStyle,
  setHttpErrors,
  setWebhook,
  topUp,
} from "../../customers/index.js";
import type { ApiStyle } from "../../db/schema.js";
import type { CliContext } from "../context.js";
import { CliUsageError } from "../errors.js";
import { isoTime, ledgerJson } from "../output.js";
import { parseCount, parseId, parseNonNegativeAmount, parseSignedAmount } from "../parsers.js";

const JSON_FLAG = ["--json", "print machine-readable JSON"] as const;

/** JSON shape of a customer in `customers list/show`. */
export interface CustomerJson {
  id: number;
  name: string;
  currency: string;
  /** Decimal string with 5 decimals. */
  balance: string;
  /** null: the server's HTTP_ERRORS applies. */
  httpErrors: boolean | null;
  apiStyle: ApiStyle;
  webhookUrl: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

function customerJson(c: CustomerView): CustomerJson {
  return {
    id: c.id,
    name: c.name,
    currency: c.currency,
    balance: formatAmount(c.balance),
    httpErrors: c.httpErrors,
    apiStyle: c.apiStyle,
    webhookUrl: c.webhookUrl,
    createdAt: isoTime(c.createdAt),
    updatedAt: isoTime(c.updatedAt),
  };
}

/** A customer's HTTP errors setting as shown: its own (yes/no), or the server's. */
function httpErrorsText(value: boolean | null): boolean | string {
  return value ?? "default (HTTP_ERRORS)";
}

export function registerCustomerCommands(program: Command, ctx: CliContext): void {
  const group = program.command("customers").description("manage customers, their balances, API keys and webhooks");

  group
    .command("set-http-errors")
    .description("answer API errors with HTTP codes (on), always HTTP 200 (off), or as HTTP_ERRORS says (default)")
    .argument("<id>", "customer id", parseId)
    .argument("<value>", "on | off | default")
    .option(...JSON_FLAG)
    .action((id: number, value: string, opts: { json?: boolean }) => {
      const settings: Record<string, boolean | null> = { on: true, off: false, default: null };
      const setting = Object.hasOwn(settings, value) ? settings[value] : undefined;
      if (setting === undefined) throw new CliUsageError(`expected on, off or default, got "${value}"`);
      const customer = setHttpErrors(ctx.db(), id, setting);
      if (opts.json) ctx.out.json(customerJson(customer));
      else ctx.out.line(`customer ${id}: http errors ${value}`);
    });

  group
    .command("set-api-style")
    .description("set the answer style of cancel: panel (seed 003) or perfectpanel (seed 000, JAP)")
    .argument("<id>", "customer id", parseId)
    .argument("<style>", "panel | perfectpanel")
    .option(...JSON_FLAG)
    .action((id: number, style: string, opts: { json?: boolean }) => {
      const customer = setApiStyle(ctx.db(), id, style);
      if (opts.json) ctx.out.json(customerJson(customer));
      else ctx.out.line(`customer ${id}: api style ${customer.apiStyle}`);
    });

  group
    .command("add")
    .description("create a customer and print its API key (shown only once)")
    .requiredOption("--name <name>", "customer name")
    .option("--balance <amount>", "opening balance, e.g. 10.00", parseNonNegativeAmount)
    .option("--http-errors", "answer API errors with HTTP error codes (default: the server's HTTP_ERRORS)")
    .option("--no-http-errors", "answer API errors with HTTP 200 (for clients that throw on non-2xx)")
    .option("--api-style <style>", "answer style of cancel: panel (seed 003, default) or perfectpanel (seed 000)")
    .option(...JSON_FLAG)
    .action((opts: { name: string; balance?: number; httpErrors?: boolean; apiStyle?: string; json?: boolean }) => {
      const currency = ctx.defaultCurrency();
      const { customer, apiKey } = createCustomer(ctx.db(), {
        name: opts.name,
        balance: opts.balance ?? 0,
        ...(opts.httpErrors === undefined ? {} : { httpErrors: opts.httpErrors }),
        ...(opts.apiStyle === undefined ? {} : { apiStyle: opts.apiStyle as ApiStyle }),
        currency,
      });
      if (opts.json) {
        ctx.out.json({
          id: customer.id,
          name: customer.name,
          currency: customer.currency,
          balance: formatAmount(customer.balance),
          httpErrors: customer.httpErrors,
          apiStyle: customer.apiStyle,
          apiKey,
        });
        return;
      }
      ctx.out.keyValues([
        ["id", customer.id],
        ["name", customer.name],
        ["balance", `${formatAmount(customer.balance)} ${customer.currency}`],
        ["http errors", httpErrorsText(customer.httpErrors)],
        ["api style", customer.apiStyle],
        ["api key", apiKey],
      ]);
      ctx.out.line("The API key is shown only once: store it now.");
    });

  group
    .command("list")
    .description("list customers")
    .option(...JSON_FLAG)
    .action((opts: { json?: boolean }) => {
      const rows = listCustomers(ctx.db());
      if (opts.json) {
        ctx.out.json(rows.map((c) => ({ ...customerJson(c), activeKeys: c.activeKeys })));
        return;
      }
      ctx.out.table(rows, [
        { header: "ID", value: (c) => c.id, align: "right" },
        { header: "NAME", value: (c) => c.name },
        { header: "BALANCE", value: (c) => formatAmount(c.balance), align: "right" },
        { header: "CUR", value: (c) => c.currency },
        { header: "HTTP ERRORS", value: (c) => httpErrorsText(c.httpErrors) },
        { header: "STYLE", value: (c) => c.apiStyle },
        { header: "KEYS", value: (c) => c.activeKeys, align: "right" },
        { header: "WEBHOOK", value: (c) => c.webhookUrl },
      ]);
    });

  group
    .command("show")
    .description("show a customer: balance, API keys (prefixes) and the last ledger rows")
    .argument("<id>", "customer id", parseId)
    .option("--limit <n>", "ledger rows to show", parseCount, 10)
    .option(...JSON_FLAG)
    .action((id: number, opts: { limit: number; json?: boolean }) => {
      const { customer, keys, ledger } = getCustomer(ctx.db(), id, { ledgerLimit: opts.limit });
      if (opts.json) {
        ctx.out.json({
          ...customerJson(customer),
          keys: keys.map((k) => ({
            id: k.id,
            prefix: k.prefix,
            createdAt: isoTime(k.createdAt),
            revokedAt: isoTime(k.revokedAt),
          })),
          ledger: ledger.map(ledgerJson),
        });
        return;
      }
      ctx.out.keyValues([
        ["id", customer.id],
        ["name", customer.name],
        ["balance", `${formatAmount(customer.balance)} ${customer.currency}`],
        ["http errors", httpErrorsText(customer.httpErrors)],
        ["api style", customer.apiStyle],
        ["webhook", customer.webhookUrl],
        ["created", isoTime(customer.createdAt)],
      ]);
      ctx.out.line();
      ctx.out.line("API keys:");
      ctx.out.table(keys, [
        { header: "ID", value: (k) => k.id, align: "right" },
        { header: "PREFIX", value: (k) => `${k.prefix}…` },
        { header: "CREATED", value: (k) => isoTime(k.createdAt) },
        { header: "REVOKED", value: (k) => isoTime(k.revokedAt) },
      ]);
      ctx.out.line();
      ctx.out.line(`Last ledger rows (newest first, up to ${opts.limit}):`);
      ctx.out.table(ledger, [
        { header: "ID", value: (e) => e.id, align: "right" },
        { header: "TIME", value: (e) => isoTime(e.createdAt) },
        { header: "KIND", value: (e) => e.kind },
        { header: "AMOUNT", value: (e) => formatAmount(e.amount), align: "right" },
        { header: "BALANCE", value: (e) => formatAmount(e.balanceAfter), align: "right" },
        { header: "ORDER", value: (e) => e.orderId, align: "right" },
        { header: "NOTE", value: (e) => e.note },
      ]);
    });

  group
    .command("topup")
    .description("credit a balance; a negative AMOUNT is a correction (never below zero)")
    .argument("<id>", "customer id", parseId)
    .argument("<amount>", "amount in the customer's currency, e.g. 25 or -5.50", parseSignedAmount)
    .option("--note <text>", "note kept on the ledger row")
    .option(...JSON_FLAG)
    .action((id: number, amount: number, opts: { note?: string; json?: boolean }) => {
      const result = topUp(ctx.db(), id, amount, opts.note ?? null);
      const json = {
        id,
        entryId: result.entry.id,
        kind: result.entry.kind,
        amount: formatAmount(result.amount),
        balance: formatAmount(result.balance),
        note: result.entry.note,
        createdAt: isoTime(result.entry.createdAt),
      };
      if (opts.json) {
        ctx.out.json(json);
        return;
      }
      ctx.out.keyValues([
        ["id", id],
        ["ledger row", json.entryId],
        ["kind", json.kind],
        ["amount", json.amount],
        ["balance", json.balance],
        ["note", json.note],
      ]);
    });

  group
    .command("rotate-key")
    .description("revoke every API key of a customer and print a new one (shown only once)")
    .argument("<id>", "customer id", parseId)
    .option(...JSON_FLAG)
    .action((id: number, opts: { json?: boolean }) => {
      const rotated = rotateKey(ctx.db(), id);
      if (opts.json) {
        ctx.out.json({ id, apiKey: rotated.apiKey, prefix: rotated.prefix, revoked: rotated.revoked });
        return;
      }
      ctx.out.keyValues([
        ["id", id],
        ["revoked keys", rotated.revoked],
        ["api key", rotated.apiKey],
      ]);
      ctx.out.line("The API key is shown only once: store it now.");
    });

  group
    .command("add-key")
    .description("issue one more API key, keeping the others (shown only once)")
    .argument("<id>", "customer id", parseId)
    .option(...JSON_FLAG)
    .action((id: number, opts: { json?: boolean }) => {
      const issued = addApiKey(ctx.db(), id);
      if (opts.json) {
        ctx.out.json({ id, apiKey: issued.apiKey, prefix: issued.prefix });
        return;
      }
      ctx.out.keyValues([
        ["id", id],
        ["api key", issued.apiKey],
      ]);
      ctx.out.line("The API key is shown only once: store it now.");
    });

  group
    .command("set-webhook")
    .description("set the webhook URL (prints a new signing secret, shown only once) or remove it with --none")
    .argument("<id>", "customer id", parseId)
    .argument("[url]", "http(s) URL receiving order status changes")
    .option("--none", "remove the webhook")
    .option(...JSON_FLAG)
    .action((id: number, url: string | undefined, opts: { none?: boolean; json?: boolean }) => {
      if (opts.none && url !== undefined) throw new CliUsageError("give either a URL or --none, not both");
      if (!opts.none && url === undefined) throw new CliUsageError("give a URL, or --none to remove the webhook");
      const result = setWebhook(ctx.db(), id, opts.none ? null : (url ?? null), {
        allowPrivate: ctx.env().WEBHOOK_ALLOW_PRIVATE,
      });
      if (opts.json) {
        ctx.out.json({ id, webhookUrl: result.customer.webhookUrl, webhookSecret: result.webhookSecret });
        return;
      }
      if (result.webhookSecret === null) {
        ctx.out.line(`customer ${id}: webhook removed`);
        return;
      }
      ctx.out.keyValues([
        ["id", id],
        ["webhook", result.customer.webhookUrl],
        ["signing secret", result.webhookSecret],
      ]);
      ctx.out.line("The signing secret is shown only once: store it now.");
    });
}
