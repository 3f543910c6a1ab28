/** A provider's settings as the CLI prints them in JSON (never its key): shared by `config check` and `providers list`. */
export { providerSettings as providerSettingsJson } from "../sync/provider-state.js";
