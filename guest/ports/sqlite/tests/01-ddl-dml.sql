-- Tables, constraints, inserts, updates, deletes, upserts, RETURNING, views, triggers.
.headers on
.mode list
CREATE TABLE dept(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, budget REAL CHECK (budget >= 0));
CREATE TABLE emp(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, dept_id INTEGER REFERENCES dept(id),
                 salary INTEGER DEFAULT 1000, hired TEXT);
INSERT INTO dept(name, budget) VALUES ('eng', 1.5e6), ('ops', 250000.25), ('sales', 0);
INSERT INTO emp(name, dept_id, salary, hired) VALUES
  ('ada', 1, 9100, '2019-03-01'), ('bob', 1, 7300, '2020-07-15'), ('cy', 2, 5100, '2018-01-09'),
  ('dee', 3, 4000, '2021-11-30'), ('eve', NULL, 6100, '2017-05-05'), ('fay', 2, 5100, '2022-02-28');
UPDATE emp SET salary = salary * 11 / 10 WHERE dept_id = 1;
DELETE FROM emp WHERE name = 'dee';
INSERT INTO dept(id, name, budget) VALUES (2, 'ops2', 1) ON CONFLICT(id) DO UPDATE SET budget = budget + excluded.budget;
SELECT * FROM dept ORDER BY id;
INSERT INTO emp(name, dept_id) VALUES ('gus', 3) RETURNING id, name, salary;
CREATE VIEW v_emp AS SELECT e.name, d.name AS dept FROM emp e LEFT JOIN dept d ON d.id = e.dept_id;
SELECT * FROM v_emp ORDER BY name;
CREATE TABLE audit(msg TEXT);
CREATE TRIGGER t_raise AFTER UPDATE OF salary ON emp BEGIN
  INSERT INTO audit VALUES (new.name || ': ' || old.salary || ' -> ' || new.salary);
END;
UPDATE emp SET salary = salary + 1 WHERE salary < 6000;
SELECT * FROM audit ORDER BY msg;
SELECT name, typeof(salary), salary FROM emp ORDER BY id;
SELECT count(*), sum(salary), total(salary), avg(salary) FROM emp;
ALTER TABLE emp ADD COLUMN note TEXT DEFAULT 'n/a';
ALTER TABLE emp RENAME COLUMN note TO remark;
SELECT name, remark FROM emp WHERE id <= 2;
.schema emp
SELECT name FROM sqlite_schema ORDER BY name;
