ALTER TABLE "offers" ADD COLUMN "partner_center_refreshed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "activation_link" text;