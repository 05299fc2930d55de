-- garbage collector: many short-lived objects, finalizers, collectgarbage options
local finalized = 0
do for i = 1, 100 do setmetatable({}, {__gc = function() finalized = finalized + 1 end}) end end
collectgarbage() collectgarbage()
print("finalized", finalized)
print(collectgarbage("isrunning"), type(collectgarbage("count")))
collectgarbage("incremental") collectgarbage("generational") collectgarbage("incremental")
local chunks = {} for i = 1, 2000 do chunks[i] = string.rep(tostring(i), 50) end
local total = 0 for _, s in ipairs(chunks) do total = total + #s end print(total)
chunks = nil collectgarbage()
local t = {} for i = 1, 50000 do t[tostring(i)] = i end local n = 0 for _ in pairs(t) do n = n + 1 end print(n)
