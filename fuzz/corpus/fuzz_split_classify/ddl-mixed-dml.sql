CREATE TABLE t (id int);
INSERT INTO t VALUES (1);
UPDATE t SET id = 2;
SET lock_timeout = '1s';
