/**
 * Operator sessions of the dashboard (issue #13), held in memory: a random session id in a
 * signed cookie (HttpOnly, SameSite=Strict, Path=/admin, 12 h), a per-session form token for
 * every POST, and one-time messages shown after a redirect (a new API key is shown once this
 * way and then forgotten). A restart signs every operator out.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const SESSION_COOKIE = "smm_admin";

/** A message for the next page: `secret` values (a new API key) are shown once, then dropped. */
export interface Flash {
  kind: "ok" | "error";
  text: string;
  /** A value to copy now (an API key, a signing secret), shown once. */
  secret?: { label: string; value: string };
}

export interface Session {
  id: string;
  /** The token every form of this session carries (`_csrf`). */
  formToken: string;
  expiresAt: number;
  flash: Flash[];
}

const token = () => randomBytes(32).toString("base64url");

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  /** Secret signing the session cookie; new at every start. */
  readonly cookieSecret = randomBytes(32);

  constructor(private readonly now: () => number = Date.now) {}

  create(): Session {
    this.prune();
    const session: Session = { id: token(), formToken: token(), expiresAt: this.now() + SESSION_TTL_MS, flash: [] };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, or undefined (unknown or expired). */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  /** Takes (and clears) the session's pending messages. */
  takeFlash(session: Session): Flash[] {
    const flash = session.flash;
    session.flash = [];
    return flash;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

/** Constant-time comparison of two strings (tokens). */
export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
