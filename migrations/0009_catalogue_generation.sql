-- The `services` answer's cache (issue #14) is rebuilt whenever this counter moves: a service
-- added or removed, or a change to anything the answer shows (id, name, type, category, rate,
-- min, max, refill, cancel, dripfeed, enabled). Costs, routes and sync bookkeeping keep it.
-- Triggers fire for every connection: the CLI's writes count. Read with the `customers`
-- counter in one statement per request (src/db/cache-generations.ts).
INSERT INTO `cache_generations` (`name`, `value`) VALUES ('catalogue', 0);
--> statement-breakpoint
CREATE TRIGGER `services_insert_bumps_catalogue_generation` AFTER INSERT ON `services`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'catalogue'; END;
--> statement-breakpoint
CREATE TRIGGER `services_delete_bumps_catalogue_generation` AFTER DELETE ON `services`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'catalogue'; END;
--> statement-breakpoint
CREATE TRIGGER `services_update_bumps_catalogue_generation` AFTER UPDATE ON `services`
WHEN NEW.`id` IS NOT OLD.`id` OR NEW.`name` IS NOT OLD.`name` OR NEW.`type` IS NOT OLD.`type`
  OR NEW.`category` IS NOT OLD.`category` OR NEW.`rate` IS NOT OLD.`rate` OR NEW.`min` IS NOT OLD.`min`
  OR NEW.`max` IS NOT OLD.`max` OR NEW.`refill` IS NOT OLD.`refill` OR NEW.`cancel` IS NOT OLD.`cancel`
  OR NEW.`dripfeed` IS NOT OLD.`dripfeed` OR NEW.`enabled` IS NOT OLD.`enabled`
BEGIN UPDATE `cache_generations` SET `value` = `value` + 1 WHERE `name` = 'catalogue'; END;
