ALTER TABLE `orders` ADD `idempotency_key_unknown` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- Orders placed before migration 0008 remembered their customer Idempotency-Key: take it (and
-- its request hash) from the key's row where the row still names the order.
UPDATE `orders` SET
	`idempotency_key` = (SELECT k.`key` FROM `idempotency_keys` k WHERE k.`order_id` = `orders`.`id`),
	`idempotency_request_hash` = (SELECT k.`request_hash` FROM `idempotency_keys` k WHERE k.`order_id` = `orders`.`id`)
WHERE `idempotency_key` IS NULL AND EXISTS (SELECT 1 FROM `idempotency_keys` k WHERE k.`order_id` = `orders`.`id`);
--> statement-breakpoint
-- A failed order's key row was deleted when it failed (so the customer could retry): whether it
-- had a key, and whether a retry placed another order, is unknown. `orders reroute` refuses it
-- until the operator checked the customer's orders since (`--key-checked`).
UPDATE `orders` SET `idempotency_key_unknown` = 1 WHERE `submission` = 'failed' AND `idempotency_key` IS NULL;
