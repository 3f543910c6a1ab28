/**
 * An answer already serialised: sent as is with 200 and `Content-Type: application/json`
 * (what `c.json` sends), so a large, rarely changing answer is not stringified per request
 * (`services`, issue #6).
 */
export class JsonText {
  constructor(readonly text: string) {}
}
