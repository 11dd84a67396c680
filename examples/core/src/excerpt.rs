//! How much of a request an answer repeats, and how: short and escaped.

/// How much of a piece of the request (a path, a method, an id, a header) an answer repeats.
pub const ECHO_CHARS: usize = 64;

/// How much of a message that quotes the request (serde's description of bad JSON) an answer repeats.
pub const MESSAGE_CHARS: usize = 200;

/// At most `max_chars` of `text`, with `…` when cut, everything but printable ASCII escaped (`\n`, `\u{1b}`):
/// what an answer may repeat of the request, so that its size never grows with what a client sends and no
/// control character reaches a terminal or a log.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut excerpt = String::new();
    let mut chars = text.chars();
    for c in chars.by_ref().take(max_chars) {
        if (c.is_ascii_graphic() && c != '\\') || c == ' ' {
            excerpt.push(c);
        } else {
            excerpt.extend(c.escape_default());
        }
    }
    if chars.next().is_some() {
        excerpt.push('…');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("/accounts/10001", ECHO_CHARS), "/accounts/10001");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("a\nb\u{1b}[31mc\\", 64), "a\\nb\\u{1b}[31mc\\\\");
        assert_eq!(excerpt("é", 64), "\\u{e9}");
        let long = "x".repeat(60 * 1024);
        assert_eq!(excerpt(&long, ECHO_CHARS).chars().count(), ECHO_CHARS + 1);
    }
}
