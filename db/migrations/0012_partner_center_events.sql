CREATE TABLE "partner_center_events" (
	"event_key" text PRIMARY KEY NOT NULL,
	"event_name" text NOT NULL,
	"resource_uri" text NOT NULL,
	"resource_change_utc_date" text NOT NULL,
	"audit_uri" text,
	"body" jsonb NOT NULL,
	"certificate_url" text NOT NULL,
	"status" text DEFAULT 'received' NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "partner_center_events_status" ON "partner_center_events" USING btree ("status","received_at");