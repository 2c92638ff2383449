//! The DDL column list of an Athena table (`schemas/athena/*.ddl`, or a `--schema` file): a
//! tokenizer and a small recursive-descent parser for `name TYPE [COMMENT '...']` entries,
//! including `ARRAY<...>`, `MAP<...>` and `STRUCT<...>` types.

use super::schema::{Column, Ty};
use crate::ir::JsonType;

/// A DDL token: a name (bare or quoted with backticks or double quotes), a string, a number
/// or punctuation.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Punct(char),
}

/// Split DDL text into tokens with their line numbers; `--` comments are skipped.
fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut line = 1;
    let mut i = 0;
    let mut out = Vec::new();
    while let Some(&c) = chars.get(i) {
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '-' if chars.get(i + 1) == Some(&'-') => {
                while chars.get(i).is_some_and(|c| *c != '\n') {
                    i += 1;
                }
            }
            '`' | '"' => {
                let close = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("line {line}: unclosed quoted name")),
                        Some(&q) if q == close => {
                            if chars.get(i + 1) == Some(&close) {
                                s.push(close);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&x) => {
                            s.push(x);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Ident(s), line));
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("line {line}: unclosed string")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&x) => {
                            s.push(x);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Str(s), line));
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                out.push((Tok::Num(chars[start..i].iter().collect()), line));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                out.push((Tok::Ident(chars[start..i].iter().collect()), line));
            }
            '<' | '>' | ',' | ':' | '(' | ')' => {
                out.push((Tok::Punct(c), line));
                i += 1;
            }
            other => return Err(format!("line {line}: unexpected '{other}'")),
        }
    }
    Ok(out)
}

/// A recursive-descent parser over the tokens.
struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    /// The next token, not consumed.
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    /// The line of the next token (or of the last one at the end), for messages.
    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(1, |(_, l)| *l)
    }

    /// Consume and return the next token.
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }

    /// "expected `what`, found ..." at the next token.
    fn err<T>(&self, what: &str) -> Result<T, String> {
        let found = match self.peek() {
            Some(Tok::Ident(s)) => format!("'{s}'"),
            Some(Tok::Str(s)) => format!("'{s}'"),
            Some(Tok::Num(s)) => s.clone(),
            Some(Tok::Punct(c)) => format!("'{c}'"),
            None => "the end".to_owned(),
        };
        Err(format!(
            "line {}: expected {what}, found {found}",
            self.line()
        ))
    }

    /// Consume the punctuation `c`, or fail.
    fn punct(&mut self, c: char) -> Result<(), String> {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(&format!("'{c}'"))
        }
    }

    /// Consume a name (`what` says which, for the message).
    fn ident(&mut self, what: &str) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => self.err(what),
        }
    }

    /// Consume the keyword `kw` (any case) if it is next.
    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `[COMMENT 'words']`: what the comment says a `STRING` holds (`json`, `boolean`, `number`),
    /// and whether the record may hold an explicit null there (`nullable`); other words say
    /// nothing.
    fn comment(&mut self) -> Result<CommentSays, String> {
        if !self.keyword("COMMENT") {
            return Ok(CommentSays::default());
        }
        match self.next() {
            Some(Tok::Str(s)) => {
                let mut said = CommentSays::default();
                for w in s.split_whitespace() {
                    match w.to_ascii_lowercase().as_str() {
                        "json" => said.ty = Some(Ty::Json),
                        "boolean" => said.ty = Some(Ty::TextOf(JsonType::Boolean)),
                        "number" => said.ty = Some(Ty::TextOf(JsonType::Number)),
                        "nullable" => said.nullable = true,
                        _ => {}
                    }
                }
                Ok(said)
            }
            _ => {
                self.pos -= 1;
                self.err("a comment string")
            }
        }
    }

    /// A type: `ARRAY<T>`, `MAP<K, V>`, `STRUCT<name: T [COMMENT ...], ...>` or a scalar
    /// (arguments like `DECIMAL(10, 2)` skipped); nested at most 32 deep.
    fn column_type(&mut self, depth: usize) -> Result<Ty, String> {
        if depth > 32 {
            return self.err("a shallower type");
        }
        let name = self.ident("a type")?.to_ascii_lowercase();
        Ok(match name.as_str() {
            "array" => {
                self.punct('<')?;
                let t = self.column_type(depth + 1)?;
                self.punct('>')?;
                Ty::Array(Box::new(t))
            }
            "map" => {
                self.punct('<')?;
                let _key = self.column_type(depth + 1)?;
                self.punct(',')?;
                let t = self.column_type(depth + 1)?;
                self.punct('>')?;
                Ty::Map(Box::new(t))
            }
            "struct" => {
                self.punct('<')?;
                let mut fields = Vec::new();
                loop {
                    let fname = self.ident("a field name")?;
                    self.punct(':')?;
                    let t = self.column_type(depth + 1)?;
                    let said = self.comment()?;
                    push_unique(&mut fields, fname, t, said, self.line())?;
                    if self.peek() == Some(&Tok::Punct(',')) {
                        self.pos += 1;
                        continue;
                    }
                    self.punct('>')?;
                    break;
                }
                Ty::Struct(fields)
            }
            _ => {
                if self.peek() == Some(&Tok::Punct('(')) {
                    while !matches!(self.next(), Some(Tok::Punct(')')) | None) {}
                }
                match name.as_str() {
                    "string" | "varchar" | "char" => Ty::Varchar,
                    "json" => Ty::Json,
                    _ => Ty::Scalar(name),
                }
            }
        })
    }
}

/// What a column's comment says.
#[derive(Default)]
struct CommentSays {
    /// The type a `STRING` holds.
    ty: Option<Ty>,
    nullable: bool,
}

/// Add a column or struct field, refusing a name declared before in any case; a comment's
/// type applies to a `STRING` only.
fn push_unique(
    cols: &mut Vec<Column>,
    name: String,
    ty: Ty,
    said: CommentSays,
    line: usize,
) -> Result<(), String> {
    if cols.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
        return Err(format!(
            "line {line}: '{name}' is declared twice (Athena ignores case)"
        ));
    }
    // A comment's type applies to a `STRING`; other types keep theirs.
    let ty = match said.ty {
        Some(s) if ty == Ty::Varchar => s,
        _ => ty,
    };
    cols.push(Column {
        name,
        ty,
        nullable: said.nullable,
    });
    Ok(())
}

/// Parse a column list in Athena DDL syntax: `name TYPE [COMMENT '...']`, separated by commas,
/// with `--` comments. `COMMENT 'json'` on a string marks a JSON document, `COMMENT 'boolean'` or
/// `COMMENT 'number'` the text of a JSON boolean or number.
pub fn parse_ddl(text: &str) -> Result<Vec<Column>, String> {
    let mut p = Parser {
        toks: tokenize(text)?,
        pos: 0,
    };
    let mut cols = Vec::new();
    while p.peek().is_some() {
        let name = p.ident("a column name")?;
        let t = p.column_type(0)?;
        let said = p.comment()?;
        push_unique(&mut cols, name, t, said, p.line())?;
        match p.peek() {
            Some(Tok::Punct(',')) => p.pos += 1,
            None => {}
            _ => return p.err("',' or the end"),
        }
    }
    if cols.is_empty() {
        return Err("no columns".to_owned());
    }
    Ok(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_syntax() {
        let cols = parse_ddl(
            "a string, `b` STRUCT<x:int, y:ARRAY<STRUCT<z:string COMMENT 'json'>>>,\n c map<string,string>, d decimal(10, 2)",
        )
        .unwrap();
        assert_eq!(cols.len(), 4);
        assert_eq!(cols[3].ty, Ty::Scalar("decimal".into()));
        let cols = parse_ddl(
            "a string COMMENT 'boolean', b string comment 'Number', c int COMMENT 'boolean', d string COMMENT 'x', e string COMMENT 'json nullable'",
        )
        .unwrap();
        assert!(cols[4].nullable && cols[4].ty == Ty::Json && !cols[0].nullable);
        let cols = cols[..4].to_vec();
        let tys: Vec<_> = cols.into_iter().map(|c| c.ty).collect();
        assert_eq!(
            tys,
            [
                Ty::TextOf(JsonType::Boolean),
                Ty::TextOf(JsonType::Number),
                Ty::Scalar("int".into()),
                Ty::Varchar
            ]
        );
        assert!(parse_ddl("a string, A string").is_err());
        assert!(parse_ddl("a struct<b: string").is_err());
        assert!(parse_ddl("").is_err());
    }
}
