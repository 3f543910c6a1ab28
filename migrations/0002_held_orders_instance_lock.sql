CREATE TABLE `instance_lock` (
	`id` integer PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`pid` integer NOT NULL,
	`hostname` text NOT NULL,
	`started_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `idempotency_keys` ADD `order_id` integer;--> statement-breakpoint
ALTER TABLE `orders` ADD `upstream_idempotency_key` text;