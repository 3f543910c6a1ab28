/**
 * Statements built and prepared once per store (issue #6): building a drizzle query and
 * preparing its SQL costs far more than running it, so hot paths keep their statements in a
 * per-store cache instead of rebuilding them on every call.
 */

/**
 * Wraps `build` so it runs once per store: the returned getter gives, for each `db`, the value
 * `build(db)` made on the first call for that store (held weakly: a closed, dropped store frees it).
 * Mostly prepared statements; any per-store state works (e.g. a set of ids in flight).
 * Declare the getter once at module level; build statements with `sql.placeholder` for the values.
 * @example const statements = preparedFor((db: Db) => ({ one: db.select()...where(eq(t.id, sql.placeholder("id"))).prepare() }));
 *          statements(ctx.db).one.get({ id });
 */
export function preparedFor<K extends object, T>(build: (db: K) => T): (db: K) => T {
  const cache = new WeakMap<K, T>();
  return (db) => {
    let built = cache.get(db);
    if (built === undefined) {
      built = build(db);
      cache.set(db, built);
    }
    return built;
  };
}
