//! Text from outside (certificate names, mail headers and addresses) made safe to show:
//! a crafted name must not be able to move the cursor, clear the screen or reorder the
//! line it is printed on.

use std::fmt;

/// `text` for display, with every character a terminal would obey rather than show
/// written as `\u{…}`: C0 and C1 controls, DEL, the bidi marks, embeddings, overrides and
/// isolates (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), and the line and
/// paragraph separators (U+2028, U+2029).
///
/// Backslashes are left as they are, so text escaped twice (an error message quoting
/// another) reads the same as text escaped once.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

/// Whether a terminal would act on `c` instead of showing it.
fn steers_a_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(steers_a_terminal) {
            let c = rest[at..].chars().next().expect("found at a char boundary");
            write!(f, "{}\\u{{{:x}}}", &rest[..at], u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// The addresses, or names, in `items` joined by `separator`, each escaped.
pub fn join(items: &[String], separator: &str) -> String {
    items
        .iter()
        .map(|item| Escaped(item).to_string())
        .collect::<Vec<_>>()
        .join(separator)
}

/// As [`join`], or `none` when there are no items.
pub fn join_or(items: &[String], separator: &str, none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        join(items, separator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped_and_the_rest_kept() {
        let shown = Escaped("Eve\x1b[2J\r\n\t\x7f\u{9b}\u{202e}\u{2066}é\\ok").to_string();
        assert_eq!(
            shown,
            "Eve\\u{1b}[2J\\u{d}\\u{a}\\u{9}\\u{7f}\\u{9b}\\u{202e}\\u{2066}é\\ok"
        );
        assert_eq!(Escaped(&shown).to_string(), shown);
        assert_eq!(
            Escaped("CN=Alice, O=Example").to_string(),
            "CN=Alice, O=Example"
        );
    }
}
