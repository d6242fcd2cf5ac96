ALTER TABLE "reservation_requests" ALTER COLUMN "reservation_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "subscription_id" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD CONSTRAINT "requests_one_target" CHECK (num_nonnulls(reservation_id, subscription_id) = 1);--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD CONSTRAINT "requests_kind_target" CHECK ((kind = 'cancel-subscription') = (subscription_id is not null));