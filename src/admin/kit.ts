/**
 * What every dashboard route shares: the context and options, the sessions, the log, and the
 * two shapes of a handler: `page` (render in the layout with the session's nav, form token
 * and one-time messages) and `act` (run a verb, keep its outcome or refusal for the next page,
 * redirect there with 303).
 */
import type { Context } from "hono";
import { z } from "zod";
import type { ActiveAlert } from "../alerts/alerter.js";
import type { Logger } from "../observability/logger.js";
import { isStuckQueued } from "../orders/recover.js";
import type { AppContext } from "../runtime/context.js";
import { listProviderStates } from "../sync/provider-state.js";
import type { ProviderStats } from "../upstream/types.js";
import { operatorError } from "./errors.js";
import type { PageProps, Section } from "./layout.js";
import type { ProviderTile } from "./pages/overview.js";
import type { Flash, Session, SessionStore } from "./session.js";

export interface AdminOptions {
  /** `ADMIN_TOKEN`: the one secret that signs an operator in. */
  token: string;
  /**
   * `TRUST_PROXY`: trusted reverse proxies in front (a count; `true` = 1). With any, the client
   * IP, https and the public origin come from X-Forwarded-*.
   */
  trustProxy: number | boolean;
  /** Live queue and circuit figures per provider (the registry's `stats`). */
  providerStats?: () => Record<string, ProviderStats>;
  /**
   * The alerter's conditions raised now (`Alerts.current()` of the same process), read-only,
   * for the Overview; absent: the page says this process watches no alerts.
   */
  activeAlerts?: () => ActiveAlert[];
  /** Allow webhook URLs on private addresses (`WEBHOOK_ALLOW_PRIVATE`). */
  webhookAllowPrivate?: boolean;
  /** Failed sign-ins allowed per IP in 15 minutes (default 10). */
  loginAttemptsPer15Min?: number;
}

export type AdminEnv = { Variables: { session: Session } };

export interface AdminKit {
  ctx: AppContext;
  options: AdminOptions;
  sessions: SessionStore;
  log: Logger;
  /** The store's currency (the providers file's, as last loaded). */
  currency: () => string;
  /** Renders `content` in the layout with the session's nav, form token and pending messages. */
  page: (
    c: Context<AdminEnv>,
    title: string,
    section: Section | undefined,
    content: () => string | Promise<string>,
  ) => Response | Promise<Response>;
  /** Runs an action, keeps its outcome (or the verb's refusal) for the next page, redirects to `back`. */
  act: (c: Context<AdminEnv>, back: string, run: () => Flash | Promise<Flash>, what: object) => Promise<Response>;
  /** Whether a `queued` order is stuck (the rule of `orders resolve`): then it is held. */
  isStuck: (order: { providerId: string; createdAt: number; updatedAt: number }) => boolean;
  /** Every configured provider with its stored state and live queue/circuit figures. */
  tiles: () => ProviderTile[];
}

export function createKit(ctx: AppContext, options: AdminOptions, sessions: SessionStore): AdminKit {
  const log = ctx.logger.child({ component: "admin" });
  return {
    ctx,
    options,
    sessions,
    log,
    currency: () => ctx.config.currency,
    page: (c, title, section, content) => {
      const session = c.get("session");
      const props: PageProps = { title, formToken: session.formToken, flash: sessions.takeFlash(session) };
      if (section !== undefined) props.section = section;
      return c.render(content(), props);
    },
    act: async (c, back, run, what) => {
      const session = c.get("session");
      try {
        const flash = await run();
        session.flash.push(flash);
        log.info({ event: "admin_action", path: c.req.path, ...what }, flash.text);
      } catch (error) {
        const known = operatorError(error);
        if (known === undefined) throw error;
        session.flash.push({ kind: "error", text: known.message });
        log.info({ event: "admin_action_refused", path: c.req.path, ...what, reason: known.message }, "refused");
      }
      return c.redirect(back, 303);
    },
    isStuck: (order) => isStuckQueued(ctx, order),
    tiles: () => {
      const stats = options.providerStats?.() ?? {};
      return listProviderStates(ctx.db, ctx.config).map((state) => ({ state, stats: stats[state.id] }));
    },
  };
}

/** A form field as text ("" when absent or a file). */
export function bodyText(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === "string" ? value : "";
}

const id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** An optional positive id from a query string ("" = absent). */
export const optionalId = z.preprocess((v) => (v === "" ? undefined : v), id.optional());
