-- Recursive CTEs and window functions.
WITH RECURSIVE fib(n, a, b) AS (SELECT 1, 0, 1 UNION ALL SELECT n + 1, b, a + b FROM fib WHERE n < 30)
SELECT group_concat(a, ',') FROM fib;
WITH RECURSIVE cnt(x) AS (VALUES(1) UNION ALL SELECT x + 1 FROM cnt LIMIT 10) SELECT sum(x * x) FROM cnt;
CREATE TABLE org(name TEXT PRIMARY KEY, boss TEXT);
INSERT INTO org VALUES ('ceo', NULL), ('cto', 'ceo'), ('cfo', 'ceo'), ('dev1', 'cto'), ('dev2', 'cto'), ('acct', 'cfo');
WITH RECURSIVE chain(name, depth, path) AS (
  SELECT name, 0, name FROM org WHERE boss IS NULL
  UNION ALL SELECT o.name, c.depth + 1, c.path || '/' || o.name FROM org o JOIN chain c ON o.boss = c.name)
SELECT depth, path FROM chain ORDER BY path;
WITH RECURSIVE m(x, y, it) AS (SELECT 0, 0, 0) SELECT * FROM m;
CREATE TABLE sales(region TEXT, month INTEGER, amount REAL);
INSERT INTO sales VALUES ('n', 1, 10.5), ('n', 2, 20.25), ('n', 3, 5), ('s', 1, 7), ('s', 2, 7), ('s', 3, 30.125);
SELECT region, month, amount,
       sum(amount) OVER (PARTITION BY region ORDER BY month) AS running,
       row_number() OVER w AS rn, rank() OVER w AS rk, dense_rank() OVER w AS drk,
       round(percent_rank() OVER w, 4) AS pr, round(cume_dist() OVER w, 4) AS cd,
       ntile(2) OVER w AS tile,
       lag(amount) OVER (PARTITION BY region ORDER BY month) AS prev,
       lead(amount, 1, -1) OVER (PARTITION BY region ORDER BY month) AS next,
       first_value(amount) OVER (PARTITION BY region ORDER BY month ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS fv,
       avg(amount) OVER (ORDER BY region, month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS mov
FROM sales WINDOW w AS (PARTITION BY region ORDER BY amount) ORDER BY region, month;
SELECT month, group_concat(region, '+') OVER (ORDER BY month RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING EXCLUDE TIES)
FROM sales ORDER BY month, region;
WITH x(v) AS MATERIALIZED (SELECT amount FROM sales) SELECT count(*), max(v) FROM x;
