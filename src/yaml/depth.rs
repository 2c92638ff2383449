//! A linear pre-scan that bounds YAML nesting before the parser sees the text.
//!
//! libyaml (behind serde_yaml) spends time proportional to the open flow collections on every
//! token, so 100,000 levels of `{a: ` (500 KB) took 82 s, all of it before serde_yaml's own
//! recursion limit could reject the document. This scanner follows libyaml's tokenizer (its
//! indentation stack, flow level, simple keys, and where quoted, plain and block scalars end)
//! just far enough to know how many collections are open at every token, and reports the first
//! token that opens one more than allowed. Where libyaml would stop with a syntax error the
//! scanner carries on with a guess; the parser then reports the error.
//!
//! Depth counts block collections (by indentation, including `- ` sequences at their parent
//! mapping's indentation) plus flow collections, so for a document that parses it is the depth of
//! the value tree (before aliases are expanded).

/// libyaml forgets a simple-key candidate this many bytes after it started.
const SIMPLE_KEY_SPAN: usize = 1024;

// Byte classes, so runs of ordinary text are skipped in a tight loop.
const BLANK: u8 = 1;
const BREAK: u8 = 2;
const FLOW: u8 = 4;
const COLON: u8 = 8;
const SINGLE: u8 = 16;
const DOUBLE: u8 = 32;
const BACKSLASH: u8 = 64;
/// Not ASCII: the slow path counts the character's width and finds NEL, LS and PS breaks.
const HIGH: u8 = 128;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = BLANK;
    t[b'\t' as usize] = BLANK;
    t[b'\n' as usize] = BREAK;
    t[b'\r' as usize] = BREAK;
    t[b',' as usize] = FLOW;
    t[b'[' as usize] = FLOW;
    t[b']' as usize] = FLOW;
    t[b'{' as usize] = FLOW;
    t[b'}' as usize] = FLOW;
    t[b':' as usize] = COLON;
    t[b'\'' as usize] = SINGLE;
    t[b'"' as usize] = DOUBLE;
    t[b'\\' as usize] = BACKSLASH;
    let mut i = 0x80;
    while i < 256 {
        t[i] = HIGH;
        i += 1;
    }
    t
};

/// Scan `text`; `Err(offset)` is the byte offset of the token that opens collection number
/// `limit + 1`.
pub(super) fn check(text: &str, limit: usize) -> Result<(), usize> {
    if openers_at_most(text, limit) {
        return Ok(());
    }
    Scanner::new(text, limit).run().map(|_| ())
}

/// Whether `text` holds at most `limit` characters that could open a collection: `[`, `{`, and
/// `-`, `?`, `:` followed by a blank, a line break or the end (a block collection opens only at
/// one of those). Each level of nesting needs one, so most rules are cleared by this count alone.
fn openers_at_most(text: &str, limit: usize) -> bool {
    let b = text.as_bytes();
    // A first, branch-free count of every candidate byte clears most rules outright.
    let candidates = b
        .iter()
        .map(|&c| usize::from(matches!(c, b'[' | b'{' | b'-' | b'?' | b':')))
        .sum::<usize>();
    if candidates <= limit {
        return true;
    }
    let mut n = 0usize;
    for (i, &c) in b.iter().enumerate() {
        let opener = match c {
            b'[' | b'{' => true,
            // 0xC2 and 0xE2 start NEL, LS and PS, which are line breaks to libyaml.
            b'-' | b'?' | b':' => matches!(
                b.get(i + 1),
                None | Some(b' ' | b'\t' | b'\r' | b'\n' | 0xC2 | 0xE2)
            ),
            _ => false,
        };
        if opener {
            n += 1;
            if n > limit {
                return false;
            }
        }
    }
    true
}

/// The deepest nesting in `text` (for tests).
#[cfg(test)]
pub(super) fn max_depth(text: &str) -> usize {
    let mut s = Scanner::new(text, usize::MAX);
    let _ = s.run();
    s.max
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

/// A block collection libyaml's indentation stack holds.
struct Level {
    col: isize,
    kind: Kind,
    /// A `- ` sequence at this mapping's own indentation is open inside it.
    indentless: bool,
}

/// A place a simple key (`key:` without `?`) may start.
#[derive(Clone, Copy)]
struct Key {
    possible: bool,
    line: usize,
    offset: usize,
    col: usize,
}

const NO_KEY: Key = Key {
    possible: false,
    line: 0,
    offset: 0,
    col: 0,
};

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// Column in characters, as libyaml counts.
    col: usize,
    line: usize,
    flow: usize,
    /// libyaml's `parser->indent`: the column of the innermost block collection, -1 at the top.
    indent: isize,
    levels: Vec<Level>,
    /// Indentless sequences open (each is one level more than `levels` shows).
    indentless: usize,
    /// One simple-key candidate per flow level (and one for block context).
    keys: Vec<Key>,
    key_allowed: bool,
    limit: usize,
    max: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, limit: usize) -> Self {
        Scanner {
            b: text.as_bytes(),
            i: 0,
            col: 0,
            line: 0,
            flow: 0,
            indent: -1,
            levels: Vec::new(),
            indentless: 0,
            keys: vec![NO_KEY],
            key_allowed: true,
            limit,
            max: 0,
        }
    }

    fn at(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn end(&self) -> bool {
        self.i >= self.b.len()
    }

    /// Length of the line break at `i + k` (CR LF, CR, LF, NEL, LS, PS), or 0.
    fn brk(&self, k: usize) -> usize {
        match self.at(k) {
            b'\n' => 1,
            b'\r' if self.at(k + 1) == b'\n' => 2,
            b'\r' => 1,
            0xC2 if self.at(k + 1) == 0x85 => 2,
            0xE2 if self.at(k + 1) == 0x80 && matches!(self.at(k + 2), 0xA8 | 0xA9) => 3,
            _ => 0,
        }
    }

    /// Step over ASCII bytes of no class in `stop` (one column each).
    fn skip_plain_bytes(&mut self, stop: u8) {
        while let Some(&c) = self.b.get(self.i) {
            if CLASS[usize::from(c)] & stop != 0 {
                return;
            }
            self.i += 1;
            self.col += 1;
        }
    }

    fn blank(&self, k: usize) -> bool {
        matches!(self.at(k), b' ' | b'\t')
    }

    fn breakz(&self, k: usize) -> bool {
        self.i + k >= self.b.len() || self.brk(k) > 0
    }

    fn blankz(&self, k: usize) -> bool {
        self.blank(k) || self.breakz(k)
    }

    /// Step over one character.
    fn advance(&mut self) {
        let width = match self.at(0) {
            0xF0..=0xFF => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        };
        self.i = (self.i + width).min(self.b.len());
        self.col += 1;
    }

    fn skip_break(&mut self) {
        self.i += self.brk(0).max(1);
        self.i = self.i.min(self.b.len());
        self.line += 1;
        self.col = 0;
    }

    fn skip_to_break(&mut self) {
        loop {
            self.skip_plain_bytes(BREAK | HIGH);
            if self.breakz(0) {
                return;
            }
            self.advance();
        }
    }

    fn doc_marker(&self) -> bool {
        self.col == 0
            && (self.b[self.i..].starts_with(b"---") || self.b[self.i..].starts_with(b"..."))
            && self.blankz(3)
    }

    fn depth(&self) -> usize {
        self.levels.len() + self.indentless + self.flow
    }

    /// One more collection opened at `offset`: fail when that is over the limit.
    fn deeper(&mut self, offset: usize) -> Result<(), usize> {
        let d = self.depth();
        self.max = self.max.max(d);
        if d > self.limit {
            Err(offset)
        } else {
            Ok(())
        }
    }

    fn run(&mut self) -> Result<(), usize> {
        loop {
            self.skip_to_token();
            self.stale_keys();
            if self.flow == 0 {
                self.unroll(self.col as isize);
            }
            if self.end() {
                return Ok(());
            }
            let c = self.at(0);
            if self.col == 0 && c == b'%' {
                self.skip_to_break();
                continue;
            }
            if self.doc_marker() {
                self.unroll(-1);
                self.remove_key();
                self.key_allowed = false;
                self.i += 3;
                self.col += 3;
                continue;
            }
            match c {
                b'[' | b'{' => {
                    self.save_key();
                    self.keys.push(NO_KEY);
                    self.flow += 1;
                    self.deeper(self.i)?;
                    self.key_allowed = true;
                    self.advance();
                }
                b']' | b'}' => {
                    self.remove_key();
                    if self.flow > 0 {
                        self.flow -= 1;
                        self.keys.pop();
                    }
                    self.key_allowed = false;
                    self.advance();
                }
                b',' => {
                    self.remove_key();
                    self.key_allowed = true;
                    self.advance();
                }
                b'-' if self.blankz(1) => {
                    self.roll(self.col as isize, Kind::Seq, self.i)?;
                    self.remove_key();
                    self.key_allowed = true;
                    self.advance();
                }
                b'?' if self.flow > 0 || self.blankz(1) => {
                    self.roll(self.col as isize, Kind::Map, self.i)?;
                    self.remove_key();
                    self.key_allowed = self.flow == 0;
                    self.advance();
                }
                b':' if self.flow > 0 || self.blankz(1) => {
                    self.value()?;
                    self.advance();
                }
                b'*' | b'&' => {
                    self.save_key();
                    self.key_allowed = false;
                    self.advance();
                    while !self.blankz(0) && !matches!(self.at(0), b',' | b'[' | b']' | b'{' | b'}')
                    {
                        self.advance();
                    }
                }
                b'!' => {
                    self.save_key();
                    self.key_allowed = false;
                    self.advance();
                    while !self.tag_end() {
                        self.advance();
                    }
                }
                b'|' | b'>' if self.flow == 0 => {
                    self.remove_key();
                    self.key_allowed = true;
                    self.block_scalar();
                }
                b'\'' | b'"' => {
                    self.save_key();
                    self.key_allowed = false;
                    self.quoted(c);
                }
                _ if self.plain_start(c) => {
                    self.save_key();
                    self.key_allowed = false;
                    self.plain();
                }
                // libyaml stops here with "found character that cannot start any token".
                _ => self.advance(),
            }
        }
    }

    /// Spaces, comments and line breaks up to the next token.
    fn skip_to_token(&mut self) {
        loop {
            while self.blank(0) {
                self.advance();
            }
            if self.at(0) == b'#' {
                self.skip_to_break();
            }
            if self.end() || self.brk(0) == 0 {
                return;
            }
            self.skip_break();
            if self.flow == 0 {
                self.key_allowed = true;
            }
        }
    }

    fn stale_keys(&mut self) {
        let (line, i) = (self.line, self.i);
        for k in &mut self.keys {
            if k.possible && (k.line < line || k.offset + SIMPLE_KEY_SPAN < i) {
                k.possible = false;
            }
        }
    }

    fn save_key(&mut self) {
        if self.key_allowed {
            if let Some(k) = self.keys.last_mut() {
                *k = Key {
                    possible: true,
                    line: self.line,
                    offset: self.i,
                    col: self.col,
                };
            }
        }
    }

    fn remove_key(&mut self) {
        if let Some(k) = self.keys.last_mut() {
            k.possible = false;
        }
    }

    /// `:` — a mapping value; a block mapping starts at its key when the key is new.
    fn value(&mut self) -> Result<(), usize> {
        let key = self.keys.last().copied().unwrap_or(NO_KEY);
        if key.possible {
            self.roll(key.col as isize, Kind::Map, key.offset)?;
            self.remove_key();
            self.key_allowed = false;
        } else {
            self.roll(self.col as isize, Kind::Map, self.i)?;
            self.key_allowed = self.flow == 0;
        }
        Ok(())
    }

    /// A block collection of `kind` whose entries start at `col` (libyaml's roll_indent, plus
    /// the indentless sequences its parser recognises).
    fn roll(&mut self, col: isize, kind: Kind, offset: usize) -> Result<(), usize> {
        if self.flow > 0 {
            return Ok(());
        }
        if self.indent < col {
            self.levels.push(Level {
                col,
                kind,
                indentless: false,
            });
            self.indent = col;
            return self.deeper(offset);
        }
        let Some(top) = self.levels.last_mut() else {
            return Ok(());
        };
        if top.col != col || top.kind != Kind::Map {
            return Ok(());
        }
        match (kind, top.indentless) {
            (Kind::Seq, false) => {
                top.indentless = true;
                self.indentless += 1;
                self.deeper(offset)
            }
            (Kind::Map, true) => {
                top.indentless = false;
                self.indentless -= 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn unroll(&mut self, col: isize) {
        while self.indent > col {
            if let Some(l) = self.levels.pop() {
                if l.indentless {
                    self.indentless -= 1;
                }
            }
            self.indent = self.levels.last().map_or(-1, |l| l.col);
        }
    }

    /// A tag runs to a blank, or in flow context also to a flow indicator.
    fn tag_end(&self) -> bool {
        self.blankz(0) || (self.flow > 0 && matches!(self.at(0), b',' | b'[' | b']' | b'{' | b'}'))
    }

    fn plain_start(&self, c: u8) -> bool {
        let indicator = self.blankz(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !indicator
            || (c == b'-' && !self.blank(1))
            || (self.flow == 0 && (c == b'?' || c == b':') && !self.blankz(1))
    }

    /// A plain scalar, over as many lines as libyaml continues it.
    fn plain(&mut self) {
        let continuation = self.indent + 1;
        let mut leading_blanks = false;
        'scalar: loop {
            if self.doc_marker() || self.at(0) == b'#' {
                break;
            }
            let stop = BLANK | BREAK | COLON | HIGH | if self.flow > 0 { FLOW } else { 0 };
            loop {
                self.skip_plain_bytes(stop);
                if self.blankz(0) {
                    break;
                }
                let c = self.at(0);
                if self.flow > 0
                    && c == b':'
                    && matches!(self.at(1), b',' | b'?' | b'[' | b']' | b'{' | b'}')
                {
                    // libyaml: "found unexpected ':'".
                    break 'scalar;
                }
                if (c == b':' && self.blankz(1))
                    || (self.flow > 0 && matches!(c, b',' | b'[' | b']' | b'{' | b'}'))
                {
                    break;
                }
                self.advance();
            }
            if !(self.blank(0) || self.brk(0) > 0) {
                break;
            }
            while self.blank(0) || self.brk(0) > 0 {
                if self.blank(0) {
                    self.advance();
                } else {
                    self.skip_break();
                    leading_blanks = true;
                }
            }
            if self.flow == 0 && (self.col as isize) < continuation {
                break;
            }
        }
        if leading_blanks {
            self.key_allowed = true;
        }
    }

    /// A single- or double-quoted scalar, to its closing quote.
    fn quoted(&mut self, q: u8) {
        self.advance();
        let stop = BREAK
            | HIGH
            | if q == b'"' {
                DOUBLE | BACKSLASH
            } else {
                SINGLE
            };
        loop {
            self.skip_plain_bytes(stop);
            if self.end() {
                return;
            }
            let c = self.at(0);
            if q == b'\'' && c == b'\'' && self.at(1) == b'\'' {
                self.i += 2;
                self.col += 2;
            } else if c == q {
                self.advance();
                return;
            } else if q == b'"' && c == b'\\' {
                self.advance();
                if self.brk(0) > 0 {
                    self.skip_break();
                } else if !self.end() {
                    self.advance();
                }
            } else if self.brk(0) > 0 {
                self.skip_break();
            } else {
                self.advance();
            }
        }
    }

    /// A `|` or `>` block scalar: its header line, then every line indented at least as far as
    /// its content (found as libyaml finds it), and the empty lines among them.
    fn block_scalar(&mut self) {
        self.advance();
        let mut increment = 0isize;
        for _ in 0..2 {
            match self.at(0) {
                b'+' | b'-' => self.advance(),
                d @ b'1'..=b'9' => {
                    increment = isize::from(d - b'0');
                    self.advance();
                }
                _ => break,
            }
        }
        self.skip_to_break();
        if self.end() {
            return;
        }
        self.skip_break();
        let mut indent = if increment > 0 {
            if self.indent >= 0 {
                self.indent + increment
            } else {
                increment
            }
        } else {
            0
        };
        let mut max_indent = 0isize;
        loop {
            while (indent == 0 || (self.col as isize) < indent) && self.at(0) == b' ' {
                self.advance();
            }
            max_indent = max_indent.max(self.col as isize);
            if self.end() || self.brk(0) == 0 {
                break;
            }
            self.skip_break();
        }
        if indent == 0 {
            indent = max_indent.max(self.indent + 1).max(1);
        }
        while self.col as isize == indent && !self.end() {
            self.skip_to_break();
            if self.end() {
                return;
            }
            self.skip_break();
            loop {
                while (self.col as isize) < indent && self.at(0) == b' ' {
                    self.advance();
                }
                if self.end() || self.brk(0) == 0 {
                    break;
                }
                self.skip_break();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_block_and_flow_levels() {
        assert_eq!(max_depth("a: 1\n"), 1);
        assert_eq!(max_depth("a:\n  b: 1\n"), 2);
        assert_eq!(max_depth("a: [1, {b: 2}]\n"), 3);
        assert_eq!(max_depth("- a: 1\n"), 2);
        assert_eq!(max_depth("a:\n- 1\n- 2\nb: 3\n"), 2);
        assert_eq!(max_depth("- - - x\n"), 3);
        assert_eq!(max_depth("x\n"), 0);
        assert_eq!(max_depth("---\na: 1\n---\n- [x]\n"), 2);
    }

    #[test]
    fn scalars_hide_brackets() {
        assert_eq!(max_depth("a: '[[[['\nb: \"{{\\\"[[\"\n"), 1);
        assert_eq!(max_depth("a: x[[[[\n  [[[ continued\n"), 1);
        assert_eq!(max_depth("a: |\n  [[[[\n  {{{{\nb: 1\n"), 1);
        assert_eq!(max_depth("a: >-\n\n    [[[\n   \nb: 1 # [[[[\n"), 1);
        assert_eq!(max_depth("# [[[[\na: 1\n"), 1);
        assert_eq!(max_depth("a: 'it''s [\n  still ['\nb: [1]\n"), 2);
    }

    /// Text that would make a scanner think a quote is open where libyaml reads plain text (or
    /// the reverse) must not hide the flow collections after it.
    #[test]
    fn quotes_are_where_libyaml_sees_them() {
        fn tree_depth(n: &crate::yaml::Node) -> usize {
            use crate::yaml::Node;
            match n {
                Node::Seq(items) => 1 + items.iter().map(tree_depth).max().unwrap_or(0),
                Node::Map(m) => 1 + m.iter().map(|(_, v)| tree_depth(v)).max().unwrap_or(0),
                _ => 0,
            }
        }
        for text in [
            // A plain scalar continued on a line that starts with a quote.
            "a: foo\n  'bar\nb: [[[[1]]]]\n",
            "a:\n  foo\n  \"bar\nb: [[[[1]]]]\n",
            // A quoted scalar over several lines, holding a bracket and a quote.
            "a: 'x\n  [ '\nb: [[[[1]]]]\n",
            // Apostrophes inside plain scalars, in block and flow context.
            "a: it's\nb: [x'y, [[[1]]]]\n",
            // A `#` inside a quoted scalar is not a comment.
            "a: ' #'\nb: [[[[1]]]]\n",
        ] {
            let parsed = crate::yaml::parse_one(text).expect(text);
            assert_eq!(tree_depth(&parsed), 5, "{text}");
            assert_eq!(max_depth(text), 5, "{text}");
        }
    }

    /// Any text: no panic, and an offset (when over the limit) on a character boundary.
    #[test]
    fn arbitrary_text_is_scanned_safely() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 2000,
            ..Default::default()
        });
        let strat = prop_oneof![
            any::<String>(),
            "([-?:,\\[\\]{}#&*!|>'\"%@` \t\r\n\u{85}\u{2028}\u{2029}\u{feff}ab.0-9+é]){0,80}",
        ];
        runner
            .run(&strat, |text| {
                if let Err(at) = check(&text, 3) {
                    prop_assert!(text.is_char_boundary(at), "{at} in {text:?}");
                }
                // The opener count is a sound shortcut: it never clears deeper text.
                if openers_at_most(&text, 3) {
                    prop_assert!(max_depth(&text) <= 3, "{text:?}");
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn the_level_over_the_limit_is_located() {
        assert_eq!(check("a: [[[1]]]\n", 3), Err(5));
        assert_eq!(check("a: [[[1]]]\n", 4), Ok(()));
        assert_eq!(check("a:\n  b:\n    c: 1\n", 2), Err(12));
        let deep = format!("a: {}1{}\n", "{a: ".repeat(100_000), "}".repeat(100_000));
        assert_eq!(check(&deep, 64), Err(3 + 63 * 4));
    }
}
