CREATE TABLE `cache_generations` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
-- The API key cache (issue #14) starts over whenever this counter moves: any key written, any
-- customer deleted, any customer update that leaves the balance alone (http_errors, webhook,
-- a future flag). Balance changes (the ledger's UPDATE sets balance and updated_at only) keep
-- it: balances are never cached. Triggers fire for every connection: the CLI's writes count.
INSERT INTO `cache_generations` (`name`, `value`) VALUES ('customers', 0);
--> statement-breakpoint
CREATE TRIGGER `api_keys_insert_bumps_customers_generation` AFTER INSERT ON `api_keys`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'customers'; END;
--> statement-breakpoint
CREATE TRIGGER `api_keys_update_bumps_customers_generation` AFTER UPDATE ON `api_keys`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'customers'; END;
--> statement-breakpoint
CREATE TRIGGER `api_keys_delete_bumps_customers_generation` AFTER DELETE ON `api_keys`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'customers'; END;
--> statement-breakpoint
CREATE TRIGGER `customers_update_bumps_customers_generation` AFTER UPDATE ON `customers`
WHEN NEW.`balance` IS OLD.`balance`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'customers'; END;
--> statement-breakpoint
CREATE TRIGGER `customers_delete_bumps_customers_generation` AFTER DELETE ON `customers`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'customers'; END;
