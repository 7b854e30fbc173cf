CREATE INDEX t_b ON t (b);
