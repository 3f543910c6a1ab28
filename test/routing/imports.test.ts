/** Import rules expanded over cached catalogues (issue #12): filters, id offset, explicit override, skips, conflicts. */
import { describe, expect, it } from "vitest";
import type { ImportRule } from "../../src/config/providers-file.js";
import { type CatalogueEntry, categoryPattern, expandImports } from "../../src/routing/imports.js";

const JAP: CatalogueEntry[] = [
  { service: "1", category: "Instagram Followers", type: "Default" },
  { service: "2", category: "Instagram Comments", type: "Custom Comments" },
  { service: "3", category: "instagram likes", type: "default" },
  { service: "4", category: "TikTok Likes", type: "Default" },
  { service: "5", category: "TikTok Views", type: "Default" },
  { service: "6", category: "YouTube Views", type: "Package" },
  { service: "15", category: "Instagram Followers", type: "Default" },
  { service: "ig-7", category: "Instagram Followers", type: "Default" },
];

const rule = (r: Partial<ImportRule> & Pick<ImportRule, "provider" | "idOffset">): ImportRule => ({
  exclude: [],
  ...r,
});
const catalogues = (p: string) => (p === "jap" ? JAP : []);

describe("import rules", () => {
  it("maps every numeric upstream id to idOffset + id, skipping and counting the others", () => {
    const out = expandImports([rule({ provider: "jap", idOffset: 100000 })], catalogues, new Set());
    expect(out.services.map((s) => [s.id, s.provider, s.upstreamService, s.routes.length])).toEqual([
      [100001, "jap", "1", 1],
      [100002, "jap", "2", 1],
      [100003, "jap", "3", 1],
      [100004, "jap", "4", 1],
      [100005, "jap", "5", 1],
      [100006, "jap", "6", 1],
      [100015, "jap", "15", 1],
    ]);
    expect(out.counts).toEqual([{ rule: 0, provider: "jap", produced: 7, skipped: 1, overridden: 0 }]);
  });

  it("filters by category wildcard (case-insensitive), type and exclude, and carries the rule's markup", () => {
    const out = expandImports(
      [
        rule({
          provider: "jap",
          idOffset: 1000,
          categories: ["Instagram*", "TikTok Likes"],
          types: ["Default", "Custom Comments"],
          exclude: ["15"],
          markup: { percent: "35" },
        }),
      ],
      catalogues,
      new Set(),
    );
    expect(out.services.map((s) => s.id)).toEqual([1001, 1002, 1003, 1004]);
    expect(
      out.services.every((s) => s.markup !== undefined && "percent" in s.markup && s.markup.percent === "35"),
    ).toBe(true);
    expect(out.counts[0]).toMatchObject({ produced: 4, skipped: 1 });
  });

  it("lets a service listed explicitly win over an imported one with the same id", () => {
    const out = expandImports([rule({ provider: "jap", idOffset: 0, types: ["Package"] })], catalogues, new Set([6]));
    expect(out.services).toEqual([]);
    expect(out.counts[0]).toMatchObject({ produced: 0, overridden: 1 });
  });

  it("reports an id produced by two rules as a conflict and produces it from neither", () => {
    const other = (p: string) =>
      p === "mtp" ? [{ service: "2", category: "Instagram Comments", type: "Custom Comments" }] : catalogues(p);
    const out = expandImports(
      [rule({ provider: "jap", idOffset: 100, categories: ["*Comments"] }), rule({ provider: "mtp", idOffset: 100 })],
      other,
      new Set(),
    );
    expect(out.services).toEqual([]);
    expect(out.conflicts).toEqual([
      { id: 102, rules: [0, 1], message: "imports[1]: local id 102 is also produced by imports[0]" },
    ]);
    expect(out.counts.map((c) => c.produced)).toEqual([0, 0]);
  });

  it("reads * as any run of characters and everything else literally", () => {
    expect(categoryPattern("Instagram*").test("instagram followers")).toBe(true);
    expect(categoryPattern("*Likes").test("TikTok Likes")).toBe(true);
    expect(categoryPattern("TikTok Likes").test("TikTok Likes (HQ)")).toBe(false);
    expect(categoryPattern("Views (HQ)").test("Views (HQ)")).toBe(true);
    expect(categoryPattern("Views (HQ)").test("Views HQ")).toBe(false);
  });
});
