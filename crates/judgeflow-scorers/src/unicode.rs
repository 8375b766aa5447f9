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

#[cfg(test)]
mod tests {
    use super::*;

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
