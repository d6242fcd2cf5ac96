-- Each change to a table an in-process cache reads is announced on the channel csp_changes, its
-- payload the table's name (src/core/change-cache.ts): every writer, this process or another (the CLI,
-- another replica), so no cache waits for a time limit to see it. One notification per table and
-- transaction: PostgreSQL folds identical ones. ENABLE ALWAYS: also when rows are restored in replica mode.
CREATE FUNCTION csp_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('csp_changes', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER organizations_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organizations FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE organizations ENABLE ALWAYS TRIGGER organizations_changed;
--> statement-breakpoint
CREATE TRIGGER staff_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staff FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE staff ENABLE ALWAYS TRIGGER staff_changed;
--> statement-breakpoint
CREATE TRIGGER customer_contacts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customer_contacts FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE customer_contacts ENABLE ALWAYS TRIGGER customer_contacts_changed;
--> statement-breakpoint
CREATE TRIGGER customers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customers FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE customers ENABLE ALWAYS TRIGGER customers_changed;
--> statement-breakpoint
CREATE TRIGGER slack_user_locales_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON slack_user_locales FOR EACH STATEMENT EXECUTE FUNCTION csp_notify_change();
--> statement-breakpoint
ALTER TABLE slack_user_locales ENABLE ALWAYS TRIGGER slack_user_locales_changed;
