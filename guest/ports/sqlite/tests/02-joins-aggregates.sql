-- Joins of every kind, GROUP BY/HAVING, subqueries, set operations, collations.
.mode column
.headers on
CREATE TABLE a(k INTEGER, v TEXT);
CREATE TABLE b(k INTEGER, w TEXT);
INSERT INTO a VALUES (1,'one'),(2,'two'),(3,'three'),(4,NULL);
INSERT INTO b VALUES (2,'zwei'),(3,'drei'),(3,'trois'),(5,'fuenf');
SELECT a.k, v, w FROM a JOIN b ON a.k = b.k ORDER BY a.k, w;
SELECT a.k, v, w FROM a LEFT JOIN b USING (k) ORDER BY a.k, w;
SELECT a.k AS ak, b.k AS bk, v, w FROM a FULL JOIN b ON a.k = b.k ORDER BY coalesce(a.k, b.k), w;
SELECT count(*) FROM a CROSS JOIN b;
SELECT k, count(*) AS n, group_concat(w, '|') AS ws FROM b GROUP BY k HAVING n >= 1 ORDER BY k;
SELECT k FROM a WHERE k IN (SELECT k FROM b) ORDER BY k;
SELECT k FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.k = a.k) ORDER BY k;
SELECT k FROM a UNION SELECT k FROM b ORDER BY 1;
SELECT k FROM a INTERSECT SELECT k FROM b;
SELECT k FROM a EXCEPT SELECT k FROM b;
SELECT min(k), max(k), sum(k), avg(k), count(v), count(*) FROM a;
SELECT v FROM a WHERE v IS NOT NULL ORDER BY v COLLATE NOCASE DESC;
SELECT 'Abc' = 'abc', 'Abc' = 'abc' COLLATE NOCASE, 'x ' = 'x' COLLATE RTRIM;
SELECT k, CASE WHEN k % 2 = 0 THEN 'even' ELSE 'odd' END AS parity FROM a ORDER BY k;
SELECT (SELECT max(k) FROM b) - (SELECT min(k) FROM a) AS span;
SELECT k, v, length(v), upper(v), substr(v, 2, 2), replace(v, 'e', 'E'), instr(v, 'e') FROM a ORDER BY k;
.mode box
SELECT a.k, b.w FROM a, b WHERE a.k = b.k ORDER BY 1, 2;
.mode csv
SELECT * FROM b ORDER BY k, w;
.mode json
SELECT * FROM a ORDER BY k;
.mode insert t
SELECT * FROM a ORDER BY k;
