-- Cluster settings cannot be changed inside a transaction; this step is marked
-- non-transactional by its file name, and each statement runs on its own.
SET CLUSTER SETTING jobs.retention_time = '336h';
