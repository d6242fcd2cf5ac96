CREATE INDEX "customers_org_name_key" ON "customers" USING btree ("org_id","name_key");--> statement-breakpoint
CREATE INDEX "customers_domain_trgm" ON "customers" USING gin ("domain" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "customers_tenant_trgm" ON "customers" USING gin ("tenant_id" gin_trgm_ops);