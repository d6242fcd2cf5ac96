ALTER TABLE "reservation_requests" ADD COLUMN "refund_amount" numeric(14, 2);--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "refund_currency" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "last_reminded_at" timestamp with time zone;