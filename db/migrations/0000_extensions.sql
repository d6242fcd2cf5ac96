-- drizzle-kit never writes CREATE EXTENSION; trigram similarity finds the closest customer names.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
