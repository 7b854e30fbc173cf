-- dbmig:allow renaming-table
ALTER TABLE t RENAME TO t2;
