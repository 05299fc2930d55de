-- Full-text search: FTS5 and FTS4, with ranking, snippets, prefix and phrase queries.
CREATE VIRTUAL TABLE notes USING fts5(title, body);
INSERT INTO notes VALUES
  ('unikernels', 'a unikernel links one application with only the library OS parts it uses'),
  ('hypervisors', 'KVM runs virtual machines; solo5 hvt is a tender for unikernels'),
  ('databases', 'SQLite is an embedded SQL database engine with full text search'),
  ('search', 'full text search ranks documents with bm25 and highlights matching terms');
SELECT title FROM notes WHERE notes MATCH 'unikernel*' ORDER BY rank;
SELECT title, round(bm25(notes), 6) FROM notes WHERE notes MATCH 'search' ORDER BY rank;
SELECT highlight(notes, 1, '[', ']') FROM notes WHERE notes MATCH '"full text"' ORDER BY rowid;
SELECT snippet(notes, 1, '<', '>', '...', 4) FROM notes WHERE notes MATCH 'kvm OR sqlite' ORDER BY rowid;
SELECT title FROM notes WHERE notes MATCH 'title:databases OR body:tender' ORDER BY rowid;
SELECT count(*) FROM notes WHERE notes MATCH 'NEAR(text search, 2)';
DELETE FROM notes WHERE title = 'search';
SELECT count(*) FROM notes WHERE notes MATCH 'search';
CREATE VIRTUAL TABLE old USING fts4(content, tokenize=porter);
INSERT INTO old VALUES ('running runners run'), ('the quick brown fox'), ('foxes are quick runners');
SELECT rowid, content FROM old WHERE old MATCH 'run' ORDER BY rowid;
SELECT rowid, snippet(old) FROM old WHERE old MATCH 'quick AND fox*' ORDER BY rowid;
SELECT rowid, length(matchinfo(old)) FROM old WHERE old MATCH 'quick' ORDER BY rowid;
CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO boxes VALUES (1, 0, 10, 0, 10), (2, 5, 15, 5, 15), (3, 20, 30, 20, 30);
SELECT id FROM boxes WHERE minx <= 12 AND maxx >= 8 AND miny <= 12 AND maxy >= 8 ORDER BY id;
SELECT soundex('Robert'), soundex('Rupert'), soundex('Tymczak');
