-- Floating point and integer formatting: printf/format, rounding, conversions, dates.
SELECT 1.0 / 3, 2.0 / 3, 1e308 * 10, -1e308 * 10, 0.1 + 0.2, 1e-320, 123456789012345678;
SELECT 9223372036854775807 + 1, -9223372036854775808, 9223372036854775807 * 2, 5 / 2, 5 % 3, -7 / 2, -7 % 2;
SELECT printf('%d|%5d|%-5d|%05d|%x|%X|%o|%c', 42, 42, 42, 42, 255, 255, 8, 65);
SELECT printf('%f|%.2f|%10.3f|%-10.1f|%e|%.3E|%g|%G', 3.14159265, 2.675, -1.5, 0.05, 12345.678, 0.000123, 1e20, 1e-10);
SELECT format('%s|%q|%Q|%w|%z', 'it''s', 'it''s', NULL, 'a"b', 'z');
SELECT printf('%,d', 1234567890), printf('%!.20f', 0.1), printf('%.30g', 1.0/3), printf('%!.15g', 1e100);
SELECT round(2.5), round(-2.5), round(3.14159, 3), round(1e17 + 0.5), round(0.5e-5, 5);
SELECT cast('12abc' AS INTEGER), cast('3.5e2' AS REAL), cast(1e19 AS INTEGER), cast(-0.0 AS TEXT), cast(X'414243' AS TEXT);
SELECT 1e15, 1e16, 123456789.123456789, 4.94065645841246544e-324, 1.7976931348623157e308, -0.0;
SELECT abs(-9223372036854775807), sign(-3.2), hex(12345), quote(1.5), quote(X'00ff'), zeroblob(3) = X'000000';
SELECT typeof(1), typeof(1.0), typeof('1'), typeof(X'01'), typeof(NULL), 1 = 1.0, '1' = 1, 10 < '9';
SELECT date('2024-02-28', '+1 day'), date('2023-02-28', '+1 day'), datetime('2000-01-01 12:34:56', '+90 minutes', 'start of month');
SELECT julianday('2000-01-01'), strftime('%Y-%m-%d %H:%M:%f %j %w %s', '2024-12-31 23:59:59.123'), unixepoch('1970-01-02');
SELECT time('12:00', '-13 hours'), date(0, 'unixepoch'), datetime(1700000000.5, 'unixepoch');
SELECT sum(v), avg(v), total(v) FROM (SELECT 0.1 AS v UNION ALL SELECT 0.2 UNION ALL SELECT 0.3 UNION ALL SELECT 1e-17);
SELECT printf('%.17g', 0.1 + 0.2), printf('%.16g', 2.0/3), printf('%.1f', 0.25), printf('%.0f', 0.5), printf('%.0f', 1.5);
SELECT 0x7fffffffffffffff, 0x10, -0x1, 1e0, .5, 5.;
