//! Character classes of Python's `str` methods, which the reference implementations use.

/// Python's `str.isspace()`: Unicode `White_Space` plus the four ASCII information
/// separators U+001C..U+001F, which `str.split()` also splits on and Rust's
/// `char::is_whitespace` does not.
pub(crate) fn is_py_whitespace(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// Python's `str.split()` with no argument: runs of whitespace separate, and no empty pieces.
pub(crate) fn py_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_py_whitespace)
        .filter(|piece| !piece.is_empty())
}

/// The pieces of `py_split`, on bytes: the hot tokenizers call this on buffers they built,
/// without decoding characters. Python's non-ASCII whitespace is U+0085, U+00A0, U+1680,
/// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F and U+3000, recognised by their UTF-8
/// bytes (a lead byte never equals a continuation byte, so no false match mid-character).
pub(crate) fn py_split_bytes<'a>(bytes: &'a [u8], mut piece: impl FnMut(&'a [u8])) {
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        // Printable ASCII is never whitespace: the common case, decided by one compare.
        if (b'!'..0x80).contains(&byte) {
            i += 1;
            continue;
        }
        let width = py_whitespace_width(&bytes[i..]);
        if width == 0 {
            i += 1;
            continue;
        }
        if start < i {
            piece(&bytes[start..i]);
        }
        i += width;
        start = i;
    }
    if start < bytes.len() {
        piece(&bytes[start..]);
    }
}

/// The UTF-8 length of the Python whitespace character at the start of `bytes`, or 0 if it
/// does not start with one.
#[inline]
pub(crate) fn py_whitespace_width(bytes: &[u8]) -> usize {
    match bytes {
        [9..=13 | 0x1c..=0x20, ..] => 1,
        [0xc2, 0x85 | 0xa0, ..] => 2,
        [0xe1, 0x9a, 0x80, ..]
        | [0xe2, 0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf, ..]
        | [0xe2, 0x81, 0x9f, ..]
        | [0xe3, 0x80, 0x80, ..] => 3,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_split_equals_char_split() {
        let mut text = String::from("a");
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            if is_py_whitespace(c) {
                text.push(c);
                text.push_str("x\u{85}\u{100}\u{2000}y");
            }
        }
        text.push_str("\u{3000}\u{3001}end ");
        let mut pieces = Vec::new();
        py_split_bytes(text.as_bytes(), |p| {
            pieces.push(std::str::from_utf8(p).unwrap());
        });
        assert_eq!(pieces, py_split(&text).collect::<Vec<_>>());
        // Characters that share lead bytes with whitespace stay inside their piece.
        let mut pieces = Vec::new();
        py_split_bytes("\u{80}\u{1681}\u{200b}\u{3001}".as_bytes(), |p| {
            pieces.push(p.len());
        });
        assert_eq!(pieces, [11]);
    }

    #[test]
    fn whitespace_matches_python_isspace() {
        // The list printed by `[c for c in range(0x110000) if chr(c).isspace()]` on CPython 3.11.
        let python: Vec<u32> = [0x9..=0xd, 0x1c..=0x20, 0x85..=0x85, 0xa0..=0xa0]
            .into_iter()
            .chain([0x1680..=0x1680, 0x2000..=0x200a, 0x2028..=0x2029])
            .chain([0x202f..=0x202f, 0x205f..=0x205f, 0x3000..=0x3000])
            .flatten()
            .collect();
        let ours: Vec<u32> = (0..=0x10_ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_py_whitespace(c))
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
    }

    #[test]
    fn split_drops_empty_pieces() {
        let pieces: Vec<&str> = py_split("  a\u{1f}b \u{3000} c\n").collect();
        assert_eq!(pieces, ["a", "b", "c"]);
        assert_eq!(py_split(" \t ").count(), 0);
    }
}
