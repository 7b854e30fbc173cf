/* a /* b */ c */ SELECT 1 /* x */; -- tail
SELECT /* y */ 2
