CREATE TABLE "channel_languages" (
	"org_id" uuid NOT NULL,
	"platform" text NOT NULL,
	"channel_id" text NOT NULL,
	"locale" text NOT NULL,
	CONSTRAINT "channel_languages_org_id_platform_channel_id_pk" PRIMARY KEY("org_id","platform","channel_id")
);
--> statement-breakpoint
CREATE TABLE "slack_user_locales" (
	"user_id" text PRIMARY KEY NOT NULL,
	"locale" text,
	"fetched_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "customer_contacts" ADD COLUMN "language" text;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "locale" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "time_zone" text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE "staff" ADD COLUMN "language" text;--> statement-breakpoint
ALTER TABLE "channel_languages" ADD CONSTRAINT "channel_languages_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;