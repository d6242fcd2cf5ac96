CREATE TABLE "audience_support_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"offer_id" text NOT NULL,
	"from_option" text NOT NULL,
	"to_option" text NOT NULL,
	"partners" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"removes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"requested_by_name" text NOT NULL,
	"decided_by_name" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "offer_audience_partners" (
	"offer_id" text NOT NULL,
	"tenant_id" text NOT NULL,
	"regions" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"published" boolean DEFAULT false NOT NULL,
	"draft" boolean DEFAULT false NOT NULL,
	"has_resold" boolean DEFAULT false NOT NULL,
	CONSTRAINT "offer_audience_partners_offer_id_tenant_id_pk" PRIMARY KEY("offer_id","tenant_id")
);
--> statement-breakpoint
CREATE TABLE "offer_audiences" (
	"offer_id" text PRIMARY KEY NOT NULL,
	"published_option" text,
	"draft_option" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "partner_directory" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"name_key" text NOT NULL,
	"country" text NOT NULL,
	"competencies" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"skills" jsonb DEFAULT '[]'::jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "offers" ADD COLUMN "publisher_org_id" uuid;--> statement-breakpoint
ALTER TABLE "offers" ADD COLUMN "published" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "offers" ADD COLUMN "sales_materials_url" text;--> statement-breakpoint
ALTER TABLE "offers" ADD COLUMN "channel_contact" text;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "kind" text DEFAULT 'partner' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "csp_tenant_id" text;--> statement-breakpoint
ALTER TABLE "audience_support_requests" ADD CONSTRAINT "audience_support_requests_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offer_audience_partners" ADD CONSTRAINT "offer_audience_partners_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offer_audiences" ADD CONSTRAINT "offer_audiences_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_publisher_org_id_organizations_id_fk" FOREIGN KEY ("publisher_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_csp_tenant_id_unique" UNIQUE("csp_tenant_id");