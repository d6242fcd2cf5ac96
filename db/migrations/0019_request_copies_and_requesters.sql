ALTER TABLE "outbox" ADD COLUMN "posted_channel_id" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "requested_by_user_id" text;--> statement-breakpoint
ALTER TABLE "reservation_requests" ADD COLUMN "requested_by_aad_object_id" text;--> statement-breakpoint
CREATE INDEX "outbox_request_card" ON "outbox" USING btree ("org_id",(message->>'requestCard')) WHERE message ? 'requestCard';