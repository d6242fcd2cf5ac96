ALTER TABLE "reservation_requests" ADD COLUMN "carried_out" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "done_in_azure_by_name" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "done_in_azure_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "reservation_order_id" text;