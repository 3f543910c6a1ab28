CREATE TABLE `order_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`order_id` integer NOT NULL,
	`route_index` integer NOT NULL,
	`provider_id` text NOT NULL,
	`upstream_service` text NOT NULL,
	`outcome` text NOT NULL,
	`error` text,
	`sent_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`order_id`) REFERENCES `orders`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `order_attempts_order_idx` ON `order_attempts` (`order_id`,`id`);--> statement-breakpoint
CREATE TABLE `service_routes` (
	`service_id` integer NOT NULL,
	`route_index` integer NOT NULL,
	`provider_id` text NOT NULL,
	`upstream_service` text NOT NULL,
	`cost` text,
	`type` text,
	`min` integer,
	`max` integer,
	`refill` integer DEFAULT false NOT NULL,
	`cancel` integer DEFAULT false NOT NULL,
	`dripfeed` integer DEFAULT false NOT NULL,
	`usable` integer NOT NULL,
	`unusable_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`service_id`, `route_index`)
);
--> statement-breakpoint
ALTER TABLE `services` ADD `routing` text DEFAULT 'priority' NOT NULL;--> statement-breakpoint
ALTER TABLE `services` ADD `import_rule` integer;