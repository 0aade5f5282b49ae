import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_QUERY_TEXT, firstKeyword, sanitizeSql } from '../../../../backend-agent/src/protocols/common/sql-sanitize.js';
import { sanitizeErrorMessage } from '../../../../backend-agent/src/protocols/common/error-text.js';

test('literals become ?, identifiers, keywords and placeholders stay', () => {
  const cases: Array<[string, 'postgresql' | 'mysql', string]> = [
    ["SELECT * FROM users WHERE name = 'bob' AND age > 42", 'postgresql', 'SELECT * FROM users WHERE name = ? AND age > ?'],
    ["select a1, t2.b from t2 where x in (1, 2.5, -3e10, 0xFF)", 'postgresql', 'select a1, t2.b from t2 where x in (?, ?, -?, ?)'],
    ["INSERT INTO \"Odd Table\" VALUES ($1, $2, 'it''s')", 'postgresql', 'INSERT INTO "Odd Table" VALUES ($1, $2, ?)'],
    ["SELECT E'a\\'b', X'ff', B'101', N'x' FROM t", 'postgresql', 'SELECT ?, ?, ?, ? FROM t'],
    ['SELECT $$secret body$$, $fn$ more $fn$ FROM t', 'postgresql', 'SELECT ?, ? FROM t'],
    ["SELECT 1 -- trailing 'comment'\n FROM t /* block 123 */ WHERE a = ?", 'postgresql', 'SELECT ? FROM t WHERE a = ?'],
    ['SELECT * FROM `my table` WHERE a = "double" AND b = \'si\\\'ngle\' # note', 'mysql', 'SELECT * FROM `my table` WHERE a = ? AND b = ?'],
    ['  UPDATE   t\n\tSET  a=1  ', 'postgresql', 'UPDATE t SET a=?'],
    ["SELECT 'unterminated secret", 'postgresql', 'SELECT ?'],
  ];
  for (const [sql, dialect, want] of cases) assert.equal(sanitizeSql(sql, dialect), want, sql);
});

test('first keyword, upper case', () => {
  assert.equal(firstKeyword('select 1'), 'SELECT');
  assert.equal(firstKeyword('  (SELECT 1) UNION (SELECT 2)'), 'SELECT');
  assert.equal(firstKeyword('?'), '');
});

test('long statements are bounded', () => {
  const out = sanitizeSql(`SELECT ${'col, '.repeat(5000)} x FROM t`, 'postgresql');
  assert.ok(out.length <= MAX_QUERY_TEXT);
});

test('property: no string or numeric literal survives, whatever surrounds it', () => {
  const secret = fc.stringMatching(/^[a-z]{8,16}$/);
  fc.assert(
    fc.property(secret, fc.string({ maxLength: 30 }), fc.constantFrom<'postgresql' | 'mysql'>('postgresql', 'mysql'), fc.integer({ min: 100000 }), (s, noise, dialect, n) => {
      const sql = `SELECT * FROM t WHERE a = '${s}' AND b = ${n} OR c = E'${s}' ${dialect === 'mysql' ? `OR d = "${s}"` : `OR d = $q$${s}$q$`} -- ${noise}`;
      const out = sanitizeSql(sql, dialect);
      assert.ok(!out.includes(s), out);
      assert.ok(!out.includes(String(n)), out);
    }),
    { numRuns: 300, seed: 3 },
  );
});

test('property: any text sanitises without throwing, bounded', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0x2ff }), { maxLength: 400 }).map((codes) => String.fromCharCode(...codes)), fc.constantFrom<'postgresql' | 'mysql'>('postgresql', 'mysql'), (sql, dialect) => {
      const out = sanitizeSql(sql, dialect);
      assert.ok(out.length <= MAX_QUERY_TEXT);
      firstKeyword(out);
      sanitizeErrorMessage(sql, false);
      sanitizeErrorMessage(sql, true);
    }),
    { numRuns: 500, seed: 5 },
  );
});

test('error messages keep quoted identifiers, hide quoted values', () => {
  assert.equal(sanitizeErrorMessage('relation "nosuch" does not exist', false), 'relation "nosuch" does not exist');
  assert.equal(sanitizeErrorMessage('syntax error at or near "\'secret value\'"', false), 'syntax error at or near "?"');
  assert.equal(sanitizeErrorMessage('invalid input syntax for type integer: "abc"', true), 'invalid input syntax for type integer: "?"');
  assert.equal(sanitizeErrorMessage("near 'SELEC 1' at line 1", false), "near '?' at line 1");
  assert.equal(sanitizeErrorMessage('value 12345 out of range', true), 'value ? out of range');
});

test('messages that quote the rest of the statement lose all of it, quotes inside included', () => {
  const mysql = "You have an error in your SQL syntax; check the manual near 'FROM t WHERE pw = 'hunter2'' at line 1";
  for (const valuesLikely of [false, true]) {
    const out = sanitizeErrorMessage(mysql, valuesLikely);
    assert.ok(!out.includes('hunter2'), out);
    assert.match(out, /near '\?' at line (1|\?)$/);
  }
  const redis = "ERR unknown command 'FOO', with args beginning with: 'it's', 'secret-value'";
  const out = sanitizeErrorMessage(redis, false);
  assert.ok(!out.includes('secret-value') && !out.includes("it's"), out);
});
