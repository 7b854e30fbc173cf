CREATE TABLE t (a int);
\connect other
\i other.sql
SELECT 1 AS x \gset
SELECT '\connect', $$\i$$; -- \c
