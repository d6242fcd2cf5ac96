CREATE TABLE "partner_center_audit_cursors" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"polled_until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "partner_center_audit_cursors" ADD CONSTRAINT "partner_center_audit_cursors_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;