/** An answer decided before the action ran (an idempotent replay): status and body as stored. */
export class PresetAnswer {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {}
}
