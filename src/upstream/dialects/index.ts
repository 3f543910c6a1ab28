/** Every dialect by name (`ProviderConfig.dialect`). */
import type { Dialect } from "../../config/providers-file.js";
import { jap } from "./jap.js";
import { justprovider } from "./justprovider.js";
import { morethanpanel } from "./morethanpanel.js";
import { panel } from "./panel.js";
import type { DialectSpec } from "./types.js";

export const DIALECT_SPECS: Readonly<Record<Dialect, DialectSpec>> = { jap, morethanpanel, justprovider, panel };

export function dialectSpec(name: Dialect): DialectSpec {
  return DIALECT_SPECS[name];
}

export type {
  ActionSpec,
  BalanceAnswer,
  DialectActions,
  DialectSpec,
  Form,
  OrderIdForm,
  Parsed,
  UpstreamAction,
} from "./types.js";
export { UPSTREAM_ACTIONS } from "./types.js";
