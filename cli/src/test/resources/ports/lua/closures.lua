-- closures, varargs, goto, integer for loops, string coercions, load
local function counter() local n = 0 return function() n = n + 1 return n end end
local c1, c2 = counter(), counter() c1() c1() print(c1(), c2())
local function va(...) local t = {...} return select("#", ...), #t, ... end
print(va(1, nil, 3))
print(table.pack(1, 2, nil).n)
for i = 10, 1, -3 do io.write(i, " ") end print()
for i = 1, 3 do for j = 1, 3 do if j == 2 then goto continue end io.write(i, j, " ") ::continue:: end end print()
local fn = load("return 1 + ...") print(fn(41))
print(load("syntax error here"))
local env = {print = print, x = 5} local g = load("x = x + 1 return x", "chunk", "t", env) print(g(), env.x)
local fib fib = function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end print(fib(20))
local memo = setmetatable({}, {__mode = "v"})
local t = {} for i = 1, 10 do t[i] = function() return i end end print(t[3](), t[10]())
print(string.format("%s", 1e100), 2^63, math.maxinteger // -1, 5 // 0.0)
local s = 0 for i = 1, 1e6 do s = s + i end print(s)
print(#arg, arg[0])
