-- A store may already hold an upstream order id reused by its panel (what this index now
-- prevents). Every later order sharing it with an earlier order of the same provider is held
-- for the operator first (`unknown`, flagged, the id kept in last_error), so the index applies.
UPDATE `orders` SET
	`submission` = 'unknown',
	`flag` = 'upstream returned an order id already used',
	`last_error` = 'upstream order id ' || `upstream_order_id` || ' is also order ' || (
		SELECT min(`earlier`.`id`) FROM `orders` AS `earlier`
		WHERE `earlier`.`provider_id` = `orders`.`provider_id` AND `earlier`.`upstream_order_id` = `orders`.`upstream_order_id`
	),
	`upstream_order_id` = NULL,
	`updated_at` = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE `upstream_order_id` IS NOT NULL AND EXISTS (
	SELECT 1 FROM `orders` AS `earlier`
	WHERE `earlier`.`provider_id` = `orders`.`provider_id` AND `earlier`.`upstream_order_id` = `orders`.`upstream_order_id`
		AND `earlier`.`id` < `orders`.`id`
);--> statement-breakpoint
CREATE UNIQUE INDEX `orders_upstream_order_idx` ON `orders` (`provider_id`,`upstream_order_id`) WHERE "orders"."upstream_order_id" IS NOT NULL;
