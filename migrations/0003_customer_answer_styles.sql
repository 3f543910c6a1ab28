ALTER TABLE `customers` ADD `http_errors_set` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `customers` ADD `api_style` text DEFAULT 'panel' NOT NULL;--> statement-breakpoint
-- Customers created with HTTP errors off keep their own setting; the others follow HTTP_ERRORS.
UPDATE `customers` SET `http_errors_set` = 1 WHERE `http_errors` = 0;
