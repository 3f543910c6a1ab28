ALTER TABLE `customers` ADD `suspended_at` integer;--> statement-breakpoint
CREATE INDEX `orders_flag_idx` ON `orders` (`flag`) WHERE "orders"."flag" IS NOT NULL;