ALTER TABLE "organizations" ADD COLUMN "demo" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- The demo seeded before this column existed, recognised by db/seed's Slack team IDs and names.
UPDATE "organizations" SET "demo" = true
  WHERE "slack_team_id" IN ('T0DEMO0001', 'T0DEMOISV1') OR "name" IN ('Fabrikam Cloud Partners (demo)', '누리소프트 주식회사 (demo ISV)');
