-- A customer's account view (its permissions, subscriptions and latest activity) is kept in memory
-- until one of these tables changes (src/core/permissions.ts, shownCustomerAccount), as migration 0028
-- does for identities. Per statement, not per row: an intake batch's activity rows cost one notification.
CREATE TRIGGER customer_purchase_permissions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customer_purchase_permissions FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE customer_purchase_permissions ENABLE ALWAYS TRIGGER customer_purchase_permissions_changed;
--> statement-breakpoint
CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON subscriptions FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE subscriptions ENABLE ALWAYS TRIGGER subscriptions_changed;
--> statement-breakpoint
CREATE TRIGGER activity_log_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON activity_log FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE activity_log ENABLE ALWAYS TRIGGER activity_log_changed;
