CREATE TABLE `daily_totals` (
	`day` integer PRIMARY KEY NOT NULL,
	`orders` integer DEFAULT 0 NOT NULL,
	`charges` integer DEFAULT 0 NOT NULL,
	`refunds` integer DEFAULT 0 NOT NULL,
	`cost` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `orders_status_idx` ON `orders` (`status`);--> statement-breakpoint
CREATE INDEX `orders_provider_idx` ON `orders` (`provider_id`);--> statement-breakpoint
CREATE INDEX `orders_flagged_idx` ON `orders` (`id`) WHERE "orders"."flag" IS NOT NULL;
--> statement-breakpoint
-- Daily totals are kept by triggers, in the transaction of the row that changes them, so
-- every path (API, sync, CLI, recovery) counts without knowing about them.
INSERT INTO `daily_totals` (`day`, `orders`, `cost`)
	SELECT `created_at` / 86400000, count(*), coalesce(sum(`cost`), 0) FROM `orders` GROUP BY 1
	ON CONFLICT (`day`) DO UPDATE SET `orders` = `orders` + excluded.`orders`, `cost` = `cost` + excluded.`cost`;--> statement-breakpoint
INSERT INTO `daily_totals` (`day`, `charges`, `refunds`)
	SELECT `created_at` / 86400000,
		coalesce(sum(CASE WHEN `kind` = 'charge' THEN -`amount` ELSE 0 END), 0),
		coalesce(sum(CASE WHEN `kind` = 'refund' THEN `amount` ELSE 0 END), 0)
	FROM `ledger_entries` WHERE `kind` IN ('charge', 'refund') GROUP BY 1
	ON CONFLICT (`day`) DO UPDATE SET `charges` = `charges` + excluded.`charges`, `refunds` = `refunds` + excluded.`refunds`;--> statement-breakpoint
CREATE TRIGGER `daily_totals_order_insert` AFTER INSERT ON `orders` BEGIN
	INSERT INTO `daily_totals` (`day`, `orders`, `cost`) VALUES (NEW.`created_at` / 86400000, 1, coalesce(NEW.`cost`, 0))
	ON CONFLICT (`day`) DO UPDATE SET `orders` = `orders` + 1, `cost` = `cost` + excluded.`cost`;
END;--> statement-breakpoint
CREATE TRIGGER `daily_totals_order_cost` AFTER UPDATE OF `cost` ON `orders`
WHEN coalesce(NEW.`cost`, 0) <> coalesce(OLD.`cost`, 0) BEGIN
	INSERT INTO `daily_totals` (`day`, `cost`) VALUES (NEW.`created_at` / 86400000, coalesce(NEW.`cost`, 0) - coalesce(OLD.`cost`, 0))
	ON CONFLICT (`day`) DO UPDATE SET `cost` = `cost` + excluded.`cost`;
END;--> statement-breakpoint
CREATE TRIGGER `daily_totals_ledger_insert` AFTER INSERT ON `ledger_entries`
WHEN NEW.`kind` IN ('charge', 'refund') BEGIN
	INSERT INTO `daily_totals` (`day`, `charges`, `refunds`) VALUES (
		NEW.`created_at` / 86400000,
		CASE WHEN NEW.`kind` = 'charge' THEN -NEW.`amount` ELSE 0 END,
		CASE WHEN NEW.`kind` = 'refund' THEN NEW.`amount` ELSE 0 END)
	ON CONFLICT (`day`) DO UPDATE SET `charges` = `charges` + excluded.`charges`, `refunds` = `refunds` + excluded.`refunds`;
END;
