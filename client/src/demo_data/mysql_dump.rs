//! MySQL dump text → statements that SQLite, MySQL and PostgreSQL all accept.
//!
//! SQLFlow's tutorial data ships as MySQL dumps (`mysql < popularize_iris.sql`). The CLI
//! submits programs without knowing which database the server's default datasource is,
//! so the dump is translated once into SQL every backend reads the same way, rather than
//! into one dialect per backend. It reads what dumps are made of: comments (`--`, `#`,
//! `/* */`, mysqldump's `/*!...*/` session settings), backquoted names, `CREATE
//! DATABASE`/`USE`, `CREATE TABLE` with MySQL types and options, `INSERT ... VALUES` with
//! quoted or bare values, and the `LOCK TABLES`/`SET`/transaction noise around them.
//! Anything else is an error naming the line, never a guess.
//!
//! What comes out, and why:
//! - Names are written bare, never quoted: backquotes are MySQL's, double quotes would
//!   keep PostgreSQL from folding them, and a program's unquoted `LABEL Churn` must find
//!   the column on every backend (on PostgreSQL it is `churn`, as for the engine's own
//!   tables). A name that would need quoting is an error.
//! - Types are spelled so that each backend stores the same values: MySQL's `FLOAT` (single
//!   precision on MySQL, double on PostgreSQL and SQLite) becomes `DOUBLE PRECISION`
//!   everywhere, `TINYINT` (not in PostgreSQL) `SMALLINT`, `CHAR` `VARCHAR` (PostgreSQL
//!   pads `CHAR`, MySQL strips). Integers come back as integers, floats as floats, strings
//!   as strings, on all three.
//! - Values are checked against their column: a quoted number in a numeric column is
//!   written bare (PostgreSQL rejects `''` where MySQL's lax mode stores 0, so an empty or
//!   non-numeric value is an error here rather than a difference there); strings are
//!   single-quoted with `''`. A backslash is an error: MySQL reads it as an escape, the
//!   others literally, and no spelling means the same to all three.
//! - `DROP DATABASE` is skipped: the loader replaces the dump's tables (every table is
//!   dropped and created, even where the dump says `CREATE TABLE IF NOT EXISTS` and a
//!   second load would have doubled its rows), and leaves anything else in the schema
//!   alone. Indexes and unique keys are left out; primary keys are kept.

use std::borrow::Cow;

/// Rows per INSERT, at most: few statements load fast, and any server's packet limit
/// holds one.
const MAX_INSERT_ROWS: usize = 1000;
/// Bytes of values per INSERT, at most.
const MAX_INSERT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    /// An unquoted word: a keyword or a name.
    Word(&'a str),
    /// A `backquoted` name.
    Quoted(String),
    /// A string literal, escapes resolved.
    Str(Cow<'a, str>),
    /// An unsigned number literal.
    Num(&'a str),
    Punct(char),
}

#[derive(Debug)]
struct Lexed<'a> {
    tok: Tok<'a>,
    line: usize,
}

fn lex(text: &str) -> Result<Vec<Lexed<'_>>, String> {
    let b = text.as_bytes();
    let mut out: Vec<Lexed<'_>> = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let newlines = |s: &[u8]| s.iter().filter(|&&c| c == b'\n').count();
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let start_line = line;
        // After `name.`, digits start a name (`t.5x`), as MySQL reads them.
        let qualified = matches!(
            out.as_slice(),
            [
                ..,
                Lexed {
                    tok: Tok::Word(_) | Tok::Quoted(_),
                    ..
                },
                Lexed {
                    tok: Tok::Punct('.'),
                    ..
                }
            ]
        );
        let tok = match c {
            b'\n' => {
                line += 1;
                i += 1;
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            // MySQL needs a space after `--`; `1--2` is arithmetic.
            b'#' | b'-'
                if c == b'#'
                    || (next == Some(b'-')
                        && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace())) =>
            {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |n| i + n);
                continue;
            }
            // Also mysqldump's `/*!40101 SET ... */`: session settings, nothing to load.
            b'/' if next == Some(b'*') => {
                let Some(end) = text[i + 2..].find("*/") else {
                    return Err(format!("line {line}: a comment never ends"));
                };
                line += newlines(&b[i..i + 2 + end]);
                i += end + 4;
                continue;
            }
            b'\'' | b'"' => {
                let (s, len) =
                    string(&text[i..]).ok_or(format!("line {line}: a string never ends"))?;
                line += newlines(&b[i..i + len]);
                i += len;
                Tok::Str(s)
            }
            b'`' => {
                let mut name = String::new();
                let mut j = i + 1;
                loop {
                    match text[j..].find('`') {
                        None => return Err(format!("line {line}: a `name` never ends")),
                        Some(n) if b.get(j + n + 1) == Some(&b'`') => {
                            name.push_str(&text[j..j + n + 1]);
                            j += n + 2;
                        }
                        Some(n) => {
                            name.push_str(&text[j..j + n]);
                            j += n + 1;
                            break;
                        }
                    }
                }
                line += newlines(&b[i..j]);
                i = j;
                Tok::Quoted(name)
            }
            // A leading dot starts a number only where no name precedes it (`t.5` is not).
            b'0'..=b'9' | b'.'
                if !qualified
                    && (c != b'.'
                        || (next.is_some_and(|d| d.is_ascii_digit())
                            && !matches!(
                                out.last().map(|l| &l.tok),
                                Some(Tok::Word(_) | Tok::Quoted(_))
                            ))) =>
            {
                let len = number_len(&b[i..]);
                let n = &text[i..i + len];
                i += len;
                Tok::Num(n)
            }
            _ if word_byte(c) => {
                let len = b[i..].iter().take_while(|&&c| word_byte(c)).count();
                let w = &text[i..i + len];
                i += len;
                Tok::Word(w)
            }
            _ => {
                i += 1;
                Tok::Punct(char::from(c))
            }
        };
        out.push(Lexed {
            tok,
            line: start_line,
        });
    }
    Ok(out)
}

/// The length of the number at the start of `b`: digits, a fraction, an exponent.
fn number_len(b: &[u8]) -> usize {
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n = digits(0);
    if b.get(n) == Some(&b'.') {
        n += 1 + digits(n + 1);
    }
    if matches!(b.get(n), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(n + 1), Some(b'+' | b'-')));
        let exp = digits(n + 1 + sign);
        if exp > 0 {
            n += 1 + sign + exp;
        }
    }
    n
}

/// A MySQL string literal at the start of `s` (which starts with its quote): its value
/// and its length in `s`. None if it never ends.
fn string(s: &str) -> Option<(Cow<'_, str>, usize)> {
    let quote = s.as_bytes()[0];
    let body = &s[1..];
    // The common case, no escapes: borrow.
    let plain_end = body
        .bytes()
        .position(|c| c == quote || c == b'\\')
        .unwrap_or(body.len());
    if body.as_bytes().get(plain_end) == Some(&quote)
        && body.as_bytes().get(plain_end + 1) != Some(&quote)
    {
        return Some((Cow::Borrowed(&body[..plain_end]), plain_end + 2));
    }
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    '0' => value.push('\0'),
                    'b' => value.push('\u{8}'),
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    'Z' => value.push('\u{1a}'),
                    // MySQL keeps these two escaped: they are LIKE's wildcards.
                    '%' | '_' => {
                        value.push('\\');
                        value.push(e);
                    }
                    other => value.push(other),
                }
            }
            _ if c == char::from(quote) => {
                if chars.peek().is_some_and(|&(_, n)| n == c) {
                    chars.next();
                    value.push(c);
                } else {
                    return Some((Cow::Owned(value), i + 2));
                }
            }
            _ => value.push(c),
        }
    }
    None
}

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Integer,
    Number,
    Text,
}

#[derive(Debug)]
struct Column {
    name: String,
    sql_type: String,
    class: Class,
    not_null: bool,
}

/// Consecutive rows inserted into the same columns.
#[derive(Debug)]
struct Batch {
    columns: Vec<usize>,
    /// Each row as SQL, `(v1,v2,...)`, checked against its columns' types.
    rows: Vec<String>,
}

#[derive(Debug)]
pub struct Table {
    pub schema: String,
    pub name: String,
    columns: Vec<Column>,
    primary_key: Vec<String>,
    batches: Vec<Batch>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.rows.len()).sum()
    }
}

/// What a dump creates.
#[derive(Debug, Default)]
pub struct Dump {
    /// Schemas (MySQL's databases), in the order the dump names them.
    pub schemas: Vec<String>,
    pub tables: Vec<Table>,
}

/// One statement of a loading program.
#[derive(Debug)]
pub struct Statement {
    pub sql: String,
    /// For the statement that counts a loaded table: its name and the dump's row count.
    pub counts: Option<(String, usize)>,
}

/// The column name of the table name in a count statement's result.
pub const COUNT_TABLE_COLUMN: &str = "loaded";

impl Dump {
    /// Reads a dump.
    pub fn parse(text: &str) -> Result<Dump, String> {
        let tokens = lex(text)?;
        let mut dump = Dump::default();
        let mut current_schema: Option<String> = None;
        for stmt in tokens.split(|t| t.tok == Tok::Punct(';')) {
            let Some(first) = stmt.first() else { continue };
            let line = first.line;
            let mut p = Parser { toks: stmt, i: 0 };
            dump.statement(&mut p, &mut current_schema)
                .map_err(|e| format!("line {line}: {e}"))?;
        }
        Ok(dump)
    }

    fn statement(
        &mut self,
        p: &mut Parser<'_, '_>,
        current: &mut Option<String>,
    ) -> Result<(), String> {
        if p.eat_kw("CREATE") {
            if p.eat_kw("DATABASE") || p.eat_kw("SCHEMA") {
                p.eat_kws(&["IF", "NOT", "EXISTS"]);
                let name = p.name()?;
                // What follows (CHARACTER SET, COLLATE) does not change the data.
                self.add_schema(&name);
                return Ok(());
            }
            if p.eat_kw("TABLE") {
                p.eat_kws(&["IF", "NOT", "EXISTS"]);
                let (schema, name) = p.table_name(current)?;
                let table = create_table(p, schema, name)?;
                self.add_schema(&table.schema);
                self.tables
                    .retain(|t| !(t.schema == table.schema && t.name == table.name));
                self.tables.push(table);
                return Ok(());
            }
            return Err(p.unsupported());
        }
        if p.eat_kw("INSERT") {
            p.eat_kw("IGNORE");
            p.eat_kw("INTO");
            let (schema, name) = p.table_name(current)?;
            let Some(table) = self
                .tables
                .iter_mut()
                .find(|t| t.schema == schema && t.name == name)
            else {
                return Err(format!(
                    "INSERT into {schema}.{name}, which the dump never created"
                ));
            };
            return insert(p, table);
        }
        if p.eat_kw("USE") {
            let name = p.name()?;
            *current = Some(name);
            return Ok(());
        }
        // Replacing tables is the loader's business (see the module comment); the rest
        // is locking, session settings and transactions around the data.
        let skipped: &[&[&str]] = &[
            &["DROP", "DATABASE"],
            &["DROP", "SCHEMA"],
            &["DROP", "TABLE"],
            &["LOCK", "TABLES"],
            &["UNLOCK", "TABLES"],
            &["SET"],
            &["START", "TRANSACTION"],
            &["BEGIN"],
            &["COMMIT"],
        ];
        if skipped.iter().any(|kws| p.eat_kws(kws)) {
            return Ok(());
        }
        // mysqldump's `ALTER TABLE t DISABLE KEYS` (outside its usual /*!...*/).
        if p.eat_kws(&["ALTER", "TABLE"]) {
            p.table_name(current)?;
            if (p.eat_kw("DISABLE") || p.eat_kw("ENABLE")) && p.eat_kw("KEYS") && p.at_end() {
                return Ok(());
            }
        }
        p.i = 0;
        Err(p.unsupported())
    }

    fn add_schema(&mut self, name: &str) {
        if !self.schemas.iter().any(|s| s == name) {
            self.schemas.push(name.to_string());
        }
    }

    /// The loading program: each schema created, each table replaced and filled, then
    /// counted (the count is what `sqlflow demo-data` reports, checked against the
    /// dump's). Schema names get `prefix` in front.
    pub fn statements(&self, prefix: &str) -> Result<Vec<Statement>, String> {
        let mut out = Vec::new();
        let plain = |sql: String| Statement { sql, counts: None };
        for schema in &self.schemas {
            let schema = format!("{prefix}{schema}");
            check_name(&schema)?;
            out.push(plain(format!("CREATE SCHEMA IF NOT EXISTS {schema}")));
        }
        for t in &self.tables {
            let full = format!("{prefix}{}.{}", t.schema, t.name);
            out.push(plain(format!("DROP TABLE IF EXISTS {full}")));
            let mut defs: Vec<String> = t
                .columns
                .iter()
                .map(|c| {
                    let null = if c.not_null { " NOT NULL" } else { "" };
                    format!("{} {}{null}", c.name, c.sql_type)
                })
                .collect();
            if !t.primary_key.is_empty() {
                defs.push(format!("PRIMARY KEY ({})", t.primary_key.join(", ")));
            }
            out.push(plain(format!(
                "CREATE TABLE {full} (\n  {}\n)",
                defs.join(",\n  ")
            )));
            for b in &t.batches {
                let names: Vec<&str> = b
                    .columns
                    .iter()
                    .map(|&i| t.columns[i].name.as_str())
                    .collect();
                let head = format!("INSERT INTO {full} ({}) VALUES\n", names.join(", "));
                let mut sql = String::new();
                let mut n = 0;
                for row in &b.rows {
                    if n > 0 && (n == MAX_INSERT_ROWS || sql.len() + row.len() > MAX_INSERT_BYTES) {
                        out.push(plain(std::mem::take(&mut sql)));
                        n = 0;
                    }
                    sql.push_str(if n == 0 { &head } else { ",\n" });
                    sql.push_str(row);
                    n += 1;
                }
                if n > 0 {
                    out.push(plain(sql));
                }
            }
            out.push(Statement {
                sql: format!(
                    "SELECT '{full}' AS {COUNT_TABLE_COLUMN}, count(*) AS n_rows FROM {full}"
                ),
                counts: Some((full, t.rows())),
            });
        }
        Ok(out)
    }
}

/// Names are written bare (see the module comment), so they must need no quoting.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        Ok(())
    } else {
        Err(format!(
            "the name {name:?} would need quoting, which SQLite, MySQL and PostgreSQL spell \
             differently; names must be letters, digits and _, not starting with a digit"
        ))
    }
}

fn create_table(p: &mut Parser<'_, '_>, schema: String, name: String) -> Result<Table, String> {
    if !p.eat_punct('(') {
        return Err(format!(
            "CREATE TABLE {schema}.{name} without a column list (LIKE, AS SELECT) is not supported"
        ));
    }
    let mut table = Table {
        schema,
        name,
        columns: Vec::new(),
        primary_key: Vec::new(),
        batches: Vec::new(),
    };
    loop {
        let def_start = p.i;
        let def_end = p.definition_end();
        let mut d = Parser {
            toks: &p.toks[def_start..def_end],
            i: 0,
        };
        definition(&mut d, &mut table)?;
        p.i = def_end;
        if p.eat_punct(',') {
            continue;
        }
        if p.eat_punct(')') {
            break;
        }
        return Err(format!(
            "CREATE TABLE {}.{}: a column list that never ends",
            table.schema, table.name
        ));
    }
    // Table options (ENGINE=, DEFAULT CHARSET=, COMMENT=) do not change the data; a
    // trailing SELECT would add rows this reader cannot see.
    if p.toks[p.i..]
        .iter()
        .any(|t| matches!(t.tok, Tok::Word(w) if w.eq_ignore_ascii_case("SELECT")))
    {
        return Err("CREATE TABLE ... SELECT is not supported".into());
    }
    if table.columns.is_empty() {
        return Err(format!(
            "CREATE TABLE {}.{} has no columns",
            table.schema, table.name
        ));
    }
    for k in &table.primary_key {
        if !table.columns.iter().any(|c| c.name.eq_ignore_ascii_case(k)) {
            return Err(format!("the primary key names {k}, which is not a column"));
        }
    }
    Ok(table)
}

/// One element of a CREATE TABLE's list: a column or a constraint.
fn definition(d: &mut Parser<'_, '_>, table: &mut Table) -> Result<(), String> {
    if d.eat_kw("CONSTRAINT") && !d.peek_kw("PRIMARY") {
        // `CONSTRAINT name ...`: the name is not kept.
        d.name()?;
    }
    if d.eat_kws(&["PRIMARY", "KEY"]) {
        table.primary_key = key_columns(d)?;
        return Ok(());
    }
    // Indexes serve queries, not data; the tutorials' tables are small.
    for kw in [
        "KEY", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "FOREIGN", "CHECK",
    ] {
        if d.peek_kw(kw) {
            return Ok(());
        }
    }
    let name = d.name()?;
    check_name(&name)?;
    let (sql_type, class) = column_type(d).map_err(|e| format!("column {name}: {e}"))?;
    let mut not_null = false;
    // Column attributes: keep NOT NULL and PRIMARY KEY; AUTO_INCREMENT, DEFAULT, COMMENT,
    // COLLATE, CHARACTER SET and the like do not change loaded values.
    let mut unique = false;
    while let Some(t) = d.next() {
        match t {
            Tok::Word(w) if w.eq_ignore_ascii_case("NOT") && d.eat_kw("NULL") => not_null = true,
            Tok::Word(w) if w.eq_ignore_ascii_case("UNIQUE") => unique = true,
            Tok::Word(w) if w.eq_ignore_ascii_case("PRIMARY") && d.eat_kw("KEY") => {
                table.primary_key = vec![name.clone()];
            }
            // A bare KEY in a column is MySQL's PRIMARY KEY, unless it follows UNIQUE.
            Tok::Word(w) if w.eq_ignore_ascii_case("KEY") && !unique => {
                table.primary_key = vec![name.clone()];
            }
            _ => {}
        }
    }
    if table
        .columns
        .iter()
        .any(|c| c.name.eq_ignore_ascii_case(&name))
    {
        return Err(format!("column {name} appears twice"));
    }
    table.columns.push(Column {
        name,
        sql_type,
        class,
        not_null,
    });
    Ok(())
}

/// `(a, b(10), c DESC)`: the names.
fn key_columns(d: &mut Parser<'_, '_>) -> Result<Vec<String>, String> {
    if !d.eat_punct('(') {
        return Err("PRIMARY KEY without its columns".into());
    }
    let mut names = Vec::new();
    loop {
        let n = d.name()?;
        check_name(&n)?;
        names.push(n);
        // A prefix length or an order does not change which columns make the key.
        if d.eat_punct('(') {
            d.skip_past(')');
        }
        d.eat_kw("ASC");
        d.eat_kw("DESC");
        if d.eat_punct(',') {
            continue;
        }
        if d.eat_punct(')') {
            return Ok(names);
        }
        return Err("a PRIMARY KEY column list that never ends".into());
    }
}

/// A MySQL column type: its spelling for all three backends and how its values are
/// written (see the module comment).
fn column_type(d: &mut Parser<'_, '_>) -> Result<(String, Class), String> {
    let Some(Tok::Word(base)) = d.next() else {
        return Err("no type".into());
    };
    let base = base.to_ascii_uppercase();
    if base == "DOUBLE" {
        d.eat_kw("PRECISION");
    }
    let mut args: Vec<u32> = Vec::new();
    if d.eat_punct('(') {
        loop {
            match d.next() {
                Some(Tok::Num(n)) => args.push(
                    n.parse()
                        .map_err(|_| format!("{base}({n}...): not a whole number"))?,
                ),
                _ => return Err(format!("{base}(...): cannot read its length")),
            }
            if d.eat_punct(',') {
                continue;
            }
            if d.eat_punct(')') {
                break;
            }
            return Err(format!("{base}(...): cannot read its length"));
        }
    }
    let unsigned = d.eat_kw("UNSIGNED") | d.eat_kw("ZEROFILL");
    d.eat_kw("SIGNED");
    let t = match (base.as_str(), args.as_slice()) {
        ("BOOL" | "BOOLEAN", _) => ("SMALLINT".into(), Class::Integer),
        ("TINYINT", _) => ("SMALLINT".into(), Class::Integer),
        ("SMALLINT", _) if unsigned => ("INTEGER".into(), Class::Integer),
        ("SMALLINT", _) => ("SMALLINT".into(), Class::Integer),
        ("MEDIUMINT" | "INT" | "INTEGER", _) if unsigned => ("BIGINT".into(), Class::Integer),
        ("MEDIUMINT" | "INT" | "INTEGER", _) => ("INTEGER".into(), Class::Integer),
        // Beyond BIGINT's range: exact decimals, still whole numbers.
        ("BIGINT", _) if unsigned => ("DECIMAL(20, 0)".into(), Class::Integer),
        ("BIGINT", _) => ("BIGINT".into(), Class::Integer),
        ("FLOAT" | "DOUBLE" | "REAL", _) => ("DOUBLE PRECISION".into(), Class::Number),
        // MySQL's defaults, said out loud: PostgreSQL's bare NUMERIC has no fixed scale.
        ("DECIMAL" | "NUMERIC" | "DEC" | "FIXED", []) => ("DECIMAL(10, 0)".into(), Class::Number),
        ("DECIMAL" | "NUMERIC" | "DEC" | "FIXED", [p]) => {
            (format!("DECIMAL({p}, 0)"), Class::Number)
        }
        ("DECIMAL" | "NUMERIC" | "DEC" | "FIXED", [p, s]) => {
            (format!("DECIMAL({p}, {s})"), Class::Number)
        }
        ("CHAR", []) => ("VARCHAR(1)".into(), Class::Text),
        ("CHAR" | "VARCHAR", [n]) => (format!("VARCHAR({n})"), Class::Text),
        ("TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT", _) => ("TEXT".into(), Class::Text),
        ("DATE", []) => ("DATE".into(), Class::Text),
        _ => {
            return Err(format!(
                "type {base} has no spelling that SQLite, MySQL and PostgreSQL read alike"
            ));
        }
    };
    Ok(t)
}

fn insert(p: &mut Parser<'_, '_>, table: &mut Table) -> Result<(), String> {
    let columns: Vec<usize> = if p.eat_punct('(') {
        let mut cols = Vec::new();
        loop {
            let n = p.name()?;
            let i = table
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&n))
                .ok_or_else(|| {
                    format!(
                        "INSERT names column {n}, which {}.{} lacks",
                        table.schema, table.name
                    )
                })?;
            cols.push(i);
            if p.eat_punct(',') {
                continue;
            }
            if p.eat_punct(')') {
                break;
            }
            return Err("an INSERT column list that never ends".into());
        }
        cols
    } else {
        (0..table.columns.len()).collect()
    };
    if !(p.eat_kw("VALUES") || p.eat_kw("VALUE")) {
        return Err(p.unsupported());
    }
    let mut rows = Vec::new();
    loop {
        let line = p.line();
        rows.push(
            tuple(p, table, &columns)
                .map_err(|e| format!("{}.{}, row at line {line}: {e}", table.schema, table.name))?,
        );
        if p.eat_punct(',') {
            continue;
        }
        if p.at_end() {
            break;
        }
        return Err(p.unsupported());
    }
    match table.batches.last_mut() {
        Some(b) if b.columns == columns => b.rows.append(&mut rows),
        _ => table.batches.push(Batch { columns, rows }),
    }
    Ok(())
}

/// `(v1, v2, ...)` as SQL for the given columns.
fn tuple(p: &mut Parser<'_, '_>, table: &Table, columns: &[usize]) -> Result<String, String> {
    if !p.eat_punct('(') {
        return Err("expected ( before the values".into());
    }
    let mut sql = String::from("(");
    for (k, &ci) in columns.iter().enumerate() {
        let c = &table.columns[ci];
        if k > 0 {
            if !p.eat_punct(',') {
                return Err(format!("{} values for {} columns", k, columns.len()));
            }
            sql.push(',');
        }
        let v = value(p)?;
        literal(&v, c.class, &mut sql).map_err(|e| format!("column {}: {e}", c.name))?;
    }
    if !p.eat_punct(')') {
        return Err(format!("more values than its {} columns", columns.len()));
    }
    sql.push(')');
    Ok(sql)
}

#[derive(Debug)]
enum Value<'a> {
    Null,
    /// A number literal, with its sign.
    Num(String),
    Str(Cow<'a, str>),
}

fn value<'a>(p: &mut Parser<'a, '_>) -> Result<Value<'a>, String> {
    let negative = if p.eat_punct('-') {
        true
    } else {
        p.eat_punct('+');
        false
    };
    let sign = if negative { "-" } else { "" };
    match p.next() {
        Some(Tok::Num(n)) => Ok(Value::Num(format!("{sign}{n}"))),
        Some(Tok::Str(s)) if !negative => Ok(Value::Str(s)),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => Ok(Value::Null),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("TRUE") => Ok(Value::Num("1".into())),
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("FALSE") => Ok(Value::Num("0".into())),
        Some(other) => Err(format!("{} is not a value a dump holds", show(&other))),
        None => Err("a value is missing".into()),
    }
}

/// `v` as a literal for a column of `class`, appended to `out`.
fn literal(v: &Value<'_>, class: Class, out: &mut String) -> Result<(), String> {
    let text = match v {
        Value::Null => {
            out.push_str("NULL");
            return Ok(());
        }
        Value::Num(n) => n.as_str(),
        Value::Str(s) => s.as_ref(),
    };
    match class {
        Class::Integer => {
            let t = text.trim();
            // MySQL stores 2.0 in an INT column as 2; SQLite keeps 2.5 as a float there
            // where the others round, so only whole values are accepted.
            let whole = t.split_once('.').map_or(t, |(int, frac)| {
                if frac.bytes().all(|c| c == b'0') {
                    int
                } else {
                    t
                }
            });
            let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(format!("{text:?} is not a whole number"));
            }
            out.push_str(whole.strip_prefix('+').unwrap_or(whole));
        }
        Class::Number => {
            let t = text.trim();
            let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
            let b = unsigned.as_bytes();
            if b.is_empty() || number_len(b) != b.len() || !b.iter().any(u8::is_ascii_digit) {
                return Err(format!("{text:?} is not a number"));
            }
            out.push_str(t.strip_prefix('+').unwrap_or(t));
        }
        Class::Text => {
            if text.contains('\\') {
                return Err(format!(
                    "{text:?} holds a backslash, which MySQL reads as an escape and SQLite \
                     and PostgreSQL do not"
                ));
            }
            if text.contains('\0') {
                return Err(format!(
                    "{text:?} holds a NUL character, which PostgreSQL cannot store"
                ));
            }
            out.push('\'');
            out.push_str(&text.replace('\'', "''"));
            out.push('\'');
        }
    }
    Ok(())
}

fn show(t: &Tok<'_>) -> String {
    match t {
        Tok::Word(w) | Tok::Num(w) => (*w).to_string(),
        Tok::Quoted(n) => format!("`{n}`"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Punct(c) => c.to_string(),
    }
}

/// A cursor over one statement's tokens.
struct Parser<'a, 't> {
    toks: &'t [Lexed<'a>],
    i: usize,
}

impl<'a> Parser<'a, '_> {
    fn next(&mut self) -> Option<Tok<'a>> {
        let t = self.toks.get(self.i)?.tok.clone();
        self.i += 1;
        Some(t)
    }

    fn line(&self) -> usize {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map_or(0, |t| t.line)
    }

    fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }

    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.i), Some(Lexed { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.peek_kw(kw);
        if yes {
            self.i += 1;
        }
        yes
    }

    /// Consumes all of `kws` in order, or nothing.
    fn eat_kws(&mut self, kws: &[&str]) -> bool {
        let start = self.i;
        if kws.iter().all(|k| self.eat_kw(k)) {
            return true;
        }
        self.i = start;
        false
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes =
            matches!(self.toks.get(self.i), Some(Lexed { tok: Tok::Punct(p), .. }) if *p == c);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn skip_past(&mut self, c: char) {
        while let Some(t) = self.next() {
            if t == Tok::Punct(c) {
                return;
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Word(w)) => Ok(w.to_string()),
            Some(Tok::Quoted(n)) => Ok(n),
            Some(other) => Err(format!("expected a name, found {}", show(&other))),
            None => Err("a name is missing".into()),
        }
    }

    /// `schema.table`, or `table` in the schema of the last USE.
    fn table_name(&mut self, current: &Option<String>) -> Result<(String, String), String> {
        let first = self.name()?;
        let (schema, table) = if self.eat_punct('.') {
            (first, self.name()?)
        } else {
            match current {
                Some(s) => (s.clone(), first),
                None => {
                    return Err(format!(
                        "table {first} names no schema and no USE came before it"
                    ));
                }
            }
        };
        check_name(&schema)?;
        check_name(&table)?;
        Ok((schema, table))
    }

    /// Where the CREATE TABLE element starting here ends: its comma or the closing
    /// parenthesis, outside nested ones.
    fn definition_end(&self) -> usize {
        let mut depth = 0usize;
        for (k, t) in self.toks[self.i..].iter().enumerate() {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') if depth == 0 => return self.i + k,
                Tok::Punct(')') => depth -= 1,
                Tok::Punct(',') if depth == 0 => return self.i + k,
                _ => {}
            }
        }
        self.toks.len()
    }

    fn unsupported(&self) -> String {
        let words: Vec<String> = self.toks.iter().take(4).map(|t| show(&t.tok)).collect();
        let near = match self.toks.get(self.i) {
            Some(t) if self.i >= 4 => format!(" (at {} on line {})", show(&t.tok), t.line),
            _ => String::new(),
        };
        format!("unsupported statement: {} ...{near}", words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(dump: &str) -> String {
        let d = Dump::parse(dump).unwrap();
        d.statements("")
            .unwrap()
            .iter()
            .map(|s| format!("{};\n", s.sql))
            .collect()
    }

    fn error(dump: &str) -> String {
        match Dump::parse(dump) {
            Ok(d) => panic!("parsed: {d:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_mysqldump_becomes_portable_sql() {
        let dump = "-- MySQL dump 10.13\n\
            /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\
            /*!40101 SET NAMES utf8 */;\n\
            # a hash comment\n\
            CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8 */;\n\
            USE `shop`;\n\
            DROP TABLE IF EXISTS `items`;\n\
            CREATE TABLE `items` (\n\
              `id` int(11) unsigned NOT NULL AUTO_INCREMENT,\n\
              `Name` varchar(64) CHARACTER SET utf8 COLLATE utf8_bin DEFAULT NULL COMMENT 'the, name',\n\
              `price` float DEFAULT '0',\n\
              `qty` tinyint(4) DEFAULT NULL,\n\
              `code` char(3),\n\
              PRIMARY KEY (`id`),\n\
              KEY `by_name` (`Name`(10))\n\
            ) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=latin1;\n\
            LOCK TABLES `items` WRITE;\n\
            /*!40000 ALTER TABLE `items` DISABLE KEYS */;\n\
            INSERT INTO `items` VALUES (1,'it''s \\\"ok\\\"',\"1.5\",-3,'ab '),(2,NULL,-2.5e-3,+4,\"x\");\n\
            /*!40000 ALTER TABLE `items` ENABLE KEYS */;\n\
            UNLOCK TABLES;\n";
        assert_eq!(
            program(dump),
            "CREATE SCHEMA IF NOT EXISTS shop;\n\
             DROP TABLE IF EXISTS shop.items;\n\
             CREATE TABLE shop.items (\n  id BIGINT NOT NULL,\n  Name VARCHAR(64),\n  \
             price DOUBLE PRECISION,\n  qty SMALLINT,\n  code VARCHAR(3),\n  PRIMARY KEY (id)\n);\n\
             INSERT INTO shop.items (id, Name, price, qty, code) VALUES\n\
             (1,'it''s \"ok\"',1.5,-3,'ab '),\n(2,NULL,-2.5e-3,4,'x');\n\
             SELECT 'shop.items' AS loaded, count(*) AS n_rows FROM shop.items;\n"
        );
    }

    #[test]
    fn sqlflows_style_single_row_inserts_are_batched_and_counted() {
        let dump = "CREATE DATABASE IF NOT EXISTS iris;\n\
            DROP TABLE IF EXISTS iris.train;\n\
            CREATE TABLE iris.train (sepal_length float, class int);\n\
            INSERT INTO iris.train VALUES(6.4,2);\n\
            INSERT INTO iris.train VALUES(\"5.0\",\"1\");\n";
        let d = Dump::parse(dump).unwrap();
        let s = d.statements("t1_").unwrap();
        let sql: Vec<&str> = s.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql[3],
            "INSERT INTO t1_iris.train (sepal_length, class) VALUES\n(6.4,2),\n(5.0,1)"
        );
        assert_eq!(s[4].counts, Some(("t1_iris.train".into(), 2)));
        assert_eq!(d.tables[0].rows(), 2);
    }

    #[test]
    fn big_tables_take_several_inserts() {
        let mut dump =
            String::from("CREATE TABLE s.t (a int, b varchar(10));\nINSERT INTO s.t VALUES\n");
        let rows: Vec<String> = (0..2500).map(|i| format!("({i},'x{i}')")).collect();
        dump.push_str(&rows.join(",\n"));
        dump.push(';');
        let s = Dump::parse(&dump).unwrap().statements("").unwrap();
        let inserts: Vec<&Statement> = s.iter().filter(|s| s.sql.starts_with("INSERT")).collect();
        assert_eq!(inserts.len(), 3);
        let total: usize = inserts.iter().map(|s| s.sql.matches("\n(").count()).sum();
        assert_eq!(total, 2500);
        assert!(
            inserts
                .iter()
                .all(|s| s.sql.len() <= MAX_INSERT_BYTES + 100)
        );

        // Wide rows are cut by size before the row limit.
        let wide = "y".repeat(1000);
        let mut dump = String::from("CREATE TABLE s.t (b text);\nINSERT INTO s.t VALUES\n");
        let rows: Vec<String> = (0..200).map(|_| format!("('{wide}')")).collect();
        dump.push_str(&rows.join(","));
        let s = Dump::parse(&dump).unwrap().statements("").unwrap();
        let inserts: Vec<&Statement> = s.iter().filter(|s| s.sql.starts_with("INSERT")).collect();
        assert_eq!(inserts.len(), 4);
        assert!(
            inserts
                .iter()
                .all(|s| s.sql.len() <= MAX_INSERT_BYTES + 100)
        );
    }

    #[test]
    fn every_table_is_replaced_even_if_the_dump_only_creates_it_if_missing() {
        let p = program("CREATE TABLE IF NOT EXISTS a.b (x int);\nINSERT INTO a.b VALUES (1);");
        assert!(
            p.contains("DROP TABLE IF EXISTS a.b;\nCREATE TABLE a.b"),
            "{p}"
        );
        // DROP DATABASE would take the user's other tables with it.
        let p =
            program("DROP DATABASE IF EXISTS a;\nCREATE DATABASE a;\nCREATE TABLE a.b (x int);");
        assert!(!p.contains("DROP SCHEMA") && !p.contains("DATABASE"), "{p}");
    }

    #[test]
    fn insert_column_lists_are_kept() {
        let p = program(
            "CREATE TABLE a.b (x int, y varchar(3));\n\
             INSERT INTO a.b (`y`, x) VALUES ('q', 1);\nINSERT INTO a.b VALUES (2, 'r');",
        );
        assert!(p.contains("INSERT INTO a.b (y, x) VALUES\n('q',1);"), "{p}");
        assert!(p.contains("INSERT INTO a.b (x, y) VALUES\n(2,'r');"), "{p}");
    }

    #[test]
    fn values_that_mean_different_things_on_each_backend_are_refused() {
        let base = "CREATE TABLE a.b (i int, f float, s varchar(9));\nINSERT INTO a.b VALUES ";
        for (values, wanted) in [
            ("(1.5, 1, 'x')", "not a whole number"),
            ("('', 1, 'x')", "not a whole number"),
            ("(1, '', 'x')", "not a number"),
            ("(1, 'abc', 'x')", "not a number"),
            ("(1, 1, 'a\\\\b')", "backslash"),
            ("(1, 1)", "2 values for 3 columns"),
            ("(1, 1, 'x', 4)", "more values than its 3 columns"),
            ("(1, 1, now())", "now is not a value"),
        ] {
            let e = error(&format!("{base}{values};"));
            assert!(e.contains(wanted), "{values}: {e}");
            assert!(e.starts_with("line 2: a.b, row at line 2: "), "{e}");
        }
        assert!(program(&format!("{base}(2.000, '-1e3', 'x');")).contains("(2,-1e3,'x')"));
    }

    #[test]
    fn what_cannot_be_translated_is_an_error_naming_the_line() {
        for (dump, wanted) in [
            ("CREATE TABLE a.b (x json);", "type JSON has no spelling"),
            ("CREATE TABLE a.b (x datetime);", "type DATETIME"),
            (
                "CREATE TABLE a.b (`x y` int);",
                "\"x y\" would need quoting",
            ),
            ("CREATE TABLE b (x int);", "no USE came before"),
            ("CREATE TABLE a.b LIKE a.c;", "without a column list"),
            (
                "\n\nINSERT INTO a.b VALUES (1);",
                "line 3: INSERT into a.b, which the dump never",
            ),
            (
                "CREATE VIEW v AS SELECT 1;",
                "unsupported statement: CREATE VIEW",
            ),
            ("GRANT ALL ON a.* TO x;", "unsupported statement: GRANT"),
            (
                "CREATE TABLE a.b (x int);\nINSERT INTO a.b VALUES ('x);",
                "line 2: a string never ends",
            ),
            ("/* open", "a comment never ends"),
            (
                "CREATE TABLE a.b (x int);\nINSERT INTO a.b VALUES (1) ON DUPLICATE KEY UPDATE x = 1;",
                "unsupported statement: INSERT INTO a . ... (at ON on line 2)",
            ),
            ("CREATE TABLE a.b (x int, X int);", "column X appears twice"),
        ] {
            let e = error(dump);
            assert!(e.contains(wanted), "{dump}: {e}");
        }
        let d = Dump::parse("CREATE TABLE a.b (x int);").unwrap();
        let e = d.statements("bad-prefix_").unwrap_err();
        assert!(e.contains("would need quoting"), "{e}");
    }

    #[test]
    fn lexing_corner_cases() {
        // `--` needs a space to start a comment; MySQL's escapes; doubled quotes; names
        // with a doubled backquote; a number right after a dot in a name is not a number.
        let toks: Vec<Tok<'_>> = lex("1--2\n'a\\tb''c' \"d\"\"e\" `f``g` t.5x (.5 1e5 1e x%")
            .unwrap()
            .into_iter()
            .map(|l| l.tok)
            .collect();
        assert_eq!(
            toks,
            vec![
                Tok::Num("1"),
                Tok::Punct('-'),
                Tok::Punct('-'),
                Tok::Num("2"),
                Tok::Str(Cow::Owned("a\tb'c".into())),
                Tok::Str(Cow::Owned("d\"e".into())),
                Tok::Quoted("f`g".into()),
                Tok::Word("t"),
                Tok::Punct('.'),
                Tok::Word("5x"),
                Tok::Punct('('),
                Tok::Num(".5"),
                Tok::Num("1e5"),
                Tok::Num("1"),
                Tok::Word("e"),
                Tok::Word("x"),
                Tok::Punct('%'),
            ]
        );
        let lines: Vec<usize> = lex("a\n/* x\n y */ b -- c\n# d\n'e\nf' g")
            .unwrap()
            .iter()
            .map(|l| l.line)
            .collect();
        assert_eq!(lines, [1, 3, 5, 6]);
    }
}
