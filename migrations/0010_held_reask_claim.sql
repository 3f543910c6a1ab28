ALTER TABLE `order_attempts` ADD `kind` text DEFAULT 'add' NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `reask_lease_until` integer;