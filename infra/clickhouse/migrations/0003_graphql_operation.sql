-- The GraphQL operation of each request (GraphQL-aware routes; '' otherwise), for
-- /admin/analytics/top?by=operation, which reads the raw table.
-- 18.16 has no ADD COLUMN IF NOT EXISTS: the store skips an ADD COLUMN whose column is
-- already there, so a migration interrupted half-way is still safe to run again.
ALTER TABLE {{requests}} ADD COLUMN graphql_operation String DEFAULT '';
ALTER TABLE {{requests}} ADD COLUMN graphql_operation_type String DEFAULT '';
