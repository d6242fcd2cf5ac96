CREATE TABLE "partner_center_intents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"customer_id" uuid NOT NULL,
	"subscription_id" text,
	"request_id" uuid,
	"change" jsonb NOT NULL,
	"actor_staff_id" uuid NOT NULL,
	"actor_name" text NOT NULL,
	"actor_platform" text NOT NULL,
	"actor_channel_id" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"outcome" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "posted_channel_id" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "requested_by_user_id" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "requested_by_aad_object_id" text;--> statement-breakpoint
ALTER TABLE "partner_center_intents" ADD CONSTRAINT "partner_center_intents_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_center_intents" ADD CONSTRAINT "partner_center_intents_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_center_intents" ADD CONSTRAINT "partner_center_intents_request_id_reservation_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."reservation_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_center_intents" ADD CONSTRAINT "partner_center_intents_actor_staff_id_staff_id_fk" FOREIGN KEY ("actor_staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "partner_center_intents_pending_target" ON "partner_center_intents" USING btree ("org_id","target") WHERE "partner_center_intents"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "partner_center_intents_status" ON "partner_center_intents" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "outbox_request_card" ON "outbox" USING btree ("org_id",(message->>'requestCard')) WHERE message ? 'requestCard';