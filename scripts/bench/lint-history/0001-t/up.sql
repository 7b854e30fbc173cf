CREATE TABLE t (id int, name varchar(20), price numeric(10,2), a int, b text);
CREATE INDEX t_a ON t (a);
