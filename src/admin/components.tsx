/**
 * Small pieces every dashboard page uses: amounts (exact, from minor units), times (UTC in
 * the markup, the operator's time zone after `admin.js` runs; the UTC value stays in `title`),
 * the form token field, flash messages, pagers.
 */
import type { Child } from "hono/jsx";
import { formatAmount } from "../billing/money.js";
import type { Flash } from "./session.js";

/** An amount in minor units, printed with the store's 5 decimals (never through a float). */
export const Money = ({ minor, currency }: { minor: number | null; currency?: string }) =>
  minor === null ? (
    <span class="muted">-</span>
  ) : (
    <span class="num">{`${formatAmount(minor)}${currency ? ` ${currency}` : ""}`}</span>
  );

/** `YYYY-MM-DD HH:MM:SS UTC`; rewritten into the browser's time zone by admin.js. */
export const Time = ({ ms }: { ms: number | null | undefined }) => {
  if (ms === null || ms === undefined) return <span class="muted">-</span>;
  const iso = new Date(ms).toISOString();
  return (
    <time datetime={iso} title={`${iso.slice(0, 19).replace("T", " ")} UTC`}>
      {`${iso.slice(0, 19).replace("T", " ")} UTC`}
    </time>
  );
};

/** A short age ("42 s", "7 min", "3 h", "2 d"). */
export function age(fromMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - fromMs) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** The session's form token: every POST form carries it. */
export const FormToken = ({ token }: { token: string }) => <input type="hidden" name="_csrf" value={token} />;

export const Flashes = ({ flash }: { flash: Flash[] }) => (
  <>
    {flash.map((f) => (
      <div class={`flash ${f.kind}`} role={f.kind === "error" ? "alert" : "status"}>
        <p>{f.text}</p>
        {f.secret ? (
          <p>
            <label>
              {f.secret.label}
              <input class="secret" type="text" readonly value={f.secret.value} />
            </label>
            <span class="hint">Shown only once: store it now.</span>
          </p>
        ) : null}
      </div>
    ))}
  </>
);

/** A status word with a colour class (`Completed`, `Partial`, `unknown`...). */
export const Badge = ({ text }: { text: string | null }) =>
  text === null ? (
    <span class="muted">-</span>
  ) : (
    <span class={`badge b-${text.toLowerCase().replace(/[^a-z]+/g, "-")}`}>{text}</span>
  );

/** "Next page" link of a keyset pager; nothing when there is no next page. */
export const NextPage = ({ href, label = "Next page" }: { href: string | null; label?: string }) =>
  href === null ? null : (
    <nav class="pager" aria-label="Pages">
      <a href={href} rel="next">
        {label} →
      </a>
    </nav>
  );

export const Empty = ({ children }: { children: Child }) => <p class="empty">{children}</p>;

/** A customer's HTTP errors setting as shown: its own (yes / no), or the server's `HTTP_ERRORS`. */
export function httpErrorsText(value: boolean | null): string {
  return value === null ? "default (HTTP_ERRORS)" : value ? "yes" : "no (HTTP 200)";
}

/** The field **HTTP errors**: the three choices of a customer's setting (select `httpErrors`). */
export const HttpErrorsField = ({ value }: { value: boolean | null }) => (
  <label>
    HTTP errors
    <select name="httpErrors">
      <option value="default" selected={value === null}>
        Server default (HTTP_ERRORS)
      </option>
      <option value="on" selected={value === true}>
        Yes: HTTP error codes
      </option>
      <option value="off" selected={value === false}>
        No: always HTTP 200
      </option>
    </select>
  </label>
);
