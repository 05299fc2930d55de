-- Errors: the shell keeps going (.bail off) and reports each on stderr.
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT NOT NULL, c INTEGER UNIQUE CHECK (c > 0));
INSERT INTO t VALUES (1, 'x', 1);
INSERT INTO t VALUES (1, 'y', 2);
INSERT INTO t VALUES (2, NULL, 3);
INSERT INTO t VALUES (3, 'z', 1);
INSERT INTO t VALUES (4, 'w', -5);
SELECT * FROM nosuch;
SELECT nosuchcol FROM t;
SELEC 1;
SELECT 1 +;
SELECT abs(-9223372036854775808);
SELECT json('{bad');
CREATE TABLE t(x);
SELECT count(*) FROM t;
