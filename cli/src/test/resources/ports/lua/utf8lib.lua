-- utf8 library
local s = "héllo wörld ☃ 日本"
print(utf8.len(s), #s, utf8.char(72, 228, 8364, 128512), utf8.codepoint(s, 2), utf8.offset(s, 3))
for p, c in utf8.codes("añ☃") do io.write(p, ":", c, " ") end print()
print(utf8.len("\xff"), utf8.charpattern)
local rev = {} for _, c in utf8.codes("abç") do table.insert(rev, 1, utf8.char(c)) end print(table.concat(rev))
