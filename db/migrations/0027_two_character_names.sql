-- drizzle-kit writes no functions. The distinct pairs of neighbouring characters of a text: LIKE '%한빛%' has no
-- trigram for pg_trgm's index to look up, so names typed as two characters are found through these.
CREATE FUNCTION bigrams(key text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT array(SELECT DISTINCT substr(key, i, 2) FROM generate_series(1, length(key) - 1) AS i) $$;--> statement-breakpoint
CREATE INDEX "customers_name_key_bigrams" ON "customers" USING gin (bigrams("name_key"));
