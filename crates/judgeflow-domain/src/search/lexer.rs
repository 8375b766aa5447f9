//! Tokenizer for MLflow's filter and order-by strings. Every token remembers the byte offset
//! where it starts so that errors can point at it.

use super::SearchError;

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A bare word: `metrics.loss`, `AND`, `status`, `attributes.run_id`.
    Word(String),
    /// A backquoted identifier part: `` `mlflow.user` ``.
    Backquoted(String),
    /// A double-quoted string: an identifier part or a value, depending on where it stands.
    DoubleQuoted(String),
    /// A single-quoted string value.
    SingleQuoted(String),
    Number(f64),
    /// A run of comparison characters such as `=`, `!=` or the invalid `>>`.
    Operator(String),
    LeftParen,
    RightParen,
    Comma,
    Dot,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text<'a>(&self, input: &'a str) -> &'a str {
        &input[self.start..self.end]
    }
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '/')
}

pub fn tokenize(input: &str) -> Result<Vec<Token>, SearchError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let kind = match c {
            '(' => {
                chars.next();
                TokenKind::LeftParen
            }
            ')' => {
                chars.next();
                TokenKind::RightParen
            }
            ',' => {
                chars.next();
                TokenKind::Comma
            }
            '.' if !chars
                .clone()
                .nth(1)
                .is_some_and(|(_, d)| d.is_ascii_digit()) =>
            {
                chars.next();
                TokenKind::Dot
            }
            '=' | '!' | '<' | '>' | '~' => {
                let mut op = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if matches!(d, '=' | '!' | '<' | '>' | '~') {
                        op.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                TokenKind::Operator(op)
            }
            '\'' | '"' | '`' => {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == c {
                        // SQL style: a doubled quote inside a literal is one quote character.
                        if chars.peek().is_some_and(|&(_, e)| e == c) {
                            chars.next();
                            text.push(c);
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    if d == '\\' && c != '`' {
                        if let Some((_, escaped)) = chars.next() {
                            text.push(escaped);
                        }
                        continue;
                    }
                    text.push(d);
                }
                if !closed {
                    return Err(SearchError::new(
                        input,
                        start,
                        format!("Unterminated quoted string starting with {c}"),
                    ));
                }
                match c {
                    '\'' => TokenKind::SingleQuoted(text),
                    '"' => TokenKind::DoubleQuoted(text),
                    _ => TokenKind::Backquoted(text),
                }
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut end = start;
                let mut previous = ' ';
                while let Some(&(i, d)) = chars.peek() {
                    let sign_ok =
                        (d == '-' || d == '+') && (i == start || matches!(previous, 'e' | 'E'));
                    if d.is_ascii_alphanumeric() || d == '.' || sign_ok {
                        previous = d;
                        end = i + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let text = &input[start..end];
                let value = text.parse::<f64>().map_err(|_| {
                    SearchError::new(input, start, format!("Invalid number '{text}'"))
                })?;
                TokenKind::Number(value)
            }
            c if is_word_start(c) => {
                let mut end = start;
                while let Some(&(i, d)) = chars.peek() {
                    if is_word_char(d) {
                        end = i + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                TokenKind::Word(input[start..end].to_owned())
            }
            other => {
                return Err(SearchError::new(
                    input,
                    start,
                    format!("Unexpected character '{other}'"),
                ));
            }
        };
        let end = chars.peek().map_or(input.len(), |&(i, _)| i);
        tokens.push(Token { kind, start, end });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let toks = tokenize("metrics.loss >= -1.5e3 and tags.`a.b` != 'x''y'").unwrap();
        let kinds: Vec<_> = toks.into_iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            vec![
                TokenKind::Word("metrics".into()),
                TokenKind::Dot,
                TokenKind::Word("loss".into()),
                TokenKind::Operator(">=".into()),
                TokenKind::Number(-1500.0),
                TokenKind::Word("and".into()),
                TokenKind::Word("tags".into()),
                TokenKind::Dot,
                TokenKind::Backquoted("a.b".into()),
                TokenKind::Operator("!=".into()),
                TokenKind::SingleQuoted("x'y".into()),
            ]
        );
    }

    #[test]
    fn unterminated_string_points_at_it() {
        let err = tokenize("params.a = 'abc").unwrap_err();
        assert_eq!(err.position, 11);
    }
}
