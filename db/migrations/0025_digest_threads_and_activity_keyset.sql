DROP INDEX "activity_org_created";--> statement-breakpoint
DROP INDEX "activity_customer_created";--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "parent_id" bigint;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_parent_id_outbox_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."outbox"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_parent" ON "outbox" USING btree ("parent_id","id") WHERE parent_id is not null;--> statement-breakpoint
CREATE INDEX "activity_org_created" ON "activity_log" USING btree ("org_id","created_at","id");--> statement-breakpoint
CREATE INDEX "activity_customer_created" ON "activity_log" USING btree ("customer_id","created_at","id");