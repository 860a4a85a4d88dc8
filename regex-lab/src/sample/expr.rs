//! A tiny, safe evaluator for the Python expressions in `constraint` and `test.condition`.
//!
//! fail2ban `eval`s these with the test's locals in scope; the stock samples only ever use
//! `name` (the filter under test) and `opts` (the variant's options). We accept exactly the
//! subset needed for that and refuse anything else with a message listing what is supported,
//! so a sample file can never run code.
//!
//! Grammar (Python precedence: `or` < `and` < `not` < comparison):
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | cmp
//! cmp     := operand (("==" | "!=" | "in" | "not" "in") operand)?
//! operand := STRING | "None" | "True" | "False" | "name" | "opts"
//!          | "opts" "." "get" "(" STRING ("," operand)? ")" | "opts" "[" STRING "]"
//!          | "(" expr ")" | "(" ")" | "(" expr "," (expr ("," expr)*)? ","? ")"
//!          | "[" (expr ("," expr)* ","?)? "]"
//! ```

use super::Options;
use serde_json::Value;

/// A parsed expression, evaluated once per filter variant.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    source: String,
    node: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Lit(Val),
    Name,
    Opts,
    OptsGet(String, Option<Box<Node>>),
    OptsIndex(String),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cmp(Box<Node>, CmpOp, Box<Node>),
    /// A tuple or list literal (for `x in ('a', 'b')`).
    Seq(Vec<Node>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    In,
    NotIn,
}

/// A Python value as far as these expressions need one.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    None,
    Bool(bool),
    Str(String),
    Json(Value),
    Dict,
    Seq(Vec<Val>),
}

impl Val {
    fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::None,
            Value::Bool(b) => Val::Bool(*b),
            Value::String(s) => Val::Str(s.clone()),
            other => Val::Json(other.clone()),
        }
    }

    /// Python truthiness.
    fn truthy(&self) -> bool {
        match self {
            Val::None => false,
            Val::Bool(b) => *b,
            Val::Str(s) => !s.is_empty(),
            Val::Json(Value::Number(n)) => n.as_f64() != Some(0.0),
            Val::Json(Value::Array(a)) => !a.is_empty(),
            Val::Json(Value::Object(o)) => !o.is_empty(),
            Val::Json(_) => true,
            Val::Dict => true,
            Val::Seq(v) => !v.is_empty(),
        }
    }
}

/// Why an expression was refused or could not be evaluated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message} in {text:?} (supported: string literals, tuples and lists of them, name, opts.get('k'), opts['k'], 'k' in opts, ==, !=, in, not in, not, and, or, parentheses)")]
pub struct ExprError {
    pub text: String,
    pub message: String,
}

impl Expr {
    /// Parses `text`, refusing anything outside the supported subset.
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let err = |message: String| ExprError { text: text.to_string(), message };
        let toks = lex(text).map_err(err)?;
        let mut p = Parser { toks: &toks, pos: 0 };
        let node = p.or().map_err(err)?;
        if p.pos != toks.len() {
            return Err(err(format!("unexpected {}", toks[p.pos].describe())));
        }
        Ok(Expr { source: text.to_string(), node })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `bool(eval(expr))` with `name` and `opts` bound.
    pub fn eval(&self, name: &str, opts: &Options) -> Result<bool, ExprError> {
        eval(&self.node, name, opts)
            .map(|v| v.truthy())
            .map_err(|message| ExprError { text: self.source.clone(), message })
    }
}

fn eval(node: &Node, name: &str, opts: &Options) -> Result<Val, String> {
    Ok(match node {
        Node::Lit(v) => v.clone(),
        Node::Name => Val::Str(name.to_string()),
        Node::Opts => Val::Dict,
        Node::OptsGet(key, default) => match opts.get(key) {
            Some(v) => Val::from_json(v),
            None => match default {
                Some(d) => eval(d, name, opts)?,
                None => Val::None,
            },
        },
        Node::OptsIndex(key) => match opts.get(key) {
            Some(v) => Val::from_json(v),
            None => return Err(format!("KeyError: opts[{key:?}] is not set")),
        },
        Node::Seq(items) => {
            Val::Seq(items.iter().map(|n| eval(n, name, opts)).collect::<Result<_, _>>()?)
        }
        Node::Not(n) => Val::Bool(!eval(n, name, opts)?.truthy()),
        // Python's `and`/`or` return an operand, not a bool.
        Node::And(a, b) => {
            let a = eval(a, name, opts)?;
            if a.truthy() {
                eval(b, name, opts)?
            } else {
                a
            }
        }
        Node::Or(a, b) => {
            let a = eval(a, name, opts)?;
            if a.truthy() {
                a
            } else {
                eval(b, name, opts)?
            }
        }
        Node::Cmp(a, op, b) => {
            let (a, b) = (eval(a, name, opts)?, eval(b, name, opts)?);
            let contains = |a: &Val, b: &Val| -> Result<bool, String> {
                match (a, b) {
                    (Val::Str(k), Val::Dict) => Ok(opts.get(k).is_some()),
                    (Val::Str(needle), Val::Str(hay)) => Ok(hay.contains(needle.as_str())),
                    (x, Val::Seq(items)) => Ok(items.contains(x)),
                    _ => Err("`in` needs opts, a string, a tuple or a list on the right".into()),
                }
            };
            Val::Bool(match op {
                CmpOp::Eq => a == b,
                CmpOp::Ne => a != b,
                CmpOp::In => contains(&a, &b)?,
                CmpOp::NotIn => !contains(&a, &b)?,
            })
        }
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Str(String),
    Ident(String),
    Op(&'static str),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Op(s) => format!("`{s}`"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '\'' | '"' => {
                it.next();
                let mut s = String::new();
                loop {
                    match it.next() {
                        None => return Err(format!("unterminated string starting at offset {i}")),
                        Some((_, q)) if q == c => break,
                        Some((_, '\\')) => match it.next() {
                            Some((_, 'n')) => s.push('\n'),
                            Some((_, 't')) => s.push('\t'),
                            Some((_, e @ ('\\' | '\'' | '"'))) => s.push(e),
                            Some((_, e)) => {
                                s.push('\\');
                                s.push(e);
                            }
                            None => return Err("unterminated string".into()),
                        },
                        Some((_, ch)) => s.push(ch),
                    }
                }
                toks.push(Tok::Str(s));
            }
            '=' | '!' => {
                it.next();
                match it.next() {
                    Some((_, '=')) => toks.push(Tok::Op(if c == '=' { "==" } else { "!=" })),
                    _ => return Err(format!("`{c}` at offset {i} is not `==` or `!=`")),
                }
            }
            '(' | ')' | '[' | ']' | '.' | ',' => {
                it.next();
                toks.push(Tok::Op(match c {
                    '(' => "(",
                    ')' => ")",
                    '[' => "[",
                    ']' => "]",
                    '.' => ".",
                    _ => ",",
                }));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut s = String::new();
                while let Some(&(_, ch)) = it.peek() {
                    if ch.is_alphanumeric() || ch == '_' {
                        s.push(ch);
                        it.next();
                    } else {
                        break;
                    }
                }
                toks.push(Tok::Ident(s));
            }
            other => return Err(format!("unsupported character {other:?} at offset {i}")),
        }
    }
    Ok(toks)
}

struct Parser<'t> {
    toks: &'t [Tok],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w == word)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected `{op}`, found {}", self.found()))
        }
    }

    fn found(&self) -> String {
        self.peek().map_or("end of expression".into(), Tok::describe)
    }

    fn or(&mut self) -> Result<Node, String> {
        let mut left = self.and()?;
        while self.is_ident("or") {
            self.pos += 1;
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, String> {
        let mut left = self.not()?;
        while self.is_ident("and") {
            self.pos += 1;
            left = Node::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Node, String> {
        if self.is_ident("not") {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Node, String> {
        let left = self.operand()?;
        let op = if self.is_op("==") {
            CmpOp::Eq
        } else if self.is_op("!=") {
            CmpOp::Ne
        } else if self.is_ident("in") {
            CmpOp::In
        } else if self.is_ident("not")
            && matches!(self.toks.get(self.pos + 1), Some(Tok::Ident(w)) if w == "in")
        {
            self.pos += 1;
            CmpOp::NotIn
        } else {
            return Ok(left);
        };
        self.pos += 1;
        let right = self.operand()?;
        if self.is_op("==") || self.is_op("!=") || self.is_ident("in") {
            return Err("chained comparisons are not supported".into());
        }
        Ok(Node::Cmp(Box::new(left), op, Box::new(right)))
    }

    /// The rest of a tuple/list literal after `items`, up to `close`.
    fn seq(&mut self, mut items: Vec<Node>, close: &str) -> Result<Node, String> {
        loop {
            if self.is_op(close) {
                self.pos += 1;
                return Ok(Node::Seq(items));
            }
            if !items.is_empty() {
                self.expect_op(",")?;
                if self.is_op(close) {
                    continue;
                }
            }
            items.push(self.or()?);
        }
    }

    fn string(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(format!("expected a string literal, found {}", self.found())),
        }
    }

    fn operand(&mut self) -> Result<Node, String> {
        let tok = self.peek().cloned().ok_or("unexpected end of expression")?;
        self.pos += 1;
        match tok {
            Tok::Str(s) => Ok(Node::Lit(Val::Str(s))),
            Tok::Op("(") => {
                if self.is_op(")") {
                    self.pos += 1;
                    return Ok(Node::Seq(vec![]));
                }
                let first = self.or()?;
                if !self.is_op(",") {
                    self.expect_op(")")?;
                    return Ok(first);
                }
                self.seq(vec![first], ")")
            }
            Tok::Op("[") => self.seq(vec![], "]"),
            Tok::Ident(w) => match w.as_str() {
                "None" => Ok(Node::Lit(Val::None)),
                "True" => Ok(Node::Lit(Val::Bool(true))),
                "False" => Ok(Node::Lit(Val::Bool(false))),
                "name" => Ok(Node::Name),
                "opts" if self.is_op(".") => {
                    self.pos += 1;
                    if !self.is_ident("get") {
                        return Err(format!(
                            "only opts.get(...) is supported, found {}",
                            self.found()
                        ));
                    }
                    self.pos += 1;
                    self.expect_op("(")?;
                    let key = self.string()?;
                    let default = if self.is_op(",") {
                        self.pos += 1;
                        Some(Box::new(self.operand()?))
                    } else {
                        None
                    };
                    self.expect_op(")")?;
                    Ok(Node::OptsGet(key, default))
                }
                "opts" if self.is_op("[") => {
                    self.pos += 1;
                    let key = self.string()?;
                    self.expect_op("]")?;
                    Ok(Node::OptsIndex(key))
                }
                "opts" => Ok(Node::Opts),
                other => Err(format!("unsupported name `{other}`")),
            },
            other => Err(format!("unexpected {}", other.describe())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        Options::from_pairs(
            pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))),
        )
    }

    #[test]
    fn stock_expressions() {
        let aggressive = opts(&[("mode", "aggressive")]);
        let none = opts(&[]);
        let cases: &[(&str, &str, &Options, bool)] = &[
            ("name == 'sshd'", "sshd", &none, true),
            ("name == 'sshd'", "zzz-sshd-obsolete-multiline", &none, false),
            ("name=='sshd'", "sshd", &none, true),
            ("opts.get('mode') != 'aggressive'", "sshd", &none, true),
            ("opts.get('mode') != 'aggressive'", "sshd", &aggressive, false),
            ("opts.get('mode') == 'aggressive'", "sshd", &aggressive, true),
            ("opts.get('mode') == 'aggressive'", "sshd", &none, false),
        ];
        for (src, name, o, want) in cases {
            let e = Expr::parse(src).unwrap();
            assert_eq!(e.eval(name, o).unwrap(), *want, "{src} with name={name} opts={o:?}");
        }
    }

    #[test]
    fn operators_and_precedence() {
        let o = opts(&[("mode", "ddos"), ("logtype", "journal")]);
        let cases: &[(&str, bool)] = &[
            ("not name == 'x'", true),
            ("name == 'x' or opts['mode'] == 'ddos'", true),
            ("name == 'sshd' and opts['mode'] == 'normal'", false),
            ("not (name == 'sshd' and 'mode' in opts)", false),
            ("'mode' in opts and 'x' not in opts", true),
            ("opts.get('missing') == None", true),
            ("opts.get('missing', 'normal') == \"normal\"", true),
            ("opts.get('logtype')", true),
            ("opts.get('missing')", false),
            ("'sh' in name", true),
            ("True and not False", true),
            ("name == 'a' or name == 'b' or name == 'sshd'", true),
            ("opts.get('mode') not in ('ddos', 'aggressive')", false),
            ("opts.get('mode') in ('ddos', 'aggressive')", true),
            ("opts.get('mode') in ['normal']", false),
            ("opts.get('x') in ('a', None,)", true),
            ("name in ('sshd',)", true),
            ("name in ()", false),
            ("(name)", true),
        ];
        for (src, want) in cases {
            assert_eq!(Expr::parse(src).unwrap().eval("sshd", &o).unwrap(), *want, "{src}");
        }
    }

    #[test]
    fn refuses_anything_else() {
        for src in [
            "__import__('os').system('id')",
            "name.upper() == 'SSHD'",
            "1 == 1",
            "name == 'a' == 'a'",
            "name +'x'",
            "lambda: 1",
            "opts.keys()",
            "'unterminated",
            "",
            "(name == 'x'",
            "name = 'x'",
            "name in ('a' 'b')",
            "name in ('a', 'b'",
        ] {
            let err = Expr::parse(src).expect_err(src);
            assert!(err.to_string().contains("supported"), "{src}: {err}");
        }
    }

    #[test]
    fn missing_key_is_an_error() {
        let e = Expr::parse("opts['mode'] == 'x'").unwrap();
        assert!(e.eval("sshd", &opts(&[])).unwrap_err().message.contains("KeyError"));
    }
}
