//! SQLFlow's extended statements, following its grammar (`extended_syntax_parser.y`):
//!
//! ```text
//! <select> TO TRAIN <model> [WITH attrs] [COLUMN cols [FOR name]]... [LABEL col] [USING <model>] INTO <model_table>
//! <select> TO PREDICT <table>[.<column>] [WITH attrs] USING <model_table>
//! <select> TO EVALUATE <model_table> [WITH attrs] LABEL <col> INTO <table>
//! <select> TO EXPLAIN <model_table> [WITH attrs] [USING <explainer>] [INTO <table>]
//! <select> TO RUN <program> [CMD "arg", ...] [INTO <table>, ...]
//! <select> TO MAXIMIZE|MINIMIZE <objective> [CONSTRAINT <expr> [GROUP BY <col>], ...]
//!          WITH attrs [USING <solver>] INTO <table>
//! SHOW TRAIN <model_table>
//! ```
//!
//! The `<select>` part is found with the dialect-aware lexer (so a `TO TRAIN` inside a
//! string or comment is not one) and passed to the database as written. The extension
//! has its own small lexer: SQLFlow identifiers may hold dots, slashes, colons and
//! dashes (`model.hidden_units`, `iris.predict.class`, `registry/team/img:v1`).
//!
//! Attribute values nest (`[[1, 2], [3]]`, `- -1`) at most [`MAX_NESTING`] levels deep,
//! and so do the objective and constraint expressions of `TO MAXIMIZE` (parentheses,
//! calls, lists, `NOT`, `-`); deeper input is a syntax error, so hostile text cannot
//! overflow the stack.
//!
//! Column and label names may be keywords (`LABEL label`, `COLUMN for, x`): a keyword is
//! read as a name when what follows it can follow a name there. `` `name` `` and
//! `"name"` are names whatever they hold.

//!
//! The module's files: `ast` (what a statement parses into), `lexer` (the extension's
//! own tokens), `parser` (the grammar), `feature_column` (`COLUMN`'s expressions).

use crate::{
    Dialect,
    lexer::{Token, TokenKind, tokenize},
};

mod ast;
/// A child module, so it reads with this module's lexer.
pub mod feature_column;
mod lexer;
mod parser;

pub use ast::{
    BinOp, ColumnClause, Constraint, Direction, Evaluate, Explain, Expr, ExtKind, Extended,
    Formula, Optimize, ParseError, Parsed, Predict, Run, Train,
};
pub use feature_column::FeatureColumn;
use lexer::ExtParser;
use parser::parse_extension;

/// How deeply an attribute value may nest: each `[` list and each unary `-` opens one
/// level, so `[[1]]` and `- -1` are two deep. Parsing a value recurses once per level,
/// and the bound keeps that well inside a 2 MiB thread stack (what the server's worker
/// threads get) whatever the input; real values nest two or three levels. Deeper input
/// is a [`ParseError`] saying it is "nested too deeply", at the first level too many.
pub const MAX_NESTING: usize = 64;

const EXTENSIONS: [&str; 7] = [
    "TRAIN", "PREDICT", "EVALUATE", "EXPLAIN", "RUN", "MAXIMIZE", "MINIMIZE",
];

/// Classifies one statement (as the splitter produced it) and parses an extension.
pub fn parse_statement(text: &str, dialect: Dialect) -> Result<Parsed, ParseError> {
    let tokens: Vec<Token> = tokenize(text, dialect)
        .into_iter()
        .filter(|t| !t.is_trivia())
        .collect();
    let Some(first) = tokens.first() else {
        return Ok(Parsed::Standard);
    };
    let train_after_show = tokens
        .get(1)
        .filter(|t| first.is_keyword(text, "SHOW") && t.is_keyword(text, "TRAIN"));
    if let Some(train) = train_after_show {
        let mut p = ExtParser::new(text, train.end);
        let model = p.ident("a model name after SHOW TRAIN")?;
        p.end()?;
        return Ok(Parsed::Extended(Extended {
            select: String::new(),
            kind: ExtKind::ShowTrain { model },
        }));
    }
    // SQLFlow's extensions follow a query; `ALTER TABLE a RENAME TO train` is not one.
    let query_like = first.kind == TokenKind::LParen
        || first.is_keyword(text, "SELECT")
        || first.is_keyword(text, "WITH");
    if !query_like {
        return Ok(Parsed::Standard);
    }
    // isize cannot overflow: there are fewer tokens than bytes.
    let mut depth = 0isize;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth -= 1,
            _ => {}
        }
        if i == 0 || depth != 0 || !t.is_keyword(text, "TO") {
            continue;
        }
        let verb = tokens
            .get(i + 1)
            .filter(|n| EXTENSIONS.iter().any(|k| n.is_keyword(text, k)));
        if let Some(verb) = verb {
            let select = text[..t.start].trim_end().to_string();
            let kind = parse_extension(text, verb.start)?;
            return Ok(Parsed::Extended(Extended { select, kind }));
        }
    }
    Ok(Parsed::Standard)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hostile;

#[cfg(test)]
mod fuzz;
