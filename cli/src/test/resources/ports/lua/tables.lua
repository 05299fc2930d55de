-- tables: constructors, sort, concat, insert/remove, move, pairs order of arrays, metatables
local t = {5, 3, 8, 1, 9, 2}
table.sort(t) print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end) print(table.concat(t, " "))
table.insert(t, 1, 100) table.insert(t, 7) print(table.concat(t, ","), #t)
print(table.remove(t), table.remove(t, 1), table.concat(t, ","))
print(table.concat(table.move({1, 2, 3}, 1, 3, 2, {9}), ","))
print(table.unpack({1, 2, 3})) print(select("#", table.unpack({1, nil, 3}, 1, 3)))
local words = {}
for w in ("the quick brown fox jumps over the lazy dog"):gmatch("%a+") do words[#words + 1] = w end
table.sort(words) print(table.concat(words, " "))
local counts = {}
for _, w in ipairs(words) do counts[w] = (counts[w] or 0) + 1 end
local keys = {} for k in pairs(counts) do keys[#keys + 1] = k end table.sort(keys)
for _, k in ipairs(keys) do io.write(k, "=", counts[k], " ") end print()
local V = {}
V.__index = V
V.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, V) end
V.__tostring = function(v) return "(" .. v.x .. "," .. v.y .. ")" end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__lt = function(a, b) return a.x < b.x end
V.__len = function() return 2 end
V.__call = function(self, k) return self[k] end
local a, b = setmetatable({x = 1, y = 2}, V), setmetatable({x = 3, y = 4}, V)
print(tostring(a + b), a == b, a < b, #a, a("y"))
local proxy = setmetatable({}, {__index = function(_, k) return k * 2 end, __newindex = function(t, k, v) rawset(t, k, v + 1) end})
proxy[1] = 10 print(proxy[1], proxy[21], rawget(proxy, 21))
local weak = setmetatable({}, {__mode = "k"}) weak[{}] = 1 collectgarbage() local n = 0 for _ in pairs(weak) do n = n + 1 end print("weak", n)
local big = {} for i = 1, 100000 do big[i] = i * 2 end print(#big, big[100000])
local s = 0 for i, v in ipairs(big) do s = s + v end print(s)
