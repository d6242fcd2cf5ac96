CREATE TABLE "partner_center_orders" (
	"org_id" uuid NOT NULL,
	"id" text NOT NULL,
	"customer_id" uuid NOT NULL,
	"status" text NOT NULL,
	"billing_cycle" text,
	"currency" text,
	"line_items" jsonb NOT NULL,
	"ordered_at" timestamp with time zone,
	"synced_at" timestamp with time zone NOT NULL,
	CONSTRAINT "partner_center_orders_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "partner_center_syncs" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"run_started_at" timestamp with time zone,
	"customers_next" jsonb,
	"customers_listed" boolean DEFAULT false NOT NULL,
	"done_through" text,
	"last_finished_at" timestamp with time zone,
	"last_counts" jsonb,
	"last_error" text,
	"last_error_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "customer_purchase_permissions" ALTER COLUMN "granted_by" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "partner_center_seen_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "partner_center_events" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "partner_center_events" ADD COLUMN "outcome" text;--> statement-breakpoint
ALTER TABLE "partner_center_events" ADD COLUMN "processed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "partner_center_offer_id" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "offer_name" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "commitment_ends_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "cancellation_allowed_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "refundable_quantity" integer;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "commerce_model" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "etag" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "synced_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "partner_center_orders" ADD CONSTRAINT "partner_center_orders_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_center_orders" ADD CONSTRAINT "partner_center_orders_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_center_syncs" ADD CONSTRAINT "partner_center_syncs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "partner_center_orders_customer" ON "partner_center_orders" USING btree ("customer_id","ordered_at");