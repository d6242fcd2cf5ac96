CREATE TABLE "reservations" (
	"org_id" uuid NOT NULL,
	"id" text NOT NULL,
	"customer_id" uuid NOT NULL,
	"product" text NOT NULL,
	"region" text NOT NULL,
	"quantity" integer NOT NULL,
	"term" text NOT NULL,
	"billing_plan" text NOT NULL,
	"scope" text NOT NULL,
	"subscription_id" text,
	"price" numeric(14, 2) NOT NULL,
	"currency" text NOT NULL,
	"purchased_by" text NOT NULL,
	"purchased_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reservations_customer" ON "reservations" USING btree ("customer_id","purchased_at");