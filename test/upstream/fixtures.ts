/** Answers copied from the seed documents (`../shared/seeds`), per action. */

/** Seed 000/002/004 "Service list". */
export const PP_SERVICES = [
  {
    service: 1,
    name: "Followers",
    type: "Default",
    category: "First Category",
    rate: "0.90",
    min: "50",
    max: "10000",
    refill: true,
    cancel: true,
  },
  {
    service: 2,
    name: "Comments",
    type: "Custom Comments",
    category: "Second Category",
    rate: "8",
    min: "10",
    max: "1500",
    refill: false,
    cancel: true,
  },
];

/** Seed 003 "services": string ids, no flags. */
export const PANEL_SERVICES = [
  {
    service: "1",
    name: "Followers",
    type: "Default",
    rate: "0.90",
    min: "50",
    max: "10000",
    category: "First Category",
  },
  {
    service: "2",
    name: "Comments",
    type: "Custom Comments",
    rate: "8",
    min: "10",
    max: "1500",
    category: "Second Category",
  },
];

export const ADD = { order: 23501 };

export const STATUS = { charge: "0.27819", start_count: "3572", status: "Partial", remains: "157", currency: "USD" };

/** Seed 000 "Multiple orders status". */
export const MULTI_STATUS = {
  "1": { charge: "0.27819", start_count: "3572", status: "Partial", remains: "157", currency: "USD" },
  "10": { error: "Incorrect order ID" },
  "100": { charge: "1.44219", start_count: "234", status: "In progress", remains: "10", currency: "USD" },
};

export const REFILL = { refill: "1" };

/** Seed 000 "Create multiple refill". */
export const MULTI_REFILL = [
  { order: 1, refill: 1 },
  { order: 2, refill: 2 },
  { order: 3, refill: { error: "Incorrect order ID" } },
];

export const REFILL_STATUS = { status: "Completed" };

/** Seed 000 "Get multiple refill status". */
export const MULTI_REFILL_STATUS = [
  { refill: 1, status: "Completed" },
  { refill: 2, status: "Rejected" },
  { refill: 3, status: { error: "Refill not found" } },
];

/** Seed 000 "Create cancel". */
export const PP_CANCEL = [
  { order: 9, cancel: { error: "Incorrect order ID" } },
  { order: 2, cancel: 1 },
];

/** Seed 003 "cancel". */
export const PANEL_CANCEL = [
  { order: 9, cancel: { status: "success" } },
  { order: 2, error: "Incorrect order ID" },
];

export const BALANCE = { balance: "100.84292", currency: "USD" };
