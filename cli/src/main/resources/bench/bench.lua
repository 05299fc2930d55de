-- kiln bench lua: CPU work a Lua program does (calls, tables, strings, floats); it times itself
local t0 = os.clock()
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local r1 = fib(27)
local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 100003 end table.sort(t)
local parts = {} for i = 1, 50000 do parts[#parts + 1] = string.format("%d:%x", i, i * 3) end
local joined = table.concat(parts, ",") local count = select(2, joined:gsub("ff", ""))
local x = 0.0 for i = 1, 2000000 do x = x + math.sin(i) * math.sqrt(i) end
local d = {} for i = 1, 100000 do d["k" .. (i % 5000)] = (d["k" .. (i % 5000)] or 0) + i end
local elapsed = os.clock() - t0
print(string.format("result %d %d %d %.3f", r1, t[100], count, x))
print(string.format("seconds %.6f", elapsed))
