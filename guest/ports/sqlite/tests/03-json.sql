-- JSON1 (built in since 3.38).
SELECT json('{"a" : [1, 2.5, "x", null, true]}');
SELECT json_extract('{"a":{"b":[10,20,30]}}', '$.a.b[1]'), '{"a":1}' -> '$.a', '{"a":"s"}' ->> '$.a';
SELECT json_array(1, 'two', 3.0, NULL), json_object('k', 1, 'l', json_array(2, 3));
SELECT json_insert('{"a":1}', '$.b', 2), json_replace('{"a":1}', '$.a', 'z'), json_set('{"a":1}', '$.c[#]', 5);
SELECT json_remove('[0,1,2,3]', '$[1]', '$[1]'), json_patch('{"a":1,"b":2}', '{"b":null,"c":3}');
SELECT json_type('{"a":[1,2]}', '$.a'), json_array_length('[1,2,3,[4]]'), json_valid('{x}'), json_valid('[]');
SELECT key, value, type, path FROM json_each('{"x":1,"y":[2,3],"z":{"w":4.5}}') ORDER BY key;
SELECT fullkey, atom FROM json_tree('{"p":{"q":[7,8]}}') WHERE atom IS NOT NULL ORDER BY fullkey;
CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO docs(body) VALUES ('{"name":"ada","tags":["x","y"],"score":9.75}'),
                              ('{"name":"bob","tags":[],"score":-1e-3}'),
                              ('{"name":"cy","tags":["y"],"score":1e300}');
SELECT body ->> '$.name', json_array_length(body, '$.tags'), body -> '$.score' FROM docs ORDER BY id;
SELECT json_group_array(body ->> '$.name'), json_group_object(id, body ->> '$.score') FROM docs;
SELECT d.body ->> '$.name', t.value FROM docs d, json_each(d.body, '$.tags') t ORDER BY 1, 2;
SELECT json_quote('a"b'), json_quote(3.14159), json('  [1 , 2]  ');
SELECT json('{"a":1e400}'), json(' 0.1 '), json('-0');
