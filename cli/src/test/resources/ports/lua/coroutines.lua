-- coroutines: generators, status, wrap, yield across pcall, close
local function gen(n) return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end) end
for v in gen(5) do io.write(v, " ") end print()
local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  return d + e
end)
print(coroutine.status(co), coroutine.resume(co, 1, 2))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4), coroutine.status(co))
print(coroutine.resume(co))
print(coroutine.isyieldable(), select(2, coroutine.running()))
local co2 = coroutine.create(function() local ok, err = pcall(function() coroutine.yield(1) error("boom") end) return ok, err end)
print(coroutine.resume(co2)) print(coroutine.resume(co2))
local co3 = coroutine.create(function() coroutine.yield() end) coroutine.resume(co3) print(coroutine.close(co3), coroutine.status(co3))
local function producer() return coroutine.create(function() for _, w in ipairs({"a", "b", "c"}) do coroutine.yield(w) end end) end
local p = producer() local out = {} while true do local ok, v = coroutine.resume(p) if not v then break end out[#out + 1] = v end print(table.concat(out))
