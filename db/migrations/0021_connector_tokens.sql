CREATE TABLE "partner_center_connections" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"sealed_refresh_token" text NOT NULL,
	"seed_hash" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"refused_at" timestamp with time zone,
	"refusal" text,
	"expiry_warned_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "partner_center_unreadable_records" (
	"org_id" uuid NOT NULL,
	"record_id" text NOT NULL,
	"reason" text NOT NULL,
	"operation_date" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "partner_center_unreadable_records_org_id_record_id_pk" PRIMARY KEY("org_id","record_id")
);
--> statement-breakpoint
ALTER TABLE "partner_center_unreadable_records" ADD CONSTRAINT "partner_center_unreadable_records_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;